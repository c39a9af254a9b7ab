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

    public init(
        topic: String, format: PayloadFormat, fields: [String: [String]] = [:], time: String? = nil, field: String? = nil,
        description: String? = nil
    ) {
        self.topic = topic
        self.format = format
        self.fields = fields
        self.time = time
        self.field = field
        self.description = description
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        topic = try container.decode(String.self, forKey: .topic)
        format = try container.decode(PayloadFormat.self, forKey: .format)
        fields = try container.decodeIfPresent([String: [String]].self, forKey: .fields) ?? [:]
        time = try container.decodeIfPresent(String.self, forKey: .time)
        field = try container.decodeIfPresent(String.self, forKey: .field)
        description = try container.decodeIfPresent(String.self, forKey: .description)
    }

    public var pattern: TopicPattern? { TopicPattern(topic) }

    /// `json`: the key paths `field` is read at, in order: the source's own, else the field's name and aliases.
    public func keyPaths(for field: Field) -> [String] {
        fields[field.name] ?? field.keyPaths
    }
}

/// A source topic parsed into levels; `{device}` is the one wildcard, and it must fill a whole level.
public struct TopicPattern: Sendable, Hashable {
    public static let deviceLevel = "{device}"
    public let levels: [String]
    public let deviceIndex: Int

    /// Nil when the text is not a pattern; `problem(_:)` says why.
    public init?(_ text: String) {
        guard Self.problem(text) == nil else { return nil }
        levels = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        deviceIndex = levels.firstIndex(of: Self.deviceLevel)!
    }

    public static func problem(_ text: String) -> String? {
        let levels = text.split(separator: "/", omittingEmptySubsequences: false)
        guard !text.isEmpty, text.utf8.count <= 256 else { return "a topic pattern is 1-256 bytes" }
        let devices = levels.filter { $0 == Self.deviceLevel }.count
        guard devices == 1 else {
            return devices == 0 ? "the pattern has no {device} level: the device id must come from the topic"
                : "the pattern has {device} more than once"
        }
        for level in levels where level != Self.deviceLevel {
            guard !level.isEmpty else { return "the pattern has an empty level" }
            if level.contains(where: { "+#{}".contains($0) }) || level.hasPrefix("$") {
                return "level '\(level)' may not hold + # { } or start with $ (only {device} is a wildcard)"
            }
        }
        if levels.first == "telemetry" {
            return "topics under telemetry/ are telemetry/<sensor>/<device>[/<format>]; choose the format there instead"
        }
        return nil
    }

    /// The MQTT subscription: `{device}` becomes `+`.
    public var filter: String {
        levels.map { $0 == Self.deviceLevel ? "+" : $0 }.joined(separator: "/")
    }

    /// The device level of `topic` when the other levels match, else nil. The id is not checked here.
    public func device(in topic: String) -> Substring? {
        var index = 0
        var device: Substring?
        for level in topic.split(separator: "/", omittingEmptySubsequences: false) {
            guard index < levels.count else { return nil }
            if index == deviceIndex {
                device = level
            } else if level != levels[index] {
                return nil
            }
            index += 1
        }
        return index == levels.count ? device : nil
    }
}

/// MQTT topic filters that some topic matches both of (`+` one level, `#` the rest, the parent included).
public enum TopicFilters {
    public static func overlap(_ a: String, _ b: String) -> Bool {
        let left = a.split(separator: "/", omittingEmptySubsequences: false)
        let right = b.split(separator: "/", omittingEmptySubsequences: false)
        var index = 0
        while index < left.count && index < right.count {
            if left[index] == "#" || right[index] == "#" { return true }
            if left[index] != "+" && right[index] != "+" && left[index] != right[index] { return false }
            index += 1
        }
        if left.count == right.count { return true }
        // `a/#` also matches `a`.
        let longer = left.count > right.count ? left : right
        return longer.count == index + 1 && longer[index] == "#"
    }
}

/// A key path into a JSON object: segments split at `.`, a segment in double quotes taken as it is
/// (`params."temperature:0".tC`).
public enum KeyPath {
    public static func parse(_ text: String) -> [String]? {
        var segments: [String] = []
        var current = ""
        var quoted = false
        var closedQuote = false
        for character in text {
            if quoted {
                if character == "\"" { quoted = false; closedQuote = true } else { current.append(character) }
            } else if character == "." {
                guard !current.isEmpty || closedQuote else { return nil }
                segments.append(current)
                current = ""
                closedQuote = false
            } else if character == "\"" {
                guard current.isEmpty, !closedQuote else { return nil }
                quoted = true
            } else {
                guard !closedQuote else { return nil }
                current.append(character)
            }
        }
        guard !quoted, !current.isEmpty || closedQuote else { return nil }
        segments.append(current)
        return segments.count <= 16 ? segments : nil
    }
}
