import Foundation

/// The on-disk shape of one sensor type file, decoded strictly: unknown keys are errors, so typos surface.
enum CatalogFile {
    static func decode(_ data: Data) throws -> SensorType {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CatalogError(file: "", field: nil, message: "the file must hold one JSON object")
        }
        try rejectUnknownKeys(object, allowed: ["name", "format", "fields", "retention", "sources", "expected_interval", "description"], at: nil)
        let name = try string(object, "name", at: nil)
        var format = PayloadFormat.tm
        if let raw = object["format"] {
            guard let text = raw as? String, let parsed = PayloadFormat(rawValue: text), PayloadFormat.onTelemetryTopics.contains(parsed) else {
                throw CatalogError(file: "", field: "format", message: "must be one of \(PayloadFormat.onTelemetryTopics.map(\.rawValue)) (sparkplug is a source's format)")
            }
            format = parsed
        }
        guard let rawFields = object["fields"] as? [Any] else {
            throw CatalogError(file: "", field: "fields", message: "an array of fields is required")
        }
        var fields: [Field] = []
        for (index, raw) in rawFields.enumerated() {
            let at = "fields[\(index)]"
            guard let entry = raw as? [String: Any] else {
                throw CatalogError(file: "", field: at, message: "each field is an object")
            }
            try rejectUnknownKeys(entry, allowed: ["name", "unit", "min", "max", "lpp", "aliases", "strings", "description"], at: at)
            var lpp: LPPBinding?
            if let rawLPP = entry["lpp"] {
                guard let binding = rawLPP as? [String: Any] else {
                    throw CatalogError(file: "", field: "\(at).lpp", message: "must be an object like {\"type\": 103, \"channel\": 1}")
                }
                try rejectUnknownKeys(binding, allowed: ["type", "channel", "component"], at: "\(at).lpp")
                lpp = LPPBinding(
                    type: try integer(binding, "type", at: "\(at).lpp"),
                    channel: try optionalInteger(binding, "channel", at: "\(at).lpp"),
                    component: try optionalInteger(binding, "component", at: "\(at).lpp"))
            }
            fields.append(Field(
                name: try string(entry, "name", at: at),
                unit: try string(entry, "unit", at: at),
                min: try number(entry, "min", at: at),
                max: try number(entry, "max", at: at),
                lpp: lpp,
                aliases: try strings(entry, "aliases", at: at) ?? [],
                strings: try bool(entry, "strings", at: at) ?? false))
        }
        var retention = Retention()
        if let raw = object["retention"] {
            guard let entry = raw as? [String: Any] else {
                throw CatalogError(file: "", field: "retention", message: "must be an object like {\"raw\": \"30d\"}")
            }
            try rejectUnknownKeys(entry, allowed: ["raw", "rollup_1m", "rollup_1h"], at: "retention")
            retention.raw = try duration(entry, "raw", at: "retention.raw")
            retention.rollup1m = try duration(entry, "rollup_1m", at: "retention.rollup_1m")
            retention.rollup1h = try duration(entry, "rollup_1h", at: "retention.rollup_1h")
        }
        var sources: [Source] = []
        if let raw = object["sources"] {
            guard let entries = raw as? [Any] else {
                throw CatalogError(file: "", field: "sources", message: "must be an array of {\"topic\": ..., \"format\": ...}")
            }
            for (index, raw) in entries.enumerated() {
                sources.append(try source(raw, at: "sources[\(index)]"))
            }
        }
        let expectedInterval = try duration(object, "expected_interval", at: "expected_interval") ?? SensorType.defaultExpectedInterval
        return SensorType(name: name, fields: fields, format: format, retention: retention, sources: sources, expectedInterval: expectedInterval)
    }

    private static func source(_ raw: Any, at: String) throws -> Source {
        guard let entry = raw as? [String: Any] else {
            throw CatalogError(file: "", field: at, message: "each source is an object")
        }
        try rejectUnknownKeys(entry, allowed: ["topic", "format", "fields", "time", "field", "description", "envelope", "device", "uplink"], at: at)
        guard let text = entry["format"] as? String, let format = PayloadFormat(rawValue: text) else {
            throw CatalogError(file: "", field: "\(at).format", message: "must be one of \(PayloadFormat.allCases.map(\.rawValue))")
        }
        var fields: [String: [String]] = [:]
        if let raw = entry["fields"] {
            guard let map = raw as? [String: Any] else {
                throw CatalogError(file: "", field: "\(at).fields", message: "must map field names to key paths, e.g. {\"celsius\": [\"AM2301.Temperature\"]}")
            }
            for (name, _) in map {
                fields[name] = try strings(map, name, at: "\(at).fields")
            }
        }
        return Source(
            topic: try string(entry, "topic", at: at), format: format, fields: fields,
            time: try optionalString(entry, "time", at: at), field: try optionalString(entry, "field", at: at),
            description: try optionalString(entry, "description", at: at),
            envelope: try choice(entry, "envelope", at: at), device: try choice(entry, "device", at: at), uplink: try uplink(entry, at: at))
    }

    private static func choice<Choice: RawRepresentable & CaseIterable>(_ object: [String: Any], _ key: String, at: String) throws -> Choice?
    where Choice.RawValue == String {
        guard let raw = object[key] else { return nil }
        guard let text = raw as? String, let value = Choice(rawValue: text) else {
            throw CatalogError(file: "", field: "\(at).\(key)", message: "must be one of \(Choice.allCases.map(\.rawValue))")
        }
        return value
    }

    private static func uplink(_ object: [String: Any], at: String) throws -> [String: UplinkMetadata] {
        guard let raw = object["uplink"] else { return [:] }
        guard let map = raw as? [String: Any] else {
            throw CatalogError(file: "", field: "\(at).uplink", message: "must map field names to uplink metadata, e.g. {\"rssi\": \"rssi\"}")
        }
        var result: [String: UplinkMetadata] = [:]
        for name in map.keys.sorted() {
            guard let value: UplinkMetadata = try choice(map, name, at: "\(at).uplink") else { continue }
            result[name] = value
        }
        return result
    }

    private static func optionalString(_ object: [String: Any], _ key: String, at: String?) throws -> String? {
        guard object[key] != nil else { return nil }
        return try string(object, key, at: at)
    }

    private static func strings(_ object: [String: Any], _ key: String, at: String?) throws -> [String]? {
        guard let raw = object[key] else { return nil }
        guard let list = raw as? [Any], let texts = list as? [String], list.allSatisfy({ $0 is String }) else {
            throw CatalogError(file: "", field: path(at, key), message: "an array of strings is required")
        }
        return texts
    }

    private static func bool(_ object: [String: Any], _ key: String, at: String?) throws -> Bool? {
        guard let raw = object[key] else { return nil }
        guard let value = raw as? Bool else {
            throw CatalogError(file: "", field: path(at, key), message: "true or false is required")
        }
        return value
    }

    private static func path(_ at: String?, _ key: String) -> String { at.map { "\($0).\(key)" } ?? key }

    private static func rejectUnknownKeys(_ object: [String: Any], allowed: Set<String>, at: String?) throws {
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw CatalogError(file: "", field: path(at, unknown), message: "unknown key (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    private static func string(_ object: [String: Any], _ key: String, at: String?) throws -> String {
        guard let value = object[key] as? String else {
            throw CatalogError(file: "", field: path(at, key), message: "a string is required")
        }
        return value
    }

    private static func number(_ object: [String: Any], _ key: String, at: String?) throws -> Double {
        guard let value = object[key] as? NSNumber else {
            throw CatalogError(file: "", field: path(at, key), message: "a number is required")
        }
        return value.doubleValue
    }

    private static func integer(_ object: [String: Any], _ key: String, at: String?) throws -> Int {
        guard let value = object[key] as? NSNumber, value.doubleValue == value.doubleValue.rounded() else {
            throw CatalogError(file: "", field: path(at, key), message: "an integer is required")
        }
        return value.intValue
    }

    private static func optionalInteger(_ object: [String: Any], _ key: String, at: String?) throws -> Int? {
        guard object[key] != nil else { return nil }
        return try integer(object, key, at: at)
    }

    private static func duration(_ object: [String: Any], _ key: String, at: String) throws -> Duration? {
        guard let raw = object[key] else { return nil }
        guard let text = raw as? String, let parsed = DurationText.parse(text) else {
            throw CatalogError(file: "", field: at, message: "must look like 30d, 12h, 90m or 3600s")
        }
        return parsed
    }
}
