/// `mqtt://[user:pass@]host[:port]`, as TELEMETRY_MQTT_URL takes it.
public struct MQTTURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int32
    public var username: String?
    public var password: String?

    public init(host: String, port: Int32 = 1883, username: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
    }

    public init(parsing text: String) throws(MQTTError) {
        guard text.hasPrefix("mqtt://") else {
            throw MQTTError(code: -1, message: "MQTT URL must look like mqtt://[user:pass@]host:port, got '\(text)'")
        }
        var rest = Substring(text.dropFirst("mqtt://".count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                username = String(credentials[..<colon]).removingPercentEscapes
                password = String(credentials[credentials.index(after: colon)...]).removingPercentEscapes
            } else {
                username = String(credentials).removingPercentEscapes
            }
        }
        if let colon = rest.lastIndex(of: ":") {
            guard let parsed = Int32(rest[rest.index(after: colon)...]), (1...65535).contains(parsed) else {
                throw MQTTError(code: -1, message: "MQTT URL has a bad port in '\(text)'")
            }
            port = parsed
            host = String(rest[..<colon])
        } else {
            port = 1883
            host = String(rest)
        }
        guard !host.isEmpty, !host.contains("/") else {
            throw MQTTError(code: -1, message: "MQTT URL has no host in '\(text)'")
        }
    }

    public var description: String {
        "mqtt://\(username.map { "\($0):***@" } ?? "")\(host):\(port)"
    }
}

extension String {
    var removingPercentEscapes: String {
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
               let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

public struct MQTTError: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
