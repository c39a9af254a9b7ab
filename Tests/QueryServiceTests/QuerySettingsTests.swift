import Foundation
import QueryService
import Settings
import Testing

/// The query service takes its settings from the one layer: the rollup cache size and the retention
/// interval follow their variables, and without tokens it serves only on loopback.
struct QuerySettingsTests {
    static func settings(_ environment: [String: String]) async throws -> QuerySettings {
        var environment = environment
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("query-settings-\(UUID().uuidString).json").path
        FileManager.default.createFile(atPath: path, contents: Data("{}".utf8))
        environment["TELEMETRY_CONFIG"] = path
        environment["TELEMETRY_CATALOG"] = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../config/sensors").standardized.path
        return try QuerySettings(platform: try await PlatformSettings.load(environment: environment))
    }

    @Test func rollupCacheSizeAndRetentionIntervalAreRead() async throws {
        let settings = try await Self.settings(["TELEMETRY_ROLLUP_CACHE_MB": "7", "TELEMETRY_RETENTION_INTERVAL_SECONDS": "2"])
        #expect(settings.rollupCacheMB == 7)
        #expect(settings.retentionInterval == .seconds(2))
        #expect(try await Self.settings(["TELEMETRY_ROLLUP_CACHE_MB": "0"]).rollupCacheMB == 0)
    }

    @Test func withoutTokensOnlyLoopback() async throws {
        _ = try await Self.settings(["TELEMETRY_HTTP_HOST": "127.0.0.1"])
        await #expect {
            _ = try await Self.settings(["TELEMETRY_HTTP_HOST": "0.0.0.0"])
        } throws: { error in
            (error as? SettingsError)?.setting == "TELEMETRY_API_TOKENS"
        }
        _ = try await Self.settings(["TELEMETRY_HTTP_HOST": "0.0.0.0", "TELEMETRY_API_TOKENS": "t1"])
    }

    @Test(arguments: [("127.0.0.1", true), ("127.1.2.3", true), ("localhost", true), ("::1", true), ("0.0.0.0", false),
                      ("127.in-a-name.invalid", false), ("127.0.0.1.example", false), ("127.0.0.256", false), ("10.0.0.1", false), ("[::1]", false)])
    func loopbackMeansAnAddressNotAPrefix(_ host: String, _ loopback: Bool) {
        #expect(PlatformSettings.isLoopback(host) == loopback)
    }
}
