import Foundation

/// A blocking loopback socket speaking just enough HTTP/1.1 for the benchmark: keep-alive GETs with a
/// Content-Length body, and Server-Sent Events read line by line.
final class Connection: @unchecked Sendable {  // one thread at a time
    let fd: Int32
    private var pending: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { close(fd); throw Failure("connect to port \(port): errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            guard sent > 0 else { throw Failure("send: errno \(errno)") }
            offset += sent
        }
    }

    static func request(_ path: String, token: String) -> String {
        "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n"
    }

    /// One line without its CRLF/LF.
    func line() throws -> String {
        while true {
            if let end = pending.firstIndex(of: 10) {
                var line = Array(pending[..<end])
                pending.removeFirst(end + 1)
                if line.last == 13 { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            try receive()
        }
    }

    /// Status and body of a keep-alive GET.
    func get(_ path: String, token: String) throws -> (status: Int, body: String) {
        try send(Self.request(path, token: token))
        let (status, headers) = try head()
        guard let length = headers["content-length"].flatMap({ Int($0) }) else { throw Failure("no content-length for \(path)") }
        while pending.count < length { try receive() }
        let body = String(decoding: pending[..<length], as: UTF8.self)
        pending.removeFirst(length)
        return (status, body)
    }

    /// The status line and headers (lowercased names).
    func head() throws -> (Int, [String: String]) {
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

    private func receive() throws {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw Failure("connection closed") }
        pending.append(contentsOf: chunk[..<count])
    }
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
