extension Catalog {
    /// A sensor type's sources: each a pattern with one `{device}`, paths that parse and name its fields,
    /// and no two patterns matching one topic (its service would receive that message twice).
    static func validateSources(_ sensor: SensorType, file: String) throws(CatalogError) {
        for (index, source) in sensor.sources.enumerated() {
            let at = "sources[\(index)]"
            if source.format == .sparkplug {
                try validateSparkplug(source, of: sensor, at: at, file: file)
                try checkOverlaps(sensor, index: index, at: at, file: file)
                continue
            }
            if let problem = TopicPattern.problem(source.topic) {
                throw CatalogError(file: file, field: "\(at).topic", message: "'\(source.topic)': \(problem)")
            }
            switch source.format {
            case .json:
                for name in source.fields.keys.sorted() {
                    guard sensor.fieldIndex(named: name) != nil else {
                        throw CatalogError(file: file, field: "\(at).fields.\(name)", message: "\(sensor.name) has no field '\(name)' (fields: \(sensor.fields.map(\.name).joined(separator: ", ")))")
                    }
                    for (number, path) in source.fields[name]!.enumerated() where KeyPath.parse(path) == nil {
                        throw CatalogError(file: file, field: "\(at).fields.\(name)[\(number)]", message: KeyPath.problem(path))
                    }
                }
                if let time = source.time, KeyPath.parse(time) == nil {
                    throw CatalogError(file: file, field: "\(at).time", message: KeyPath.problem(time))
                }
            case .text:
                if let name = source.field {
                    guard sensor.fieldIndex(named: name) != nil else {
                        throw CatalogError(file: file, field: "\(at).field", message: "\(sensor.name) has no field '\(name)'")
                    }
                } else if sensor.fields.count != 1 {
                    throw CatalogError(file: file, field: "\(at).field", message: "text carries one number: name the field it is for")
                }
            default:
                break
            }
            try validateEnvelope(source, of: sensor, at: at, file: file)
            if source.format != .json && (!source.fields.isEmpty || source.time != nil) {
                throw CatalogError(file: file, field: "\(at).fields", message: "key paths (fields, time) are for the json format")
            }
            if source.format != .text && source.field != nil {
                throw CatalogError(file: file, field: "\(at).field", message: "field is for the text format; json takes fields")
            }
            // A status topic is read as a status whatever the sources say (a topic that only overlaps one, such
            // as sensors/{device} and sensors/status, is a status message there).
            if StatusTopics.filters.contains(source.pattern!.filter) {
                throw CatalogError(file: file, field: "\(at).topic", message: "'\(source.topic)' is a devices' status topic (docs/devices.md#device-status)")
            }
            try checkOverlaps(sensor, index: index, at: at, file: file)
        }
    }

    private static func checkOverlaps(_ sensor: SensorType, index: Int, at: String, file: String) throws(CatalogError) {
        let source = sensor.sources[index]
        for earlier in 0..<index where sensor.sources[earlier].overlaps(source) {
            throw CatalogError(file: file, field: "\(at).topic", message: "'\(source.topic)' and sources[\(earlier)] '\(sensor.sources[earlier].topic)' match the same topics: \(sensor.name)'s service would receive such a message twice")
        }
    }

    /// A Sparkplug B source: `spBv1.0/<group>`, and `fields` naming metrics (names taken as they are:
    /// Sparkplug's `/` and `.` are part of them); nothing of the other formats.
    static func validateSparkplug(_ source: Source, of sensor: SensorType, at: String, file: String) throws(CatalogError) {
        guard let group = source.sparkplugGroup, Topic.isValidDevice(group), group != "STATE" else {
            throw CatalogError(file: file, field: "\(at).topic", message: "a sparkplug source's topic is spBv1.0/<group id> (the group's edge nodes publish under it; the id \(Topic.deviceRule), not STATE), not '\(source.topic.prefix(64))'")
        }
        if source.envelope != nil || source.time != nil || source.field != nil || source.device != nil || !source.uplink.isEmpty {
            throw CatalogError(file: file, field: at, message: "a sparkplug source takes topic, fields (field -> metric names) and description only")
        }
        for name in source.fields.keys.sorted() {
            guard sensor.fieldIndex(named: name) != nil else {
                throw CatalogError(file: file, field: "\(at).fields.\(name)", message: "\(sensor.name) has no field '\(name)' (fields: \(sensor.fields.map(\.name).joined(separator: ", ")))")
            }
            if source.fields[name]!.isEmpty || source.fields[name]!.contains(where: \.isEmpty) {
                throw CatalogError(file: file, field: "\(at).fields.\(name)", message: "one metric name or more, none empty")
            }
        }
    }
}

