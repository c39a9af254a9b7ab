import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The status of a GET, nil when nothing answers within a second (blocking; two seconds at most).
public func httpStatus(_ url: String) -> Int? {
    guard let url = URL(string: url) else { return nil }
    var request = URLRequest(url: url)
    request.timeoutInterval = 1
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var status: Int?
    URLSession.shared.dataTask(with: request) { _, response, _ in
        status = (response as? HTTPURLResponse)?.statusCode
        done.signal()
    }.resume()
    _ = done.wait(timeout: .now() + 2)
    return status
}
