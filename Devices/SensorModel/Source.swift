/// A topic pattern a sensor type also takes, with its format and where each field sits in the payload:
/// how devices with firmware of their own (Tasmota, Shelly, ESPHome) reach the platform unchanged.
public struct Source: Sendable, Hashable, Codable {
    /// MQTT topic levels with exactly one `{device}` level, e.g. `tele/{device}/SENSOR`.
    public var topic: String
    public var format: PayloadFormat
    /// `json`: key paths per field name, tried in order (the first the message carries wins); a field not
    /// listed here is found by its name and aliases. `text`: the one field the number is for.
    public var fields: [String: [String]]
    /// `json`: the key path of the reading's time, instead of a top-level `ts`/`time`/`timestamp`.
    public var time: String?
    /// `text`: the field the number is for (default: the sensor type's only field).
    public var field: String?
    /// For people: which firmware publishes there, and how (shown by `GET /v1/sensors`).
    public var description: String?
    /// A LoRaWAN network server's uplink JSON around the payload: `format` then reads the device's bytes,
    /// or with `json` the object the network server decoded (`fields` and `time` are paths inside it).
    public var envelope: Envelope?
    /// With an envelope: the id readings are stored under (default: the one the topic's `{device}` holds).
    public var device: EnvelopeDevice?
    /// With an envelope: fields filled from the uplink's metadata (`{"rssi": "rssi"}`).
    public var uplink: [String: UplinkMetadata]

    public init(
        topic: String, format: PayloadFormat, fields: [String: [String]] = [:], time: String? = nil, field: String? = nil,
        description: String? = nil, envelope: Envelope? = nil, device: EnvelopeDevice? = nil, uplink: [String: UplinkMetadata] = [:]
    ) {
        self.topic = topic
        self.format = format
        self.fields = fields
        self.time = time
        self.field = field
        self.description = description
        self.envelope = envelope
        self.device = device
        self.uplink = uplink
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        topic = try container.decode(String.self, forKey: .topic)
        format = try container.decode(PayloadFormat.self, forKey: .format)
        fields = try container.decodeIfPresent([String: [String]].self, forKey: .fields) ?? [:]
        time = try container.decodeIfPresent(String.self, forKey: .time)
        field = try container.decodeIfPresent(String.self, forKey: .field)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        envelope = try container.decodeIfPresent(Envelope.self, forKey: .envelope)
        device = try container.decodeIfPresent(EnvelopeDevice.self, forKey: .device)
        uplink = try container.decodeIfPresent([String: UplinkMetadata].self, forKey: .uplink) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(topic, forKey: .topic)
        try container.encode(format, forKey: .format)
        try container.encode(fields, forKey: .fields)
        try container.encodeIfPresent(time, forKey: .time)
        try container.encodeIfPresent(field, forKey: .field)
        try container.encodeIfPresent(description, forKey: .description)
        try container.encodeIfPresent(envelope, forKey: .envelope)
        try container.encodeIfPresent(device, forKey: .device)
        if !uplink.isEmpty { try container.encode(uplink, forKey: .uplink) }
    }

    enum CodingKeys: String, CodingKey {
        case topic, format, fields, time, field, description, envelope, device, uplink
    }

    /// With an envelope: the id readings are stored under.
    public var storedDevice: EnvelopeDevice? { device ?? envelope?.topicDevice }

    /// Nil for a Sparkplug B source, whose device comes from the edge node and device levels.
    public var pattern: TopicPattern? { format == .sparkplug ? nil : TopicPattern(topic) }

    /// Sparkplug B's topic namespace, the first level of its every topic.
    public static let sparkplugNamespace = "spBv1.0"

    /// `sparkplug`: the group's topic, `spBv1.0/<group>`; its edge nodes' messages are under it.
    public var sparkplugGroup: String? {
        guard format == .sparkplug else { return nil }
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        return levels.count == 2 && levels[0] == Self.sparkplugNamespace ? String(levels[1]) : nil
    }

    /// Whether some topic would reach both sources' subscriptions.
    public func overlaps(_ other: Source) -> Bool {
        filters.contains { mine in other.filters.contains { TopicFilters.overlap(mine, $0) } }
    }

    /// The MQTT subscriptions that bring this source's messages: its pattern's, or a Sparkplug group's
    /// node and device messages.
    public var filters: [String] {
        if format == .sparkplug { return ["\(topic)/+/+", "\(topic)/+/+/+"] }
        return pattern.map { [$0.filter] } ?? []
    }

    /// `json`: the key paths `field` is read at, in order: the source's own, else the field's name and aliases.
    public func keyPaths(for field: Field) -> [String] {
        fields[field.name] ?? field.keyPaths
    }
}

