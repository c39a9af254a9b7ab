/// `telemetry/{sensor}/{device}` or `telemetry/{sensor}/{device}/{format}`, parsed strictly.
public struct Topic: Sendable, Hashable {
    public var sensor: String
    public var device: String
    public var format: PayloadFormat?

    public init(sensor: String, device: String, format: PayloadFormat? = nil) {
        self.sensor = sensor
        self.device = device
        self.format = format
    }

    public var name: String {
        if let format { return "telemetry/\(sensor)/\(device)/\(format.rawValue)" }
        return "telemetry/\(sensor)/\(device)"
    }

    public static func parse(_ topic: String) -> Result<Topic, TopicError> {
        let parts = topic.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3 || parts.count == 4 else {
            return .failure(TopicError(reason: "topic must be telemetry/{sensor}/{device}[/{format}], got \(parts.count) levels"))
        }
        guard parts[0] == "telemetry" else {
            return .failure(TopicError(reason: "topic must start with telemetry/"))
        }
        let device = String(parts[2])
        guard isValidDevice(device) else {
            return .failure(TopicError(reason: "device id must be \(deviceRule)"))
        }
        var format: PayloadFormat?
        if parts.count == 4 {
            guard let parsed = PayloadFormat(rawValue: String(parts[3])), PayloadFormat.onTelemetryTopics.contains(parsed) else {
                return .failure(TopicError(reason: "unknown format '\(parts[3].prefix(32))' (\(PayloadFormat.onTelemetryTopics.map(\.rawValue).joined(separator: ", ")); sparkplug arrives on spBv1.0/ topics)"))
            }
            format = parsed
        }
        return .success(Topic(sensor: String(parts[1]), device: device, format: format))
    }

    /// Whether a device id is taken by the platform's own broker accounts and client ids (`ingest-…`,
    /// broker-sync's probe `broker-sync-probe…`: a device's client id is its id, and mosquitto's client ids
    /// are one namespace across listeners), or is `telemetry` (a source pattern that starts with `{device}`
    /// would then let it write `telemetry/…`); in any case. No credential is issued for one, and no network
    /// server's uplink names one.
    public static func isReservedDevice(_ device: String) -> Bool {
        let id = device.lowercased()
        return id.hasPrefix("ingest-") || id.hasPrefix("broker-sync-probe") || id == "telemetry"
    }

    /// What `isValidDevice` takes, for messages.
    public static let deviceRule = "1-64 characters of A-Z a-z 0-9 . _ -, not . or .."

    /// `.` and `..` are refused: a URL cannot name them (clients and proxies resolve them away), so such a
    /// device could publish but never be read, rotated or revoked over the API.
    public static func isValidDevice(_ device: String) -> Bool {
        let bytes = device.utf8
        guard (1...64).contains(bytes.count), device != ".", device != ".." else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }
}

