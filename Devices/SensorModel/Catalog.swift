import Foundation

/// The sensor catalog: one JSON file per sensor type in a folder (config/sensors by default).
public struct Catalog: Sendable {
    public let sensors: [SensorType]

    public init(sensors: [SensorType]) throws(CatalogError) {
        var seen = Set<String>()
        for sensor in sensors {
            try Self.validate(sensor, file: sensor.name)
            guard seen.insert(sensor.name).inserted else {
                throw CatalogError(file: sensor.name, field: "name", message: "sensor type '\(sensor.name)' is defined twice")
            }
        }
        try Self.validateDeviceLevels(sensors)
        self.sensors = sensors.sorted { $0.name < $1.name }
    }

    public subscript(name: String) -> SensorType? {
        sensors.first { $0.name == name }
    }

    /// Loads every `*.json` file in `directory`; the first bad file stops loading with its path and field.
    public static func load(directory: String) throws(CatalogError) -> Catalog {
        let url = URL(fileURLWithPath: directory, isDirectory: true)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            let absolute = url.standardizedFileURL.path
            throw CatalogError(file: directory, field: nil, message: "cannot read the catalog folder" + (absolute == directory ? "" : " (\(absolute))"))
        }
        guard !names.isEmpty else {
            throw CatalogError(file: directory, field: nil, message: "no sensor type files (*.json) in the catalog folder")
        }
        var sensors: [SensorType] = []
        var seen: [String: String] = [:]
        for name in names {
            let path = url.appendingPathComponent(name).path
            let sensor = try loadFile(path: path)
            if let other = seen[sensor.name] {
                throw CatalogError(file: path, field: "name", message: "sensor type '\(sensor.name)' is also defined in \(other)")
            }
            seen[sensor.name] = path
            sensors.append(sensor)
        }
        return try Catalog(sensors: sensors)
    }

    public static func loadFile(path: String) throws(CatalogError) -> SensorType {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CatalogError(file: path, field: nil, message: "cannot read the file")
        }
        let sensor: SensorType
        do {
            sensor = try CatalogFile.decode(data)
        } catch let error as CatalogError {
            throw CatalogError(file: path, field: error.field, message: error.message)
        } catch {
            throw CatalogError(file: path, field: nil, message: "not valid JSON: \(error)")
        }
        try validate(sensor, file: path)
        return sensor
    }

    /// The `{sensor}` level of the devices' own status topic (`StatusTopics`).
    public static let reservedSensorName = "status"
    static let reservedColumns: Set<String> = ["device_id", "time", "seq", "bucket", "count"]

    static func validate(_ sensor: SensorType, file: String) throws(CatalogError) {
        guard Identifier.isValid(sensor.name) else {
            throw CatalogError(file: file, field: "name", message: "'\(sensor.name)' must be 1-40 characters of a-z, 0-9 and _, starting with a letter")
        }
        guard sensor.name != reservedSensorName else {
            throw CatalogError(file: file, field: "name", message: "'\(reservedSensorName)' is taken: telemetry/status/<device> is where devices say whether they are connected")
        }
        guard (1...16).contains(sensor.fields.count) else {
            throw CatalogError(file: file, field: "fields", message: "a sensor type has 1 to 16 fields, this one has \(sensor.fields.count)")
        }
        var names = Set<String>()
        for (index, field) in sensor.fields.enumerated() {
            let where_ = "fields[\(index)]"
            guard Identifier.isValid(field.name), !reservedColumns.contains(field.name) else {
                throw CatalogError(file: file, field: "\(where_).name", message: "'\(field.name)' must be 1-40 characters of a-z, 0-9 and _, starting with a letter, and not one of \(reservedColumns.sorted())")
            }
            guard names.insert(field.name).inserted else {
                throw CatalogError(file: file, field: "\(where_).name", message: "field '\(field.name)' appears twice")
            }
            guard !field.unit.isEmpty else {
                throw CatalogError(file: file, field: "\(where_).unit", message: "a unit is required")
            }
            guard field.min.isFinite, field.max.isFinite, field.min < field.max else {
                throw CatalogError(file: file, field: "\(where_).min", message: "min and max must be finite with min < max")
            }
            if let lpp = field.lpp {
                guard (0...255).contains(lpp.type) else {
                    throw CatalogError(file: file, field: "\(where_).lpp.type", message: "an LPP type is 0...255")
                }
                if let channel = lpp.channel, !(0...255).contains(channel) {
                    throw CatalogError(file: file, field: "\(where_).lpp.channel", message: "an LPP channel is 0...255")
                }
                if let component = lpp.component, !(0...2).contains(component) {
                    throw CatalogError(file: file, field: "\(where_).lpp.component", message: "an LPP component is 0...2")
                }
            }
            for (number, alias) in field.aliases.enumerated() where KeyPath.parse(alias) == nil {
                throw CatalogError(file: file, field: "\(where_).aliases[\(number)]", message: KeyPath.problem(alias))
            }
        }
        try validateSources(sensor, file: file)
    }
}

enum Identifier {
    static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...40).contains(bytes.count), let first = bytes.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else {
            return false
        }
        return bytes.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_") }
    }
}

