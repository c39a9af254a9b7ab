import Foundation

/// A blocking keep-alive HTTP/1.1 connection to 127.0.0.1, just enough for tests and benchmarks: GETs
/// with a Content-Length body, and Server-Sent Events read line by line, without a client library's
/// own overhead in the figures. One thread at a time.
public final class LoopbackHTTPConnection: @unchecked Sendable {
    public let fd: Int32
    private var pending: [UInt8] = []

    public init(port: Int) throws { fd = try connectLoopback(port: port) }

    deinit { close(fd) }

    public static func request(_ path: String, token: String?) -> String {
        "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (token.map { "Authorization: Bearer \($0)\r\n" } ?? "") + "\r\n"
    }

    public func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            guard sent > 0 else { throw TestSupportError("send failed: errno \(errno)") }
            offset += sent
        }
    }

    /// Status and body of `GET path`.
    public func get(_ path: String, token: String? = nil) throws -> (status: Int, body: [UInt8]) {
        try send(Self.request(path, token: token))
        return try response(to: path, bodyless: false)
    }

    /// Status and body of a request with `method` and, if any, a JSON body.
    public func send(_ method: String, _ path: String, token: String?, json body: [UInt8]?) throws -> (status: Int, body: [UInt8]) {
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (token.map { "Authorization: Bearer \($0)\r\n" } ?? "")
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" } else { request += "Content-Length: 0\r\n" }
        try send(request + "\r\n")
        if let body { try send(String(decoding: body, as: UTF8.self)) }
        return try response(to: path, bodyless: method == "HEAD")
    }

    private func response(to path: String, bodyless: Bool) throws -> (status: Int, body: [UInt8]) {
        let (status, headers) = try head()
        if bodyless || status == 204 || status == 304 { return (status, []) }
        guard let length = headers["content-length"].flatMap({ Int($0) }) else { throw TestSupportError("no content-length for \(path)") }
        while pending.count < length { try receive() }
        let body = Array(pending[..<length])
        pending.removeFirst(length)
        return (status, body)
    }

    /// Status and body of `GET path`, the body as text.
    public func getText(_ path: String, token: String? = nil) throws -> (status: Int, body: String) {
        let (status, body) = try get(path, token: token)
        return (status, String(decoding: body, as: UTF8.self))
    }

    /// The status line and headers (lowercased names).
    public func head() throws -> (status: Int, headers: [String: String]) {
        let status = Int(try line().split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        while true {
            let header = try line()
            if header.isEmpty { break }
            guard let colon = header.firstIndex(of: ":") else { continue }
            headers[header[..<colon].lowercased()] = header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (status, headers)
    }

    /// One line without its CRLF or LF.
    public func line() throws -> String {
        var searched = 0
        while true {
            if let end = pending[searched...].firstIndex(of: 10) {
                var line = Array(pending[..<end])
                pending.removeFirst(end + 1)
                if line.last == 13 { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            searched = pending.count
            try receive()
        }
    }

    private func receive() throws {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw TestSupportError("connection closed (recv \(count), errno \(errno))") }
        pending.append(contentsOf: chunk[..<count])
    }
}
