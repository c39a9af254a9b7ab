import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The status of a GET (never from a cache), with `Authorization: Bearer <token>` when a token is given; nil
/// when nothing answers within a second (blocking; two seconds at most).
public func httpStatus(_ url: String, token: String? = nil) -> Int? {
    guard let url = URL(string: url) else { return nil }
    var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: 1)
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var status: Int?
    URLSession.shared.dataTask(with: request) { _, response, _ in
        status = (response as? HTTPURLResponse)?.statusCode
        done.signal()
    }.resume()
    _ = done.wait(timeout: .now() + 2)
    return status
}
