import SensorModel
import WireFormats

public struct EmulatorOptions: Sendable {
    public var sensors: [SensorType]
    /// Format per sensor type name; missing means the sensor type's default.
    public var formats: [String: PayloadFormat] = [:]
    /// Devices take the formats in turn (every format but `text`) instead of one per sensor type.
    public var mixedFormats = false
    /// Devices per sensor type (with a profile: devices in all, each feeding every one of `sensors`).
    public var devices: Int = 10
    /// Imitate this firmware (its topic and payload) instead of publishing to `telemetry/...`.
    public var profile: DeviceProfile?
    /// With a profile: the catalog's topic pattern for it (`DeviceProfile.source(of:)`).
    public var profileTopic: String = ""
    /// Readings (samples) per message.
    public var samples: Int = 1
    /// Messages per second over the whole fleet.
    public var rate: Double = 10
    public var qos: Int32 = 1
    /// Stop after this many messages in all (nil: by duration).
    public var count: Int?
    public var duration: Duration = .seconds(10)
    /// MQTT connections shared by the devices; 0 gives every device its own.
    public var connections: Int = 1
    public var devicePrefix: String = "emu"
    /// Time between two samples of a device, in microseconds.
    public var sampleSpacing: Int64 = 1_000_000
    public var seed: UInt64 = 1
    /// Share of messages sent deliberately malformed (counted apart), 0...1.
    public var malformedShare: Double = 0
    public var maxInflight: Int = 1000
    /// Device id → password: each device connects as itself (its own connection, username = its id), as
    /// the broker's ACLs require. Empty: the URL's user, and `connections` shared connections.
    public var credentials: [String: String] = [:]

    public init(sensors: [SensorType]) { self.sensors = sensors }
}
