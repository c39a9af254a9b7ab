/// A sensor type from the catalog: what its devices measure, in which units, within which range.
public struct SensorType: Sendable, Hashable, Codable {
    public var name: String
    public var fields: [Field]
    /// The payload format used when a topic names none.
    public var format: PayloadFormat
    public var retention: Retention
    /// Topics other than `telemetry/<sensor>/...` this sensor type also takes (firmware's own topics).
    public var sources: [Source]
    /// How often a device of this type is expected to send: it is `silent` after this times the
    /// `device_silent_factor` setting without a reading (docs/devices.md#device-status).
    public var expectedInterval: Duration

    public static let defaultExpectedInterval: Duration = .seconds(60)

    public init(
        name: String, fields: [Field], format: PayloadFormat = .tm, retention: Retention = .init(), sources: [Source] = [],
        expectedInterval: Duration = defaultExpectedInterval
    ) {
        self.name = name
        self.fields = fields
        self.format = format
        self.retention = retention
        self.sources = sources
        self.expectedInterval = expectedInterval
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        fields = try container.decode([Field].self, forKey: .fields)
        format = try container.decodeIfPresent(PayloadFormat.self, forKey: .format) ?? .tm
        retention = try container.decodeIfPresent(Retention.self, forKey: .retention) ?? .init()
        sources = try container.decodeIfPresent([Source].self, forKey: .sources) ?? []
        expectedInterval = try container.decodeIfPresent(Duration.self, forKey: .expectedInterval) ?? Self.defaultExpectedInterval
    }

    public func fieldIndex(named name: String) -> Int? {
        fields.firstIndex { $0.name == name }
    }

    /// The field a `text` number is for: the one named (a source's `field`), else the only field; nil
    /// when the sensor type has several and none is named.
    public func textField(named name: String?) -> Int? {
        guard let name else { return fields.count == 1 ? 0 : nil }
        return fieldIndex(named: name)
    }

    /// Topic filters an ingest service subscribes to.
    public var topicFilters: [String] { ["telemetry/\(name)/+", "telemetry/\(name)/+/+"] }
}

