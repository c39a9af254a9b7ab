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

public struct Field: Sendable, Hashable, Codable {
    public var name: String
    /// Canonical unit (SenML unit symbol where one exists, e.g. `Cel`, `%RH`, `hPa`).
    public var unit: String
    public var min: Double
    public var max: Double
    /// Which Cayenne LPP type (and optionally channel) carries this field.
    public var lpp: LPPBinding?
    /// Other JSON keys or key paths (`Temperature`, `AM2301.Temperature`) that carry this field in `json`.
    public var aliases: [String]
    /// In `json`, a number written as a JSON string (`"21.5"`) is taken only when this is set.
    public var strings: Bool

    public init(name: String, unit: String, min: Double, max: Double, lpp: LPPBinding? = nil, aliases: [String] = [], strings: Bool = false) {
        self.name = name
        self.unit = unit
        self.min = min
        self.max = max
        self.lpp = lpp
        self.aliases = aliases
        self.strings = strings
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        unit = try container.decode(String.self, forKey: .unit)
        min = try container.decode(Double.self, forKey: .min)
        max = try container.decode(Double.self, forKey: .max)
        lpp = try container.decodeIfPresent(LPPBinding.self, forKey: .lpp)
        aliases = try container.decodeIfPresent([String].self, forKey: .aliases) ?? []
        strings = try container.decodeIfPresent(Bool.self, forKey: .strings) ?? false
    }

    public func contains(_ value: Double) -> Bool { value >= min && value <= max }

    /// The `json` keys (or key paths) that carry this field on `telemetry/<sensor>/<device>/json`: its name, then its aliases.
    public var keyPaths: [String] { [name] + aliases }
}

public struct LPPBinding: Sendable, Hashable, Codable {
    /// LPP data type (IPSO object id − 3200), e.g. 103 for temperature.
    public var type: Int
    /// Only this channel carries the field; nil takes the type from any channel.
    public var channel: Int?
    /// For multi-value types (accelerometer x/y/z, GPS lat/lon/alt): which component, 0-based.
    public var component: Int?

    public init(type: Int, channel: Int? = nil, component: Int? = nil) {
        self.type = type
        self.channel = channel
        self.component = component
    }
}

public enum PayloadFormat: String, Sendable, Hashable, Codable, CaseIterable {
    case tm
    case lpp
    case senmlJSON = "senml-json"
    case senmlCBOR = "senml-cbor"
    /// Plain JSON as ThingsBoard documents it for device telemetry (flat object, ts + values, arrays).
    case json
    /// One number as text, at the receive time (ESPHome, Homie).
    case text
}

/// How long rows are kept. Nil keeps them for ever.
public struct Retention: Sendable, Hashable, Codable {
    public var raw: Duration?
    public var rollup1m: Duration?
    public var rollup1h: Duration?

    public init(raw: Duration? = nil, rollup1m: Duration? = nil, rollup1h: Duration? = nil) {
        self.raw = raw
        self.rollup1m = rollup1m
        self.rollup1h = rollup1h
    }
}
