extension Catalog {
    /// A sensor type's sources: each a pattern with one `{device}`, paths that parse and name its fields,
    /// and no two patterns matching one topic (its service would receive that message twice).
    static func validateSources(_ sensor: SensorType, file: String) throws(CatalogError) {
        for (index, source) in sensor.sources.enumerated() {
            let at = "sources[\(index)]"
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
            for earlier in 0..<index where TopicFilters.overlap(sensor.sources[earlier].pattern!.filter, source.pattern!.filter) {
                throw CatalogError(file: file, field: "\(at).topic", message: "'\(source.topic)' and sources[\(earlier)] '\(sensor.sources[earlier].topic)' match the same topics: \(sensor.name)'s service would receive such a message twice")
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
            guard sensor.fieldIndex(named: name) != nil else {
                throw CatalogError(file: file, field: "\(at).uplink.\(name)", message: "\(sensor.name) has no field '\(name)' (fields: \(sensor.fields.map(\.name).joined(separator: ", ")))")
            }
            if source.fields[name] != nil {
                throw CatalogError(file: file, field: "\(at).uplink.\(name)", message: "'\(name)' is also in fields: take it from the payload or from the uplink, not both")
            }
        }
    }
}

extension Catalog {
    /// Sensor types may share a source topic, but two patterns that match one topic must take the device id
    /// from the same level: the broker lets a device write each pattern with its own id there, so otherwise
    /// what it publishes under one pattern would be read as another device's by the other.
    static func validateDeviceLevels(_ sensors: [SensorType]) throws(CatalogError) {
        let sources = sensors.flatMap { sensor in sensor.sources.enumerated().map { (sensor: sensor.name, index: $0.offset, pattern: $0.element.pattern!) } }
        for (position, source) in sources.enumerated() {
            for earlier in sources[..<position]
            where earlier.pattern.deviceIndex != source.pattern.deviceIndex && TopicFilters.overlap(earlier.pattern.filter, source.pattern.filter) {
                throw CatalogError(
                    file: source.sensor, field: "sources[\(source.index)].topic",
                    message: "'\(source.pattern.levels.joined(separator: "/"))' and \(earlier.sensor)'s '\(earlier.pattern.levels.joined(separator: "/"))' match the same topics with {device} at different levels: a device could publish as another")
            }
        }
    }
}

extension KeyPath {
    static func problem(_ text: String) -> String {
        "'\(text)' is not a key path (keys joined by '.', a key holding '.' in double quotes: params.\"temperature:0\".tC; at most 16 keys)"
    }
}
