import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import StorageCore
import TestSupport
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

/// One request with `method` and a JSON body (if any) and the bearer `token` (if any) to a loopback `url`, on
/// a connection of its own (not URLSession: on Linux it now and then left a POST unanswered under load);
/// nil when nothing answers within `timeout` seconds.
func httpSend(_ method: String, _ url: String, token: String?, json: Any? = nil, timeout: TimeInterval = 10) async -> HTTPReply? {
    guard let parts = URLComponents(string: url), let port = parts.port else { return nil }
    let path = parts.percentEncodedPath + (parts.percentEncodedQuery.map { "?" + $0 } ?? "")
    let body = json.flatMap { try? JSONSerialization.data(withJSONObject: $0) }.map { [UInt8]($0) }
    return try? await Blocking.run {
        let connection = try LoopbackHTTPConnection(port: port)
        var limit = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(connection.fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        let (status, reply) = try connection.send(method, path, token: token, json: body)
        return HTTPReply(status: status, body: Data(reply))
    }
}

/// GET an aggregates `url` with `fn=count`: the counts of every point of every series, summed.
func aggregatedCount(_ url: String, token: String? = nil) async throws -> Int {
    let aggregates = try await httpJSON(url, token: token)
    let points = (aggregates["series"] as? [[String: Any]])?.flatMap { ($0["points"] as? [[String: Any]]) ?? [] } ?? []
    return points.compactMap { $0["count"] as? Int }.reduce(0, +)
}
