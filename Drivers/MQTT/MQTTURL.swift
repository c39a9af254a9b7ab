/// `mqtt://[user:pass@]host[:port]` or `mqtts://...` (TLS, port 8883 unless given), as TELEMETRY_MQTT_URL
/// takes it.
public struct MQTTURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int32
    public var username: String?
    public var password: String?
    /// TLS (`mqtts://`): the broker's certificate is verified against `caFile` (nil: the system's CAs).
    public var tls: Bool
    public var caFile: String?
    /// A client certificate and its key, for a broker that takes certificates as identity (mutual TLS).
    public var certificateFile: String?
    public var keyFile: String?

    public init(host: String, port: Int32 = 1883, username: String? = nil, password: String? = nil, tls: Bool = false, caFile: String? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.tls = tls
        self.caFile = caFile
    }

    public init(parsing text: String) throws(MQTTError) {
        tls = text.hasPrefix("mqtts://")
        guard tls || text.hasPrefix("mqtt://") else {
            throw MQTTError(code: -1, message: "MQTT URL must look like mqtt://[user:pass@]host:port (or mqtts:// for TLS), got '\(text)'")
        }
        var rest = Substring(text.dropFirst(tls ? "mqtts://".count : "mqtt://".count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                username = try Self.unescaped(credentials[..<colon], what: "user name")
                password = try Self.unescaped(credentials[credentials.index(after: colon)...], what: "password")
            } else {
                username = try Self.unescaped(credentials, what: "user name")
            }
        }
        if let colon = rest.lastIndex(of: ":") {
            guard let parsed = Int32(rest[rest.index(after: colon)...]), (1...65535).contains(parsed) else {
                throw MQTTError(code: -1, message: "MQTT URL has a bad port in '\(text)'")
            }
            port = parsed
            host = String(rest[..<colon])
        } else {
            port = tls ? 8883 : 1883
            host = String(rest)
        }
        guard !host.isEmpty, !host.contains("/") else {
            throw MQTTError(code: -1, message: "MQTT URL has no host in '\(text)'")
        }
    }

    /// Percent escapes decoded (`%40` is `@`); a `%` not followed by two hex digits is an error, never
    /// passed on or half-decoded. The message names the part, not its secret content.
    static func unescaped(_ part: Substring, what: String) throws(MQTTError) -> String {
        var bytes: [UInt8] = []
        var iterator = part.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else {
                throw MQTTError(code: -1, message: "MQTT URL has a bad percent escape in its \(what): % must be followed by two hex digits (write %25 for %)")
            }
            bytes.append(high << 4 | low)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw MQTTError(code: -1, message: "MQTT URL has a bad percent escape in its \(what): the bytes it gives are not UTF-8")
        }
        return text
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    public var description: String {
        "\(tls ? "mqtts" : "mqtt")://\(username.map { "\($0):***@" } ?? "")\(host):\(port)"
    }
}

