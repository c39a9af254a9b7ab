/// A sensor type from the catalog: what its devices measure, in which units, within which range.
public struct SensorType: Sendable, Hashable, Codable {
    public var name: String
    public var fields: [Field]
    /// The payload format used when a topic names none.
    public var format: PayloadFormat
    public var retention: Retention
    /// Topics other than `telemetry/<sensor>/...` this sensor type also takes (firmware's own topics).
    public var sources: [Source]

    public init(name: String, fields: [Field], format: PayloadFormat = .tm, retention: Retention = .init(), sources: [Source] = []) {
        self.name = name
        self.fields = fields
        self.format = format
        self.retention = retention
        self.sources = sources
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        fields = try container.decode([Field].self, forKey: .fields)
        format = try container.decodeIfPresent(PayloadFormat.self, forKey: .format) ?? .tm
        retention = try container.decodeIfPresent(Retention.self, forKey: .retention) ?? .init()
        sources = try container.decodeIfPresent([Source].self, forKey: .sources) ?? []
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

