import Foundation

/// One MQTT 3.1.1 CONNECT over a plain socket and its CONNACK's return code (0 = accepted), then the
/// socket is closed: checks thousands of credentials against the broker without a client library's threads.
enum RawMQTTConnect {
    static func returnCode(port: Int, clientID: String, username: String, password: String) throws -> UInt8 {
        var payload: [UInt8] = []
        for text in [clientID, username, password] {
            let bytes = Array(text.utf8)
            payload += [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
        }
        // Protocol "MQTT", level 4, flags: user name, password, clean session; keep-alive 60 s.
        let variable: [UInt8] = [0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0xC2, 0x00, 0x3C]
        var remaining = variable.count + payload.count
        var packet: [UInt8] = [0x10]
        repeat {
            var byte = UInt8(remaining % 128)
            remaining /= 128
            if remaining > 0 { byte |= 0x80 }
            packet.append(byte)
        } while remaining > 0
        packet += variable + payload

        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSetupError(message: "socket() failed") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected, write(fd, packet, packet.count) == packet.count else { throw TestSetupError(message: "cannot reach the broker on \(port)") }
        var answer = [UInt8](repeating: 0, count: 4)
        var got = 0
        while got < 4 {
            let count = answer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, 4 - got) }
            guard count > 0 else { throw TestSetupError(message: "no CONNACK for \(username) (\(got) bytes)") }
            got += count
        }
        guard answer[0] == 0x20, answer[1] == 0x02 else { throw TestSetupError(message: "not a CONNACK: \(answer)") }
        return answer[3]
    }
}
