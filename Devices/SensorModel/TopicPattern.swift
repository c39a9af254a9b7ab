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

    /// A pattern the platform itself defines, which may lie under `telemetry/`.
    init(unchecked text: String) {
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
