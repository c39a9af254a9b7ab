import Foundation

/// Every setting of the platform, read once at start-up by `load`: from the JSON file that
/// `TELEMETRY_CONFIG` names (default config/telemetry.json, optional), each key overridden by its
/// `TELEMETRY_*` variable. The services take what they need from here; nothing else reads settings.
public struct PlatformSettings: Sendable {
    public var mqttURL: String
    /// The CA that signed the broker's certificate, for `mqtts://` URLs (nil: the system's CAs).
    public var mqttCAFile: String?
    public var databaseURL: String
    /// Sensor type name → the libpq URL of the database that holds its tables (the rest: `databaseURL`).
    public var sensorDatabaseURLs: [String: String]
    public var catalogDirectory: String
    public var logLevel: String
    public var httpHost: String
    public var httpPort: Int
    public var apiTokens: [String]
    public var adminTokens: [String]
    public var readPoolSize: Int
    public var standbyReads: Bool
    public var rollupCacheMB: Int
    public var retentionIntervalSeconds: Int
    /// nil: no compaction.
    public var compactAfterMinutes: Int?
    /// Ten years: what `compact_after_minutes` and `telemetry compact --after-minutes` take at most.
    public static let compactAfterMinutesLimit = 5_256_000
    public var compactIntervalSeconds: Int
    public var deadLetterRetentionDays: Int
    public var deadLetterQuotaPerHour: Int
    public var deviceSilentFactor: Int
    public var deviceStatusSeconds: Int
    public var journalDirectory: String
    public var journalFsync: String
    public var batchMessages: Int
    public var batchLingerMilliseconds: Int
    public var queueMessages: Int
    public var queueBytes: Int
    public var instance: String
    public var sharedSubscription: Bool
    public var mqttKeepAliveSeconds: Int
    public var stallSeconds: Int
    public var readingMaxAgeDays: Int?
    public var readingMaxAheadSeconds: Int
    public var metricsPort: Int?
    public var metricsHost: String
    /// The password of the services' broker accounts (`ingest-<sensor>`, `ingest-unrouted`); nil: none.
    public var servicePassword: String?
    public var brokerPasswordFile: String
    public var brokerACLFile: String
    public var brokerServicePasswordFile: String
    public var brokerServiceACLFile: String
    public var brokerPIDFile: String
    /// The certificate listener's CRL; nil: none.
    public var brokerCRLFile: String?
    public var deviceCAFile: String
    public var deviceCAKeyFile: String
    /// Where each value that was set came from (`TELEMETRY_HTTP_PORT`, `config/telemetry.json: http_port`),
    /// for error messages of later checks.
    public var sources: [String: String]
    /// The keys `load` read: every one of `PlatformSettings.all` (a test holds it to that).
    public let keysRead: Set<String>

