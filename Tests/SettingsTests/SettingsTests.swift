import Foundation
import Settings
import Testing

/// The one settings layer: every documented setting is read, the file and the environment agree on
/// names, the environment wins, and a wrong or unknown setting stops start-up naming it.
struct SettingsTests {
    static func load(_ environment: [String: String], file: [String: Any]? = nil) async throws(SettingsError) -> PlatformSettings {
        var environment = environment
        if environment["TELEMETRY_CONFIG"] == nil {
            let file = file ?? [:]
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("settings-\(UUID().uuidString).json").path
            FileManager.default.createFile(atPath: path, contents: try! JSONSerialization.data(withJSONObject: file))
            environment["TELEMETRY_CONFIG"] = path
        }
        return try await PlatformSettings.load(environment: environment)
    }

    /// The settings table of docs/settings.md, by key.
    static func documentedKeys() throws -> [String] {
        let readme = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../docs/settings.md").standardized, encoding: .utf8)
        return readme.split(separator: "\n").compactMap { line in
            line.firstMatch(of: /^\| `([a-z_0-9]+)` \| `TELEMETRY_[A-Z_0-9]+` \|/).map { String($0.1) }
        }
    }

    @Test func everyDocumentedSettingIsReadAndNoOtherIs() async throws {
        let documented = try Self.documentedKeys()
        #expect(documented == PlatformSettings.all.map(\.key), "docs/settings.md's table and PlatformSettings.all differ")
        let settings = try await Self.load([:])
        #expect(settings.keysRead == Set(documented))
    }

    @Test func eachSettingIsTakenFromTheEnvironmentOverTheFile() async throws {
        let file: [String: Any] = ["http_port": 9001, "rollup_cache_mb": 64, "api_tokens": ["a", "b"], "shared_subscription": true, "journal_dir": "/tmp/j"]
        let fromFile = try await Self.load([:], file: file)
        #expect(fromFile.httpPort == 9001 && fromFile.rollupCacheMB == 64 && fromFile.apiTokens == ["a", "b"])
        #expect(fromFile.sharedSubscription && fromFile.journalDirectory == "/tmp/j")
        #expect(fromFile.source("http_port").hasSuffix(": http_port"))
        let overridden = try await Self.load(
            ["TELEMETRY_HTTP_PORT": "9002", "TELEMETRY_ROLLUP_CACHE_MB": "7", "TELEMETRY_API_TOKENS": "x, y", "TELEMETRY_SHARED_SUBSCRIPTION": "false",
             "TELEMETRY_RETENTION_INTERVAL_SECONDS": "5", "TELEMETRY_METRICS_HOST": "0.0.0.0", "TELEMETRY_LOG_LEVEL": "debug"],
            file: file)
        #expect(overridden.httpPort == 9002 && overridden.rollupCacheMB == 7 && overridden.apiTokens == ["x", "y"])
        #expect(!overridden.sharedSubscription && overridden.retentionIntervalSeconds == 5)
        #expect(overridden.metricsHost == "0.0.0.0" && overridden.logLevel == "debug")
        #expect(overridden.source("http_port") == "TELEMETRY_HTTP_PORT")
    }

    /// Compaction is on unless turned off: 120 minutes by default, `none` in either place turns it off.
    @Test func compactionAfterDefaultsOnAndTakesNone() async throws {
        #expect(try await Self.load([:]).compactAfterMinutes == 120)
        #expect(try await Self.load(["TELEMETRY_COMPACT_AFTER_MINUTES": "none"]).compactAfterMinutes == nil)
        #expect(try await Self.load([:], file: ["compact_after_minutes": "none"]).compactAfterMinutes == nil)
        #expect(try await Self.load([:], file: ["compact_after_minutes": 30]).compactAfterMinutes == 30)
        #expect(try await Self.load(["TELEMETRY_COMPACT_AFTER_MINUTES": "0"]).compactAfterMinutes == 0)
        await #expect(throws: SettingsError.self) { try await Self.load(["TELEMETRY_COMPACT_AFTER_MINUTES": "-5"]) }
        await #expect(throws: SettingsError.self) { try await Self.load(["TELEMETRY_COMPACT_AFTER_MINUTES": "abc"]) }
    }

