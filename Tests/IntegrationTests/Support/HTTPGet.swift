import Foundation
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

/// `method url` (see `httpExchange`) on a thread of its own; nil when nothing answers within `timeout` seconds.
func httpRequest(
    _ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil, keepAlive: Bool = false, timeout: TimeInterval
) async -> HTTPReply? {
    let reply = try? await Blocking.run("http \(method)") {
        httpExchange(method, url, headers: headers, body: body, keepAlive: keepAlive, timeout: timeout)
    }
    return reply.flatMap { $0 }.map { HTTPReply(status: $0.status, body: Data($0.body)) }
}

/// One GET of `url`, on a connection of its own that stays open afterwards if `keepAlive`; nil when nothing
/// answers within `timeout` seconds.
func httpGet(_ url: String, authorization: String? = nil, accept: String? = nil, keepAlive: Bool = false, timeout: TimeInterval = 5) async -> HTTPReply? {
    let headers = [authorization.map { ("Authorization", $0) }, accept.map { ("Accept", $0) }].compactMap { $0 }
    return await httpRequest("GET", url, headers: headers, keepAlive: keepAlive, timeout: timeout)
}

/// GET `url` with the bearer `token` (if any): the JSON object of a 200; the test fails on no answer or
/// another status.
func httpJSON(_ url: String, token: String?) async throws -> [String: Any] {
    let reply = try #require(await httpGet(url, authorization: token.map { "Bearer \($0)" }), "no answer to \(url)")
    try #require(reply.status == 200, "\(url): \(reply.status) \(reply.text.prefix(500))")
    return try JSONSerialization.jsonObject(with: reply.body) as? [String: Any] ?? [:]
}

/// One request with `method` and a JSON body (if any) and the bearer `token` (if any), on a connection of
/// its own; nil when nothing answers within `timeout` seconds.
func httpSend(_ method: String, _ url: String, token: String?, json: Any? = nil, timeout: TimeInterval = 10) async -> HTTPReply? {
    let body = json.flatMap { try? JSONSerialization.data(withJSONObject: $0) }.map { [UInt8]($0) }
    let headers = [token.map { ("Authorization", "Bearer \($0)") }, body.map { _ in ("Content-Type", "application/json") }].compactMap { $0 }
    return await httpRequest(method, url, headers: headers, body: body, timeout: timeout)
}

/// GET an aggregates `url` with `fn=count`: the counts of every point of every series, summed.
func aggregatedCount(_ url: String, token: String? = nil) async throws -> Int {
    let aggregates = try await httpJSON(url, token: token)
    let points = (aggregates["series"] as? [[String: Any]])?.flatMap { ($0["points"] as? [[String: Any]]) ?? [] } ?? []
    return points.compactMap { $0["count"] as? Int }.reduce(0, +)
}
