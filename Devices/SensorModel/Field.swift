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
