/// A sensor type from the catalog: what its devices measure, in which units, within which range.
public struct SensorType: Sendable, Hashable, Codable {
    public var name: String
    public var fields: [Field]
    /// The payload format used when a topic names none.
    public var format: PayloadFormat
    public var retention: Retention

    public init(name: String, fields: [Field], format: PayloadFormat = .tm, retention: Retention = .init()) {
        self.name = name
        self.fields = fields
        self.format = format
        self.retention = retention
    }

    public func fieldIndex(named name: String) -> Int? {
        fields.firstIndex { $0.name == name }
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

    public init(name: String, unit: String, min: Double, max: Double, lpp: LPPBinding? = nil) {
        self.name = name
        self.unit = unit
        self.min = min
        self.max = max
        self.lpp = lpp
    }

    public func contains(_ value: Double) -> Bool { value >= min && value <= max }
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
