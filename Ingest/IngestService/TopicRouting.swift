import SensorModel
import StorageWriter
import WireFormats

/// Which topics the pipelines subscribe to, so that every topic under `telemetry/` reaches one of them
/// and is stored or dead-lettered, never dropped by the broker for want of a subscriber.
public enum TopicRouting {
    /// Every topic under `telemetry/<sensor>`, each matched by exactly one filter (so delivered once):
    /// the catalog's filters for 3 and 4 levels — unchanged, so a persistent session subscribed by an earlier
    /// version gains no overlapping subscription — plus `telemetry/<sensor>` itself and 5 levels or more,
    /// which the pipeline dead-letters as `bad_topic`. `sharedGroup` puts each behind `$share/<group>/`.
    /// Then one filter per catalog source (`{device}` as `+`); the catalog check keeps them apart from
    /// each other, from the status topics, and outside `telemetry/`. Then the devices' status topics.
    /// A Sparkplug group's filters are never shared: an edge node's session needs every message it sends,
    /// so each replica reads them all (storage keeps each reading once).
    public static func filters(for sensor: SensorType, sharedGroup: String? = nil) -> [String] {
        let filters = sensor.topicFilters + ["telemetry/\(sensor.name)", "telemetry/\(sensor.name)/+/+/+/#"]
            + sensor.sources.filter { $0.format != .sparkplug }.flatMap(\.filters) + StatusTopics.filters
        return shared(filters, group: sharedGroup) + sensor.sources.filter { $0.format == .sparkplug }.flatMap(\.filters)
    }

    /// What a message on a status topic says (nil for an empty one: it clears a retained message, and says
    /// nothing), or why it is dead-lettered; nil when `topic` is no status topic.
    public static func statusReport(_ topic: String, payload: [UInt8], receivedAt: Int64) -> Result<StatusReport?, DecodeError>? {
        guard let status = StatusTopics.device(in: topic) else { return nil }
        guard Topic.isValidDevice(String(status.device)) else {
            return .failure(DecodeError(.badTopic, "the device level of a status topic is '\(status.device.prefix(64))': a device id is \(Topic.deviceRule)"))
        }
        if payload.isEmpty { return .success(nil) }
        guard let online = StatusTopics.isOnline(payload, online: status.online, offline: status.offline) else {
            return .failure(DecodeError(.badStatus, "\(topic) takes '\(status.online)' or '\(status.offline)'"))
        }
        return .success(StatusReport(device: String(status.device), online: online, at: receivedAt))
    }

    /// Where a message for `sensor` came from: its device, its format (nil: the sensor type's default) and
    /// the catalog source it matched (nil for `telemetry/<sensor>/...`).
    public struct Route: Sendable, Equatable {
        public var device: String
        public var format: PayloadFormat?
        public var source: Int?
        /// A Sparkplug B source's topic, parsed (its edge node's session reads the message).
        public var sparkplug: SparkplugTopic? = nil
    }

    /// Routes a topic `sensor`'s service received, or says why it is dead-lettered (`bad_topic`, or
    /// `unknown_sensor` for another sensor type's `telemetry/` topic).
    public static func route(_ topic: String, for sensor: SensorType) -> Result<Route, DecodeError> {
        if topic == "telemetry" || topic.hasPrefix("telemetry/") {
            switch Topic.parse(topic) {
            case .failure(let error):
                return .failure(DecodeError(.badTopic, error.reason))
            case .success(let parsed):
                guard parsed.sensor == sensor.name else {
                    return .failure(DecodeError(.unknownSensor, "topic names sensor type '\(parsed.sensor.prefix(64))', this service ingests '\(sensor.name)'"))
                }
                return .success(Route(device: parsed.device, format: parsed.format, source: nil))
            }
        }
        for (index, source) in sensor.sources.enumerated() {
            if source.format == .sparkplug {
                guard topic.hasPrefix(source.topic + "/") else { continue }
                switch SparkplugTopic.parse(topic) {
                case .failure(let error):
                    return .failure(error)
                case .success(let parsed) where parsed.kind == .ncmd || parsed.kind == .dcmd:
                    return .success(Route(device: "", format: .sparkplug, source: index, sparkplug: parsed))  // commands, ours among them: not read
                case .success(let parsed):
                    guard let device = parsed.storedDevice else {
                        return .failure(DecodeError(.badTopic, "the edge node and device of \(topic.prefix(200)) make no device id (<edge node>[.<device>], \(Topic.deviceRule); an edge node id holds no '.')"))
                    }
                    return .success(Route(device: device, format: .sparkplug, source: index, sparkplug: parsed))
                }
            }
            guard let pattern = source.pattern, let device = pattern.device(in: topic) else { continue }
            guard Topic.isValidDevice(String(device)) else {
                return .failure(DecodeError(.badTopic, "the {device} level of \(source.topic) is '\(device.prefix(64))': a device id is \(Topic.deviceRule)"))
            }
            return .success(Route(device: String(device), format: source.format, source: index))
        }
        return .failure(DecodeError(.badTopic, "no source of \(sensor.name) in the catalog matches this topic (a subscription left from an earlier catalog?)"))
    }

    /// The catch-all's (`telemetry-ingest --unrouted`) one filter: everything, including `telemetry` itself.
    public static func unroutedFilters(sharedGroup: String? = nil) -> [String] {
        shared(["telemetry/#"], group: sharedGroup)
    }

    static func shared(_ filters: [String], group: String?) -> [String] {
        guard let group else { return filters }
        return filters.map { "$share/\(group)/\($0)" }
    }

    /// What the catch-all does with a topic: nil when its `{sensor}` level is a sensor type in `known`, or
    /// it is `telemetry/status/<device>` (their services receive it; the catch-all acknowledges it and stores
    /// nothing), else why it is
    /// dead-lettered: `bad_topic` for fewer than 3 levels, `unknown_sensor` otherwise.
    public static func unroutedRejection(of topic: String, known: Set<String>) -> DecodeError? {
        let levels = topic.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        if levels.count >= 2, levels[0] == "telemetry", known.contains(String(levels[1])) { return nil }
        // telemetry/status/<device> is the sensor types' services'; nothing else under telemetry/status is anyone's.
        if levels.count == 3, levels[0] == "telemetry", levels[1] == Catalog.reservedSensorName {
            return levels[2].contains("/") || levels[2].isEmpty
                ? DecodeError(.badTopic, "a status topic is telemetry/status/<device> (one level after status)") : nil
        }
        guard levels.count >= 3 else {
            return DecodeError(.badTopic, "topic must be telemetry/{sensor}/{device}[/{format}], got \(levels.count) level\(levels.count == 1 ? "" : "s")")
        }
        guard levels[0] == "telemetry" else { return DecodeError(.badTopic, "topic must start with telemetry/") }
        return DecodeError(.unknownSensor, "no sensor type '\(levels[1].prefix(64))' in the catalog")
    }
}