    public static let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Reads and checks every setting. Throws the first wrong one; an unknown key in the file is wrong too.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) async throws(SettingsError) -> PlatformSettings {
        var reader = try await SettingsReader(environment: environment)
        return try PlatformSettings(reader: &reader)
    }

    init(reader: inout SettingsReader) throws(SettingsError) {
        mqttURL = try reader.string("mqtt_url")
        mqttCAFile = try reader.optionalPath("mqtt_ca_file")
        databaseURL = try reader.string("database_url")
        guard Self.isDatabaseURL(databaseURL) else {
            throw SettingsError(setting: reader.source("database_url"), message: "must be a libpq URL like postgresql://user@host:port/db")
        }
        sensorDatabaseURLs = [:]
        for pair in try reader.list("sensor_database_urls") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, Self.isDatabaseURL(parts[1]), sensorDatabaseURLs[parts[0]] == nil else {
                throw SettingsError(setting: reader.source("sensor_database_urls"), message: "must be sensor=postgresql://... pairs, each sensor type once, got '\(pair)'")
            }
            sensorDatabaseURLs[parts[0]] = parts[1]
        }
        catalogDirectory = try reader.path("catalog")
        logLevel = try reader.string("log_level")
        guard Self.levels.contains(logLevel) else {
            throw SettingsError(setting: reader.source("log_level"), message: "must be one of \(Self.levels.joined(separator: ", ")), got '\(logLevel)'")
        }
        httpHost = try reader.string("http_host")
        guard !httpHost.isEmpty else { throw SettingsError(setting: reader.source("http_host"), message: "must not be empty") }
        httpPort = try reader.integer("http_port", in: 0...65535)
        apiTokens = try reader.list("api_tokens")
        adminTokens = try reader.list("admin_tokens")
        readPoolSize = try reader.integer("read_pool_size", in: 1...64)
        standbyReads = try reader.bool("standby_reads")
        rollupCacheMB = try reader.integer("rollup_cache_mb", in: 0...1_048_576)
        retentionIntervalSeconds = try reader.integer("retention_interval_seconds", in: 1...604_800)
        compactAfterMinutes = try reader.integerOrNone("compact_after_minutes", in: 0...PlatformSettings.compactAfterMinutesLimit)
        compactIntervalSeconds = try reader.integer("compact_interval_seconds", in: 1...86_400)
        deadLetterRetentionDays = try reader.integer("dead_letter_retention_days", in: 1...36_500)
        deadLetterQuotaPerHour = try reader.integer("dead_letter_quota_per_hour", in: 1...100_000_000)
        deviceSilentFactor = try reader.integer("device_silent_factor", in: 2...1000)
        deviceStatusSeconds = try reader.integer("device_status_seconds", in: 1...3600)
        journalDirectory = try reader.path("journal_dir")
        journalFsync = try reader.string("journal_fsync")
        batchMessages = try reader.integer("batch_messages", in: 1...100_000)
        batchLingerMilliseconds = try reader.integer("batch_linger_ms", in: 0...1000)
        queueMessages = try reader.integer("queue_messages", in: 1...10_000_000)
        queueBytes = try reader.integer("queue_bytes", in: 1024...(1 << 34))
        instance = try reader.string("instance")
        guard !instance.isEmpty, instance.utf8.allSatisfy({ Self.isInstanceByte($0) }) else {
            throw SettingsError(setting: reader.source("instance"), message: "must be letters, digits and -, got '\(instance)'")
        }
        sharedSubscription = try reader.bool("shared_subscription")
        mqttKeepAliveSeconds = try reader.integer("mqtt_keepalive_seconds", in: 5...65_535)
        stallSeconds = try reader.integer("stall_seconds", in: 1...86_400)
        readingMaxAgeDays = try reader.optionalInteger("reading_max_age_days", in: 1...36_500)
        readingMaxAheadSeconds = try reader.integer("reading_max_ahead_seconds", in: 0...31_536_000)
        metricsPort = try reader.optionalInteger("metrics_port", in: 0...65535)
        metricsHost = try reader.string("metrics_host")
        servicePassword = try reader.optionalString("service_password")
        if let servicePassword, servicePassword.isEmpty || servicePassword.contains(":") {
            throw SettingsError(setting: reader.source("service_password"), message: "must be a non-empty password without ':'")
        }
        brokerPasswordFile = try reader.path("broker_password_file")
        brokerACLFile = try reader.path("broker_acl_file")
        brokerServicePasswordFile = try reader.path("broker_service_password_file")
        brokerServiceACLFile = try reader.path("broker_service_acl_file")
        brokerPIDFile = try reader.path("broker_pid_file")
        brokerCRLFile = try reader.optionalPath("broker_crl_file")
        deviceCAFile = try reader.path("device_ca_file")
        deviceCAKeyFile = try reader.path("device_ca_key_file")
        sources = reader.sources
        keysRead = reader.keysRead
    }

    /// Where `key`'s value came from, or its variable when it was not set.
    public func source(_ key: String) -> String { sources[key] ?? Setting.variable(of: key) }

    /// A libpq URL, or a key=value connection string.
    static func isDatabaseURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") || text.contains("=")
    }

    /// `localhost`, `::1`, or an IPv4 address in 127.0.0.0/8 written as one (not a name that starts with "127."):
    /// where a service may serve without tokens.
    /// The bearer tokens an ingest or broker-sync metrics endpoint takes (`api_tokens` and `admin_tokens`);
    /// none is allowed only on a loopback address.
    public func metricsTokens() throws(SettingsError) -> [String] {
        let tokens = apiTokens + adminTokens
        if metricsPort != nil && tokens.isEmpty && !Self.isLoopback(metricsHost) {
            throw SettingsError(
                setting: source("api_tokens"), message: "no API tokens set: the metrics endpoint serves without auth only on a loopback address, not on \(metricsHost)")
        }
        return tokens
    }

    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCII) && UInt8(part) != nil }
    }

    /// Letters, digits and `-`: what an instance name (in a client id and a folder name) may hold.
    public static func isInstanceByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
    }
}
