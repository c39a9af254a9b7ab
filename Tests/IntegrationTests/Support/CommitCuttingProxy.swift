import Foundation
import Synchronization

/// A TCP proxy in front of PostgreSQL that loses one connection around a COMMIT, the way a failover or a
/// network cut does: the client's next simple query with a `COMMIT` statement either never reaches the server
/// (`.beforeServer`: the transaction is rolled back) or reaches it and the answer never comes back
/// (`.afterServer`: it commits, and the client can't know). Only the first such COMMIT after `arm` is cut;
/// every other byte goes through unchanged, in both directions.
final class CommitCuttingProxy: Sendable {
    enum Cut: Sendable {
        case beforeServer, afterServer
    }

    let port: Int
    private let listener: Int32
    private let target: UInt16
    private let armed = Mutex<Cut?>(nil)
    private let cutCount = Mutex(0)

    /// COMMITs cut so far.
    var cuts: Int { cutCount.withLock { $0 } }

    /// - Parameter databaseURL: a `postgresql://user@127.0.0.1:port/name` URL; `url(for:)` gives the same
    ///   through the proxy.
    init(databaseURL: String) throws {
        guard let port = URLComponents(string: databaseURL)?.port else { throw TestSetupError(message: "no port in \(databaseURL)") }
        target = UInt16(port)
        (listener, self.port) = try LoopbackSockets.listen(for: "the proxy")
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                Thread.detachNewThread { [self] in relay(client) }
            }
        }
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    func url(for databaseURL: String) -> String {
        var components = URLComponents(string: databaseURL)!
        components.port = port
        return components.string!
    }

    /// Cuts the next COMMIT.
    func arm(_ cut: Cut) { armed.withLock { $0 = cut } }

    private func relay(_ client: Int32) {
        guard let server = LoopbackSockets.connect(port: Int(target)) else {
            close(client)
            return
        }
        // Server to client: a thread of its own; it stops forwarding once this connection's COMMIT was cut.
        let answersCut = Mutex(false)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(server, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { break }
                if answersCut.withLock({ $0 }) { continue }  // the server answered; the client never hears it
                guard Self.sendAll(client, Array(buffer[0..<count])) else { break }
            }
            shutdown(client, Int32(SHUT_RDWR))
            done.signal()
        }
        // Client to server, message by message: untyped startup packets first, then typed messages.
        var pending: [UInt8] = []
        var started = false
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        reading: while true {
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            pending += buffer[0..<count]
            while let (message, isStartup) = Self.nextMessage(&pending, started: started) {
                if isStartup {
                    // SSLRequest and GSSENCRequest are followed by another startup packet; the StartupMessage is the last.
                    let code = message.count >= 8 ? UInt32(message[4]) << 24 | UInt32(message[5]) << 16 | UInt32(message[6]) << 8 | UInt32(message[7]) : 0
                    if code != 80_877_103 && code != 80_877_104 { started = true }
                } else if message[0] == UInt8(ascii: "Q"), Self.commits(message),
                          let cut = armed.withLock({ armed -> Cut? in defer { armed = nil }; return armed }) {
                    cutCount.withLock { $0 += 1 }
                    switch cut {
                    case .beforeServer:
                        shutdown(server, Int32(SHUT_RDWR))
                    case .afterServer:
                        answersCut.withLock { $0 = true }
                        _ = Self.sendAll(server, message)
                        // The server runs the whole query string (no client check while it runs); its answer is dropped.
                        shutdown(server, Int32(SHUT_WR))
                    }
                    shutdown(client, Int32(SHUT_RDWR))
                    break reading
                }
                guard Self.sendAll(server, message) else { break reading }
            }
        }
        shutdown(server, Int32(SHUT_WR))
        done.wait()
        close(client)
        close(server)
    }

    /// Whether a simple query holds a COMMIT statement (not, say, a temporary table's `ON COMMIT DELETE ROWS`).
    private static func commits(_ query: [UInt8]) -> Bool {
        String(decoding: query.dropFirst(5).prefix { $0 != 0 }, as: UTF8.self).split(separator: ";")
            .contains { $0.trimmingCharacters(in: .whitespacesAndNewlines).uppercased() == "COMMIT" }
    }

    /// The next whole message at the front of `bytes`, removed from it; nil until one has fully arrived.
    private static func nextMessage(_ bytes: inout [UInt8], started: Bool) -> (message: [UInt8], isStartup: Bool)? {
        let header = started ? 1 : 0
        guard bytes.count >= header + 4 else { return nil }
        let length = Int(UInt32(bytes[header]) << 24 | UInt32(bytes[header + 1]) << 16 | UInt32(bytes[header + 2]) << 8 | UInt32(bytes[header + 3]))
        guard bytes.count >= header + length else { return nil }
        let message = Array(bytes[0..<(header + length)])
        bytes.removeFirst(header + length)
        return (message, !started)
    }

    private static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return false }
            sent += count
        }
        return true
    }
}
