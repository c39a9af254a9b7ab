import Foundation
import SensorModel
import Settings

public struct QuerySettings: Sendable {
    public var databaseURL: String
    /// Sensor types whose tables live in a database of their own; requests for them go there.
    public var sensorDatabaseURLs: [String: String]
    public var host: String
    public var port: Int
    /// Read tokens (`api_tokens`) and admin tokens (`admin_tokens`: also the device credential routes).
    public var tokens: [String]
    public var adminTokens: [String]
    public var catalog: Catalog
    public var readPoolSize: Int
    /// History reads (`QueryStore.readHistory`) from a standby where the database URL lists several hosts.
    public var standbyReads: Bool
    /// Memory for the rollup cache in MiB; 0 turns it off.
    public var rollupCacheMB: Int
    /// How often the retention policy runs, and the age and quota limits it applies besides the catalog's.
    public var retentionInterval: Duration
    public var retentionLimits: RetentionSchedule.Limits
    /// Compaction (docs/storage.md): readings of hours that ended `compactAfter` ago (nil: none), looked for
    /// every `compactInterval`.
    public var compactAfter: Duration?
    public var compactInterval: Duration
    /// How devices' states are derived: how often, and the silent factor.
    public var deviceStatus: DeviceStatusSchedule.Options

    public init(
        databaseURL: String, sensorDatabaseURLs: [String: String] = [:], host: String = "127.0.0.1", port: Int = 8080, tokens: [String] = [], adminTokens: [String] = [], catalog: Catalog, readPoolSize: Int = 4, standbyReads: Bool = false,
        rollupCacheMB: Int = 256, retentionInterval: Duration = .seconds(3600), retentionLimits: RetentionSchedule.Limits = .init(),
        deviceStatus: DeviceStatusSchedule.Options = .init(), compactAfter: Duration? = .seconds(7200), compactInterval: Duration = .seconds(600)
    ) {
        self.compactAfter = compactAfter
        self.compactInterval = compactInterval
        self.databaseURL = databaseURL
        self.sensorDatabaseURLs = sensorDatabaseURLs
        self.host = host
        self.port = port
        self.tokens = tokens
        self.adminTokens = adminTokens
        self.catalog = catalog
        self.readPoolSize = readPoolSize
        self.standbyReads = standbyReads
        self.rollupCacheMB = rollupCacheMB
        self.retentionInterval = retentionInterval
        self.retentionLimits = retentionLimits
        self.deviceStatus = deviceStatus
    }

    /// From the platform's settings; refuses to serve without tokens on anything but loopback.
    public init(platform settings: PlatformSettings) throws {
        if settings.apiTokens.isEmpty && settings.adminTokens.isEmpty && !PlatformSettings.isLoopback(settings.httpHost) {
            throw SettingsError(
                setting: settings.source("api_tokens"),
                message: "no API tokens set: the query service serves without auth only on a loopback address, not on \(settings.httpHost)")
        }
        let catalog = try Catalog.load(directory: settings.catalogDirectory)
        for name in settings.sensorDatabaseURLs.keys.sorted() where catalog[name] == nil {
            throw SettingsError(setting: settings.source("sensor_database_urls"), message: "names '\(name)', which is not a sensor type of the catalog")
        }
        self.init(
            databaseURL: settings.databaseURL, sensorDatabaseURLs: settings.sensorDatabaseURLs, host: settings.httpHost, port: settings.httpPort, tokens: settings.apiTokens,
            adminTokens: settings.adminTokens,
            catalog: catalog, readPoolSize: settings.readPoolSize, standbyReads: settings.standbyReads,
            rollupCacheMB: settings.rollupCacheMB, retentionInterval: .seconds(settings.retentionIntervalSeconds),
            retentionLimits: .init(deadLetterAge: .seconds(settings.deadLetterRetentionDays * 86_400), deadLetterQuotaPerHour: settings.deadLetterQuotaPerHour),
            deviceStatus: .init(interval: .seconds(settings.deviceStatusSeconds), silentFactor: settings.deviceSilentFactor),
            compactAfter: settings.compactAfterMinutes.map { .seconds($0 * 60) }, compactInterval: .seconds(settings.compactIntervalSeconds))
    }
}
