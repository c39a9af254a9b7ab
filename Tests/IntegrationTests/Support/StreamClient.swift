import Foundation
import TestSupport

/// A Server-Sent Events client on a plain socket: sends one GET and keeps the connection open, as a
/// browser's stream does, reading what arrives (URLSession would buffer the never-ending body).
final class StreamClient: @unchecked Sendable {
    private let fd: Int32
    private(set) var received = ""

    /// Connects and sends the request; throws when nothing accepts on `port`.
    init(port: Int, path: String, token: String? = nil) throws {
        let fd = try connectLoopback(port: port)
        self.fd = fd
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let authorization = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\(authorization)\r\n".utf8)
        guard write(fd, request, request.count) == request.count else { throw TestSetupError(message: "cannot send the request") }
    }

    /// Reads until what arrived contains `text` (true), the server closes the connection or the deadline passes (false).
    func read(until text: String, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !received.contains(text) && ContinuousClock.now < deadline {
            let count = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress!, 4096) }
            if count == 0 { return received.contains(text) }
            if count > 0 { received += String(decoding: buffer.prefix(count), as: UTF8.self) }
        }
        return received.contains(text)
    }

    deinit { close(fd) }
}
