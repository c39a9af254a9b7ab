/// An MQTT 3.1.1 CONNECT with user name, password and a clean session, built by hand: tests and
/// benchmarks hold thousands of connections on plain sockets without a client library's threads.
public enum MQTTConnectPacket {
    public static func bytes(clientID: String, username: String, password: String, keepAliveSeconds: UInt16 = 60) -> [UInt8] {
        var payload: [UInt8] = []
        for text in [clientID, username, password] {
            let bytes = Array(text.utf8)
            payload += [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
        }
        // Protocol "MQTT", level 4, flags: user name, password, clean session.
        let variable: [UInt8] = [0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0xC2, UInt8(keepAliveSeconds >> 8), UInt8(keepAliveSeconds & 0xFF)]
        var remaining = variable.count + payload.count
        var packet: [UInt8] = [0x10]
        repeat {
            var byte = UInt8(remaining % 128)
            remaining /= 128
            if remaining > 0 { byte |= 0x80 }
            packet.append(byte)
        } while remaining > 0
        return packet + variable + payload
    }
}
