import Configuration
import Foundation
import SystemPackage

/// Looks settings up in swift-configuration's providers, environment first, then the file; each value
/// converted by the provider, so a wrong type names its source instead of falling back to the default.
struct SettingsReader {
    private let environment: EnvironmentVariablesProvider
    private let environmentValues: [String: String]
    private let file: FileProvider<JSONSnapshot>?
    private let filePath: String
    private(set) var sources: [String: String] = [:]
    private(set) var keysRead: Set<String> = []

    init(environment values: [String: String]) async throws(SettingsError) {
        environmentValues = values
        environment = EnvironmentVariablesProvider(environmentVariables: values)
        let explicit = values["TELEMETRY_CONFIG"]
        filePath = explicit ?? "config/telemetry.json"
        guard let data = FileManager.default.contents(atPath: filePath) else {
            if explicit != nil { throw SettingsError(setting: "TELEMETRY_CONFIG", message: "cannot read \(filePath)") }
            file = nil
            return
        }
        try Self.checkKeys(data, path: filePath)
        do {
            file = try await FileProvider<JSONSnapshot>(filePath: FilePath(filePath))
        } catch {
            throw SettingsError(setting: filePath, message: "\(error)")
        }
    }

    /// The file holds one JSON object whose keys are all documented settings.
    private static func checkKeys(_ data: Data, path: String) throws(SettingsError) {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw SettingsError(setting: path, message: "must hold one JSON object")
        }
        let known = Set(PlatformSettings.all.map(\.key))
        for key in object.keys.sorted() where !known.contains(key) {
            throw SettingsError(setting: "\(path): \(key)", message: "unknown setting (known: \(PlatformSettings.all.map(\.key).joined(separator: ", ")))")
        }
        for (key, value) in object where value is [String: Any] {
            throw SettingsError(setting: "\(path): \(key)", message: "must be a string, a number, a boolean or a list of strings")
        }
    }

    func source(_ key: String) -> String { sources[key] ?? Setting.variable(of: key) }

    /// Each setting's default as text, made once.
    private static let defaults = Dictionary(uniqueKeysWithValues: PlatformSettings.all.map { ($0.key, $0.defaultText) })

    /// The value of `key` as `type` from the first provider that has it, or nil.
    private mutating func lookup(_ key: String, _ type: ConfigType, expected: String) throws(SettingsError) -> ConfigContent? {
        precondition(Self.defaults[key] != nil, "\(key) is not in PlatformSettings.all")
        keysRead.insert(key)
        let variable = Setting.variable(of: key)
        do {
            if let value = try environment.value(forKey: AbsoluteConfigKey(["telemetry", key]), type: type).value {
                sources[key] = variable
                return value.content
            }
        } catch {
            throw SettingsError(setting: variable, message: "must be \(expected), got '\(environmentValues[variable] ?? "")'")
        }
        guard let file else { return nil }
        do {
            if let value = try file.value(forKey: AbsoluteConfigKey([key]), type: type).value {
                sources[key] = "\(filePath): \(key)"
                return value.content
            }
        } catch {
            throw SettingsError(setting: "\(filePath): \(key)", message: "must be \(expected)")
        }
        return nil
    }

    /// A file or folder setting. A relative path written in the configuration file is relative to the
    /// file's project (the folder above its `config/` folder, else its own folder), so the file works
    /// from any working directory; one from a variable or a default is relative to the working directory.
    mutating func path(_ key: String) throws(SettingsError) -> String {
        let value = try string(key)  // first: it records where the value came from
        return resolve(key, value)
    }

    mutating func optionalPath(_ key: String) throws(SettingsError) -> String? {
        guard let value = try optionalString(key) else { return nil }
        return resolve(key, value)
    }

    private func resolve(_ key: String, _ path: String) -> String {
        guard !path.hasPrefix("/"), !path.isEmpty, sources[key] == "\(filePath): \(key)" else { return path }
        let folder = URL(fileURLWithPath: filePath).standardizedFileURL.deletingLastPathComponent()
        let base = folder.lastPathComponent == "config" ? folder.deletingLastPathComponent() : folder
        return base.appendingPathComponent(path).path
    }

    mutating func string(_ key: String) throws(SettingsError) -> String {
        guard case .string(let text)? = try lookup(key, .string, expected: "a string") else { return Self.defaults[key]! }
        return text
    }

    /// A string, or nil when neither place sets it.
    mutating func optionalString(_ key: String) throws(SettingsError) -> String? {
        guard case .string(let text)? = try lookup(key, .string, expected: "a string") else { return nil }
        return text
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int>) throws(SettingsError) -> Int {
        try optionalInteger(key, in: range) ?? Int(Self.defaults[key]!)!
    }

    mutating func optionalInteger(_ key: String, in range: ClosedRange<Int>) throws(SettingsError) -> Int? {
        let expected = "an integer in \(range.lowerBound)...\(range.upperBound)"
        guard case .int(let value)? = try lookup(key, .int, expected: expected) else { return nil }
        guard range.contains(value) else { throw SettingsError(setting: source(key), message: "must be \(expected), got \(value)") }
        return value
    }

    /// An integer, nil for `none` (in the file as the string or null, or as the variable's text), and the
    /// default (which may be `none`) when neither place sets it.
    mutating func integerOrNone(_ key: String, in range: ClosedRange<Int>) throws(SettingsError) -> Int? {
        let variable = Setting.variable(of: key)
        if let text = environmentValues[variable], text.trimmingCharacters(in: .whitespaces).lowercased() == "none" {
            keysRead.insert(key)
            sources[key] = variable
            return nil
        }
        if environmentValues[variable] == nil, let file,
            case .string(let text)? = try? file.value(forKey: AbsoluteConfigKey([key]), type: .string).value?.content, text.lowercased() == "none"
        {
            keysRead.insert(key)
            sources[key] = "\(filePath): \(key)"
            return nil
        }
        return try optionalInteger(key, in: range) ?? Int(Self.defaults[key]!)
    }

    mutating func bool(_ key: String) throws(SettingsError) -> Bool {
        guard case .bool(let value)? = try lookup(key, .bool, expected: "true or false") else { return Self.defaults[key]! == "true" }
        return value
    }

    /// A comma-separated string in either place, or a JSON list of strings in the file.
    mutating func list(_ key: String) throws(SettingsError) -> [String] {
        let words: [String]
        if environmentValues[Setting.variable(of: key)] == nil, let file,
            case .stringArray(let array)? = try? file.value(forKey: AbsoluteConfigKey([key]), type: .stringArray).value?.content
        {
            keysRead.insert(key)
            sources[key] = "\(filePath): \(key)"
            words = array
        } else {
            guard case .string(let text)? = try lookup(key, .string, expected: "a comma-separated string or a list of strings") else { return [] }
            words = text.split(separator: ",").map(String.init)
        }
        return words.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
