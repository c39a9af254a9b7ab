import Foundation
import SensorModel

public struct QuerySettings: Sendable {
    public var databaseURL: String
    public var host: String
    public var port: Int
    public var tokens: [String]
    public var catalog: Catalog
    public var readPoolSize: Int
    /// Memory for the rollup cache in MiB; 0 turns it off.
    public var rollupCacheMB: Int

    public init(
        databaseURL: String, host: String = "127.0.0.1", port: Int = 8080, tokens: [String] = [], catalog: Catalog, readPoolSize: Int = 4,
        rollupCacheMB: Int = 256
    ) {
        self.databaseURL = databaseURL
        self.host = host
        self.port = port
        self.tokens = tokens
        self.catalog = catalog
        self.readPoolSize = readPoolSize
        self.rollupCacheMB = rollupCacheMB
    }

    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> QuerySettings {
        let settings = try PlatformSettings.load(environment: environment)
        let database = settings.string("database_url", default: "postgresql://postgres@127.0.0.1:5433/telemetry")
        guard database.hasPrefix("postgres://") || database.hasPrefix("postgresql://") || database.contains("=") else {
            throw SettingsError(setting: settings.source("database_url"), message: "must be a libpq URL like postgresql://user@host:port/db")
        }
        let host = settings.string("http_host", default: "127.0.0.1")
        guard !host.isEmpty else { throw SettingsError(setting: settings.source("http_host"), message: "must not be empty") }
        let tokens = settings.list("api_tokens")
        if tokens.isEmpty && !isLoopback(host) {
            throw SettingsError(
                setting: settings.source("api_tokens"),
                message: "no API tokens set: the query service serves without auth only on a loopback address, not on \(host)")
        }
        return QuerySettings(
            databaseURL: database, host: host, port: try settings.integer("http_port", default: 8080, range: 0...65535),
            tokens: tokens, catalog: try Catalog.load(directory: settings.string("catalog", default: "config/sensors")),
            readPoolSize: try settings.integer("read_pool_size", default: 4, range: 1...64),
            rollupCacheMB: try settings.integer("rollup_cache_mb", default: 256, range: 0...1_048_576))
    }

    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}
