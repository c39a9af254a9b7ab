import Foundation

/// One HTTP/1.1 request and its answer on a blocking socket of its own, with one deadline for the whole
/// exchange (connect, send, every byte of the answer). Not URLSession: on Linux its shared session now and
/// then held a loopback answer far past the request's timeout while the parallel tests loaded the machine,
/// and every other test's request with it (a CI run at 7364f63: a 30 s GET unanswered for 150 s).
public struct HTTPExchange {
    public let host: String
    public let port: Int
    private let deadline: Date
    private let fd: Int32
    private var pending: [UInt8] = []

    /// Connected to `host` (a name or an address) and `port` before `deadline` (`.distantFuture`: a
    /// connection that waits as long as it takes, for keep-alive clients and streams).
    public init(host: String, port: Int, deadline: Date) throws {
        self.host = host
        self.port = port
        self.deadline = deadline
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let address = found else { throw TestSupportError("cannot resolve \(host)") }
        defer { freeaddrinfo(found) }
        fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket() failed: errno \(errno)") }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        if connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { try fail("connect to \(host):\(port): errno \(errno)") }
            try wait(for: Int16(POLLOUT), doing: "connect to \(host):\(port)")
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { try fail("connect to \(host):\(port): errno \(error)") }
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private func fail(_ message: String) throws -> Never {
        Glibc.close(fd)
        throw TestSupportError(message)
    }

    public func close() { Glibc.close(fd) }

    /// Sends `method path` with `headers` and `body`, and reads the whole answer.
    public mutating func exchange(_ method: String, _ path: String, headers: [(String, String)], body: [UInt8]?) throws -> (status: Int, body: [UInt8]) {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host.contains(":") ? "[\(host)]" : host):\(port)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if body != nil || ["POST", "PUT", "PATCH"].contains(method) { head += "Content-Length: \(body?.count ?? 0)\r\n" }
        try send(Array((head + "\r\n").utf8) + (body ?? []))
        return try answer(bodyless: method == "HEAD")
    }

    /// The status line and the header fields (names lowercased) of an answer.
    public mutating func head() throws -> (status: Int, fields: [String: String]) {
        let statusLine = try line()
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else { throw TestSupportError("not a status line: \(statusLine)") }
        var fields: [String: String] = [:]
        while true {
            let field = try line()
            if field.isEmpty { break }
            guard let colon = field.firstIndex(of: ":") else { continue }
            fields[field[..<colon].lowercased()] = field[field.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (status, fields)
    }

    private mutating func answer(bodyless: Bool) throws -> (status: Int, body: [UInt8]) {
        let (status, fields) = try head()
        if bodyless || status == 204 || status == 304 || (100..<200).contains(status) { return (status, []) }
        if fields["transfer-encoding"]?.lowercased().contains("chunked") == true {
            var body: [UInt8] = []
            while true {
                let sizeLine = try line()
                guard let size = Int(sizeLine.split(separator: ";").first.map(String.init) ?? "", radix: 16) else { throw TestSupportError("bad chunk size \(sizeLine)") }
                if size == 0 { break }
                body += try bytes(size)
                _ = try line()
            }
            while try !line().isEmpty {}
            return (status, body)
        }
        if let length = fields["content-length"].flatMap({ Int($0) }) { return (status, try bytes(length)) }
        while try receive() {}
        return (status, pending)
    }

    /// One line without its CRLF or LF (of an answer's head, or of an event stream).
    public mutating func line() throws -> String {
        var searched = 0
        while true {
            if let end = pending[searched...].firstIndex(of: 10) {
                var line = Array(pending[..<end])
                pending.removeFirst(end + 1)
                if line.last == 13 { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            searched = pending.count
            guard try receive() else { throw TestSupportError("the connection closed in the middle of a line") }
        }
    }

    private mutating func bytes(_ count: Int) throws -> [UInt8] {
        while pending.count < count {
            guard try receive() else { throw TestSupportError("the connection closed \(count - pending.count) bytes short") }
        }
        defer { pending.removeFirst(count) }
        return Array(pending[..<count])
    }

    /// Reads what has arrived; false at the end of the stream.
    private mutating func receive() throws -> Bool {
        try wait(for: Int16(POLLIN), doing: "read the answer")
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count < 0, errno == EAGAIN || errno == EINTR { return true }
        guard count >= 0 else { throw TestSupportError("recv: errno \(errno)") }
        pending += chunk[..<count]
        return count > 0
    }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            try wait(for: Int16(POLLOUT), doing: "send the request")
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0, errno == EAGAIN || errno == EINTR { continue }
            guard sent > 0 else { throw TestSupportError("send: errno \(errno)") }
            offset += sent
        }
    }

    private func wait(for events: Int16, doing what: String) throws {
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw TestSupportError("no time left to \(what)") }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&entry, 1, Int32(min(left * 1000, 60_000).rounded(.up)))
            if ready > 0 { return }
            if ready < 0, errno != EINTR { throw TestSupportError("poll: errno \(errno)") }
        }
    }
}

/// Connections a test asked to keep open (an idle keep-alive client), closed when the test process ends.
private final class KeptConnections: @unchecked Sendable {
    static let shared = KeptConnections()
    private let lock = NSLock()
    private var kept: [HTTPExchange] = []
    func keep(_ connection: HTTPExchange) { lock.withLock { kept.append(connection) } }
}

/// `method url` with `headers` and `body` on a connection of its own, the whole exchange within `timeout`
/// seconds (blocking); nil when it fails or nothing answers in time. `keepAlive` leaves the connection open
/// afterwards, idle, until the process ends.
public func httpExchange(
    _ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil, keepAlive: Bool = false, timeout: TimeInterval
) -> (status: Int, body: [UInt8])? {
    guard let parts = URLComponents(string: url), let host = parts.host, let port = parts.port else { return nil }
    let path = (parts.percentEncodedPath.isEmpty ? "/" : parts.percentEncodedPath) + (parts.percentEncodedQuery.map { "?" + $0 } ?? "")
    guard var connection = try? HTTPExchange(host: host, port: port, deadline: Date(timeIntervalSinceNow: timeout)) else { return nil }
    let reply = try? connection.exchange(method, path, headers: headers + (keepAlive ? [] : [("Connection", "close")]), body: body)
    if keepAlive, reply != nil { KeptConnections.shared.keep(connection) } else { connection.close() }
    return reply
}
