import Foundation

/// A blocking keep-alive HTTP/1.1 connection to 127.0.0.1, just enough for tests and benchmarks: requests
/// on one connection, and Server-Sent Events read line by line, without a client library's own overhead in
/// the figures. One thread at a time; no deadline.
public final class LoopbackHTTPConnection: @unchecked Sendable {
    private var connection: HTTPExchange

    public init(port: Int) throws { connection = try HTTPExchange(host: "127.0.0.1", port: port, deadline: .distantFuture) }

    deinit { connection.close() }

    public static func request(_ path: String, token: String?) -> String {
        "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (token.map { "Authorization: Bearer \($0)\r\n" } ?? "") + "\r\n"
    }

    public func send(_ text: String) throws { try connection.send(Array(text.utf8)) }

    /// Status and body of `GET path`.
    public func get(_ path: String, token: String? = nil) throws -> (status: Int, body: [UInt8]) {
        try connection.exchange("GET", path, headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [], body: nil)
    }

    /// Status and body of `GET path`, the body as text.
    public func getText(_ path: String, token: String? = nil) throws -> (status: Int, body: String) {
        let (status, body) = try get(path, token: token)
        return (status, String(decoding: body, as: UTF8.self))
    }

    /// The status line and headers (lowercased names).
    public func head() throws -> (status: Int, headers: [String: String]) {
        let (status, fields) = try connection.head()
        return (status, fields)
    }

    /// One line without its CRLF or LF.
    public func line() throws -> String { try connection.line() }
}
