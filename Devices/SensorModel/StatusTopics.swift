/// The topics on which devices say whether they are connected, and what they say there. Built in, not
/// per sensor type: a device's announcement is about the device, so every sensor type's service takes it
/// and applies it to its own row of that device (a device of no such type is not affected).
public enum StatusTopics {
    /// A device's own announcement, and the last will our emulator sets: `online` / `offline`.
    public static let ownPattern = "telemetry/status/{device}"

    /// Firmware that announces itself, each with what it sends for connected and for gone (compared
    /// without case: Tasmota writes `Online`, ESPHome `online`).
    public static let patterns: [(pattern: TopicPattern, online: String, offline: String)] = [
        (TopicPattern.own, "online", "offline"),
        (TopicPattern("tele/{device}/LWT")!, "online", "offline"),  // Tasmota
        (TopicPattern("{device}/online")!, "true", "false"),        // Shelly Gen2
        (TopicPattern("{device}/status")!, "online", "offline"),    // ESPHome
    ]

    private static let ownPrefix = Array("telemetry/status/".utf8)
    /// The other patterns' last levels, reversed, with their `/`.
    private static let suffixes = ["/LWT", "/online", "/status"].map { Array($0.utf8.reversed()) }

    /// The MQTT filters of every status topic.
    public static var filters: [String] { patterns.map(\.pattern.filter) }

    /// The publish patterns a device is allowed (`{device}` its own id).
    public static var topics: [String] { patterns.map { $0.pattern.levels.joined(separator: "/") } }

    /// Whether `topic` is a status topic, and if so of which device (not yet checked as an id). Asked of
    /// every message: most are answered by comparing a few bytes, without splitting the topic.
    public static func device(in topic: String) -> (device: Substring, online: String, offline: String)? {
        let bytes = topic.utf8
        guard bytes.starts(with: ownPrefix) || suffixes.contains(where: { bytes.reversed().starts(with: $0) }) else { return nil }
        // Nothing under telemetry/ but our own: `telemetry/status` is no ESPHome node called telemetry.
        let own = bytes.starts(with: "telemetry/".utf8)
        for entry in patterns where (entry.pattern.levels.first == "telemetry") == own {
            if let device = entry.pattern.device(in: topic) { return (device, entry.online, entry.offline) }
        }
        return nil
    }

    /// What an announcement says: true for connected, false for gone, nil when it is neither.
    public static func isOnline(_ payload: [UInt8], online: String, offline: String) -> Bool? {
        guard payload.count <= 64 else { return nil }  // the words and some whitespace around them
        var text = String(decoding: payload, as: UTF8.self).lowercased()
        text = String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        if text == online { return true }
        if text == offline { return false }
        return nil
    }
}

extension TopicPattern {
    /// `telemetry/status/{device}`: made here, because `init?` refuses patterns under `telemetry/` (a
    /// catalog source may not take them; the platform's own status topic lives there).
    static let own = TopicPattern(unchecked: StatusTopics.ownPattern)
}