extension Catalog {
    /// An envelope source's extras: `device` and `uplink` need an envelope; `uplink` names fields that
    /// its `fields` do not also map.
    static func validateEnvelope(_ source: Source, of sensor: SensorType, at: String, file: String) throws(CatalogError) {
        guard source.envelope != nil else {
            if source.device != nil || !source.uplink.isEmpty {
                throw CatalogError(file: file, field: "\(at).\(source.device != nil ? "device" : "uplink")", message: "device and uplink are for sources with an envelope (chirpstack, ttn)")
            }
            return
        }
        for name in source.uplink.keys.sorted() {
            guard let index = sensor.fieldIndex(named: name) else {
                throw CatalogError(file: file, field: "\(at).uplink.\(name)", message: "\(sensor.name) has no field '\(name)' (fields: \(sensor.fields.map(\.name).joined(separator: ", ")))")
            }
            if source.fields[name] != nil {
                throw CatalogError(file: file, field: "\(at).uplink.\(name)", message: "'\(name)' is also in fields: take it from the payload or from the uplink, not both")
            }
            // Else one uplink's field would come from the node's bytes and the next one's from the gateways.
            if source.format == .lpp, sensor.fields[index].lpp != nil {
                throw CatalogError(file: file, field: "\(at).uplink.\(name)", message: "'\(name)' has an lpp binding: take it from the payload or from the uplink, not both")
            }
        }
    }
}

extension Catalog {
    /// Sensor types may share a source topic, but two patterns that match one topic must take the device id
    /// from the same level: the broker lets a device write each pattern with its own id there, so otherwise
    /// what it publishes under one pattern would be read as another device's by the other.
    static func validateDeviceLevels(_ sensors: [SensorType]) throws(CatalogError) {
        let sources = sensors.flatMap { sensor in
            sensor.sources.enumerated().compactMap { entry in entry.element.pattern.map { (sensor: sensor.name, index: entry.offset, pattern: $0) } }
        }
        for (position, source) in sources.enumerated() {
            for earlier in sources[..<position]
            where earlier.pattern.deviceIndex != source.pattern.deviceIndex && TopicFilters.overlap(earlier.pattern.filter, source.pattern.filter) {
                throw CatalogError(
                    file: source.sensor, field: "sources[\(source.index)].topic",
                    message: "'\(source.pattern.levels.joined(separator: "/"))' and \(earlier.sensor)'s '\(earlier.pattern.levels.joined(separator: "/"))' match the same topics with {device} at different levels: a device could publish as another")
            }
        }
        try validateKinds(sensors)
    }

    /// Sensor types that share a topic read it as the same kind of message: a network server's uplink
    /// (devices may not write it: the broker's rights are per topic, and a device's copy of the topic
    /// elsewhere would let it forge another device's uplinks), a Sparkplug group's, or a device's own.
    static func validateKinds(_ sensors: [SensorType]) throws(CatalogError) {
        let sources = sensors.flatMap { sensor in sensor.sources.enumerated().map { (sensor: sensor.name, index: $0.offset, source: $0.element) } }
        func kind(_ source: Source) -> String { source.envelope?.rawValue ?? (source.format == .sparkplug ? "sparkplug" : "a device's own") }
        for (position, entry) in sources.enumerated() {
            for earlier in sources[..<position] where kind(earlier.source) != kind(entry.source) && earlier.source.overlaps(entry.source) {
                throw CatalogError(
                    file: entry.sensor, field: "sources[\(entry.index)].topic",
                    message: "'\(entry.source.topic)' (\(kind(entry.source))) and \(earlier.sensor)'s '\(earlier.source.topic)' (\(kind(earlier.source))) match the same topics: sensor types that share a topic read it the same way (envelope, format sparkplug)")
            }
        }
    }
}

extension KeyPath {
    static func problem(_ text: String) -> String {
        "'\(text)' is not a key path (keys joined by '.', a key holding '.' in double quotes: params.\"temperature:0\".tC; at most 16 keys)"
    }
}
