import Foundation

/// One CONNECT over a plain socket and its CONNACK's return code (0 = accepted), then the socket is
/// closed: checks thousands of credentials against the broker quickly.
public enum RawMQTTConnect {
    public static func returnCode(port: Int, clientID: String, username: String, password: String) throws -> UInt8 {
        let packet = MQTTConnectPacket.bytes(clientID: clientID, username: username, password: password)
        let fd = try connectLoopback(port: port)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard write(fd, packet, packet.count) == packet.count else { throw TestSupportError("cannot write to the broker on \(port)") }
        var answer = [UInt8](repeating: 0, count: 4)
        var got = 0
        while got < 4 {
            let count = answer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, 4 - got) }
            guard count > 0 else { throw TestSupportError("no CONNACK for \(username) (\(got) bytes)") }
            got += count
        }
        guard answer[0] == 0x20, answer[1] == 0x02 else { throw TestSupportError("not a CONNACK: \(answer)") }
        return answer[3]
    }
}
