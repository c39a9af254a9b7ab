import Foundation

/// Settings shared by the executables: read from a JSON file (config/telemetry.json unless
/// TELEMETRY_CONFIG names another), each overridable by a TELEMETRY_* environment variable.
public struct PlatformSettings: Sendable {
    public var values: [String: String]
    /// Where each value came from, for error messages.
    public var sources: [String: String]

    public static let keys: [String] = [
        "mqtt_url", "database_url", "http_host", "http_port", "api_tokens", "catalog",
        "journal_dir", "journal_fsync", "batch_messages", "queue_messages", "queue_bytes", "instance", "metrics_port",
        "read_pool_size",
    ]

    public init(values: [String: String] = [:], sources: [String: String] = [:]) {
        self.values = values
        self.sources = sources
    }

    /// Loads the file (if present) then the environment. An unknown key in the file is an error.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws(SettingsError) -> PlatformSettings {
        var settings = PlatformSettings()
        let explicit = environment["TELEMETRY_CONFIG"]
        let path = explicit ?? "config/telemetry.json"
        if let data = FileManager.default.contents(atPath: path) {
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw SettingsError(setting: path, message: "must hold one JSON object")
            }
            for (key, value) in object {
                guard keys.contains(key) else {
                    throw SettingsError(setting: "\(path): \(key)", message: "unknown setting (known: \(keys.joined(separator: ", ")))")
                }
                switch value {
                case let text as String: settings.values[key] = text
                case let number as NSNumber: settings.values[key] = number.stringValue
                case let list as [String]: settings.values[key] = list.joined(separator: ",")
                default: throw SettingsError(setting: "\(path): \(key)", message: "must be a string or a number")
                }
                settings.sources[key] = "\(path): \(key)"
            }
        } else if explicit != nil {
            throw SettingsError(setting: "TELEMETRY_CONFIG", message: "cannot read \(path)")
        }
        for key in keys {
            let variable = "TELEMETRY_" + key.uppercased()
            if let value = environment[variable] {
                settings.values[key] = value
                settings.sources[key] = variable
            }
        }
        return settings
    }

    public func string(_ key: String, default fallback: String) -> String { values[key] ?? fallback }

    public func integer(_ key: String, default fallback: Int, range: ClosedRange<Int>) throws(SettingsError) -> Int {
        guard let text = values[key] else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw SettingsError(setting: source(key), message: "must be an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return value
    }

    public func list(_ key: String) -> [String] {
        (values[key] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public func source(_ key: String) -> String { sources[key] ?? "TELEMETRY_" + key.uppercased() }
}

/// A wrong setting: stops start-up with one line naming it.
public struct SettingsError: Error, Sendable, CustomStringConvertible {
    public var setting: String
    public var message: String

    public init(setting: String, message: String) {
        self.setting = setting
        self.message = message
    }

    public var description: String { "\(setting): \(message)" }
}
