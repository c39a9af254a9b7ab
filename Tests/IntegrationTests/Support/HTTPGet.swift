import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// What a GET answered: its status and body.
struct HTTPReply: Sendable {
    let status: Int
    let body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    /// `error.code` of an error response.
    var errorCode: String? {
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
        return (object?["error"] as? [String: Any])?["code"] as? String
    }
}

/// One GET of `url`, never from a cache, on a connection of its own unless `keepAlive`; nil when nothing
/// answers within `timeout` seconds.
func httpGet(_ url: String, authorization: String? = nil, accept: String? = nil, keepAlive: Bool = false, timeout: TimeInterval = 5) async -> HTTPReply? {
    guard let url = URL(string: url) else { return nil }
    var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
    if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
    if let accept { request.setValue(accept, forHTTPHeaderField: "Accept") }
    if !keepAlive { request.setValue("close", forHTTPHeaderField: "Connection") }
    guard let (data, response) = try? await URLSession.shared.data(for: request), let http = response as? HTTPURLResponse else { return nil }
    return HTTPReply(status: http.statusCode, body: data)
}

/// GET `url` with the bearer `token` (if any): the JSON object of a 200; the test fails on no answer or
/// another status.
func httpJSON(_ url: String, token: String?) async throws -> [String: Any] {
    let reply = try #require(await httpGet(url, authorization: token.map { "Bearer \($0)" }), "no answer to \(url)")
    try #require(reply.status == 200, "\(url): \(reply.status) \(reply.text.prefix(500))")
    return try JSONSerialization.jsonObject(with: reply.body) as? [String: Any] ?? [:]
}

/// One request with `method` and a JSON body (if any) and the bearer `token` (if any); nil when nothing answers.
func httpSend(_ method: String, _ url: String, token: String?, json: Any? = nil, timeout: TimeInterval = 10) async -> HTTPReply? {
    guard let url = URL(string: url) else { return nil }
    var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
    request.httpMethod = method
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    if let json {
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try? JSONSerialization.data(withJSONObject: json)
    }
    request.setValue("close", forHTTPHeaderField: "Connection")
    guard let (data, response) = try? await URLSession.shared.data(for: request), let http = response as? HTTPURLResponse else { return nil }
    return HTTPReply(status: http.statusCode, body: data)
}