    @Test func relativePathsInTheFileAreThoseOfItsProject() async throws {
        let project = FileManager.default.temporaryDirectory.appendingPathComponent("project-\(UUID().uuidString)")
        let config = project.appendingPathComponent("config")
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        let file = config.appendingPathComponent("telemetry.json")
        try JSONSerialization.data(withJSONObject: ["catalog": "config/sensors", "journal_dir": "/var/lib/j", "mqtt_ca_file": "tls/ca.crt"]).write(to: file)
        let settings = try await Self.load(["TELEMETRY_CONFIG": file.path])
        #expect(settings.catalogDirectory == project.appendingPathComponent("config/sensors").path)
        #expect(settings.mqttCAFile == project.appendingPathComponent("tls/ca.crt").path)
        #expect(settings.journalDirectory == "/var/lib/j", "absolute stays")
        // From a variable, or a default: relative to the working directory, as given.
        let overridden = try await Self.load(["TELEMETRY_CONFIG": file.path, "TELEMETRY_CATALOG": "here/sensors"])
        #expect(overridden.catalogDirectory == "here/sensors" && overridden.brokerPIDFile == ".local/broker/mosquitto.pid")
    }

    @Test func defaultsWhenNothingIsSet() async throws {
        let settings = try await Self.load([:])
        #expect(settings.rollupCacheMB == 256 && settings.httpPort == 8080 && settings.metricsPort == nil && settings.apiTokens.isEmpty)
        #expect(settings.retentionIntervalSeconds == 3600 && settings.journalFsync == "interval")
    }

    @Test func anUnknownKeyInTheFileIsRefused() async throws {
        await #expect {
            _ = try await Self.load([:], file: ["rollup_cache": 10])
        } throws: { error in
            "\(error)".contains(": rollup_cache") && "\(error)".contains("unknown setting")
        }
    }

    @Test(arguments: [
        (["TELEMETRY_HTTP_PORT": "abc"], "TELEMETRY_HTTP_PORT"),
        (["TELEMETRY_HTTP_PORT": "70000"], "TELEMETRY_HTTP_PORT"),
        (["TELEMETRY_ROLLUP_CACHE_MB": "-1"], "TELEMETRY_ROLLUP_CACHE_MB"),
        (["TELEMETRY_SHARED_SUBSCRIPTION": "maybe"], "TELEMETRY_SHARED_SUBSCRIPTION"),
        (["TELEMETRY_LOG_LEVEL": "loud"], "TELEMETRY_LOG_LEVEL"),
        (["TELEMETRY_DATABASE_URL": "mysql://x"], "TELEMETRY_DATABASE_URL"),
        (["TELEMETRY_INSTANCE": "a/b"], "TELEMETRY_INSTANCE"),
        (["TELEMETRY_CONFIG": "/nonexistent/telemetry.json"], "TELEMETRY_CONFIG"),
    ])
    func aWrongValueNamesItsSetting(_ environment: [String: String], _ named: String) async throws {
        await #expect {
            _ = try await Self.load(environment)
        } throws: { error in
            (error as? SettingsError)?.setting == named
        }
    }

    @Test func aWrongTypeInTheFileNamesFileAndKey() async throws {
        await #expect {
            _ = try await Self.load([:], file: ["http_port": "eighty"])
        } throws: { error in
            (error as? SettingsError)?.setting.hasSuffix(": http_port") == true
        }
    }
}

/// A misspelt variable is not read, so it must not pass unnoticed.
@Suite struct UnknownVariableTests {
    @Test func variablesThatAreNoSettingAreNamedWithTheClosestSetting() {
        let unknown = PlatformSettings.unknownVariables(in: [
            "TELEMETRY_MQTT_ULR": "x", "TELEMETRY_MQTT_URL": "x", "TELEMETRY_COLOUR": "x", "TELEMETRY_TEST_MODE": "all",
            "TELEMETRY_CONFIG": "x", "TELEMETRY_SWIFT_FLAGS": "x", "PATH": "x",
        ])
        #expect(unknown.map(\.variable) == ["TELEMETRY_COLOUR", "TELEMETRY_MQTT_ULR"])
        #expect(unknown.map(\.closest) == [nil, "TELEMETRY_MQTT_URL"])
    }
}
