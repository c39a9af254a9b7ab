import DeviceIdentity
import Foundation
import FoundationNetworking
import Postgres
import StorageCore
import TestSupport

/// A device's MQTT 3.1.1 connection on a plain socket (CONNECT, CONNACK), held open without a client
/// library, so thousands can be connected at once; the broker closing it is what a revocation looks like.
final class RawConnection {
    let fd: Int32
    private(set) var isClosed = false

    private init(fd: Int32) { self.fd = fd }

    /// Connected and accepted, nil when the broker refused (any CONNACK code but 0).
    static func open(port: Int, username: String, password: String) throws -> RawConnection? {
        // Client id = user name: one session per device; keep-alive 600 s.
        let packet = MQTTConnectPacket.bytes(clientID: username, username: username, password: password, keepAliveSeconds: 600)
        guard let fd = try? connectLoopback(port: port) else { throw BenchError("cannot reach the broker on \(port)") }
        let connection = RawConnection(fd: fd)
        guard write(fd, packet, packet.count) == packet.count else {
            connection.close()
            throw BenchError("cannot reach the broker on \(port)")
        }
        var answer = [UInt8](repeating: 0, count: 4)
        var got = 0
        while got < 4 {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 5000) > 0 else { break }
            let count = answer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, 4 - got) }
            guard count > 0 else { break }
            got += count
        }
        guard got == 4, answer[0] == 0x20, answer[3] == 0 else {
            connection.close()
            return nil
        }
        return connection
    }

    /// Waits until the broker closes the connection (read returns 0); false at the deadline.
    func waitUntilClosed(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 64)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 50) > 0 {
                if read(fd, &buffer, buffer.count) <= 0 { isClosed = true; return true }
            }
        }
        return false
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
    }
}
