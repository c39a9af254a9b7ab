import Foundation
import MQTT
import SensorModel

/// Everything one ingest process needs, validated before anything starts.
public struct IngestSettings: Sendable {
    public var mqtt: MQTTURL
    public var databaseURL: String
    public var catalog: Catalog
    public var sensors: [SensorType]
    /// Also run the catch-all (`--unrouted`): subscribes to `telemetry/#` and dead-letters what no sensor
    /// type of the catalog names. Every message reaches it once more; see README, "What is dead-lettered".
    public var unrouted: Bool
    public var instance: String
    public var journalDirectory: String
    public var journalSync: Journal.Sync
    public var batchMessages: Int
    public var queueMessages: Int
    public var queueBytes: Int
    /// Subscribe through `$share/ingest-<sensor>/...` so replicas split the load. Off by default:
    /// mosquitto 2.0.11 does not restore a `$share` subscription of an offline persistent session from its
    /// persistence file, so what is published after a broker restart and before the service reconnects is
    /// lost (plain subscriptions are restored and queued). Opt in with TELEMETRY_SHARED_SUBSCRIPTION=true.
    public var sharedSubscription: Bool
    /// Serve Prometheus text on `GET /metrics` here (0: any free port); nil: no endpoint.
    public var metricsPort: Int?
    public var metricsHost: String

    public init(
        mqtt: MQTTURL, databaseURL: String, catalog: Catalog, sensors: [SensorType], unrouted: Bool = false, instance: String = "0",
        journalDirectory: String, journalSync: Journal.Sync = .interval(.milliseconds(200)), batchMessages: Int = 2000,
        queueMessages: Int = 20000, queueBytes: Int = 32 << 20, sharedSubscription: Bool = false, metricsPort: Int? = nil,
        metricsHost: String = "127.0.0.1"
    ) {
        self.mqtt = mqtt
        self.databaseURL = databaseURL
        self.catalog = catalog
        self.sensors = sensors
        self.unrouted = unrouted
        self.instance = instance
        self.journalDirectory = journalDirectory
        self.journalSync = journalSync
        self.batchMessages = batchMessages
        self.queueMessages = queueMessages
        self.queueBytes = queueBytes
        self.sharedSubscription = sharedSubscription
        self.metricsPort = metricsPort
        self.metricsHost = metricsHost
    }

    /// From config/telemetry.json and TELEMETRY_* variables; `sensorNames` nil means every sensor type of the
    /// catalog, empty none (then `unrouted` must be on).
    public static func load(
        sensorNames: [String]?, unrouted: Bool = false, instance: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> IngestSettings {
        let settings = try PlatformSettings.load(environment: environment)
        let mqtt: MQTTURL
        do {
            mqtt = try MQTTURL(parsing: settings.string("mqtt_url", default: "mqtt://127.0.0.1:1883"))
        } catch {
            throw SettingsError(setting: settings.source("mqtt_url"), message: error.message)
        }
        let database = settings.string("database_url", default: "postgresql://postgres@127.0.0.1:5433/telemetry")
        guard database.hasPrefix("postgres://") || database.hasPrefix("postgresql://") || database.contains("=") else {
            throw SettingsError(setting: settings.source("database_url"), message: "must be a libpq URL like postgresql://user@host:port/db")
        }
        let catalog = try Catalog.load(directory: settings.string("catalog", default: "config/sensors"))
        var sensors: [SensorType] = []
        for name in sensorNames ?? [] {
            guard let sensor = catalog[name] else {
                throw SettingsError(setting: "--sensor", message: "unknown sensor type '\(name)' (catalog has \(catalog.sensors.map(\.name).joined(separator: ", ")))")
            }
            sensors.append(sensor)
        }
        if sensorNames == nil { sensors = catalog.sensors }
        if unrouted, catalog[SensorPipeline.unroutedName] != nil {
            throw SettingsError(
                setting: "--unrouted",
                message: "the catalog has a sensor type named '\(SensorPipeline.unroutedName)', whose client id and journal the catch-all's would share")
        }
        guard unrouted || !sensors.isEmpty else {
            throw SettingsError(setting: "--sensor", message: "name a sensor type, or use --all or --unrouted")
        }
        let instance = instance ?? settings.string("instance", default: "0")
        guard !instance.isEmpty, instance.utf8.allSatisfy({ $0 < 128 && (Character(UnicodeScalar($0)).isLetter || Character(UnicodeScalar($0)).isNumber || $0 == UInt8(ascii: "-")) }) else {
            throw SettingsError(setting: settings.source("instance"), message: "must be letters, digits and -")
        }
        let syncText = settings.string("journal_fsync", default: "interval")
        guard let sync = Journal.Sync(setting: syncText) else {
            throw SettingsError(setting: settings.source("journal_fsync"), message: "must be never, interval, <N>ms or always, got '\(syncText)'")
        }
        // Read from the environment only (PlatformSettings.keys knows no such file keys).
        let shared: Bool
        switch environment["TELEMETRY_SHARED_SUBSCRIPTION"]?.lowercased() ?? "false" {
        case "true", "1", "yes", "on": shared = true
        case "false", "0", "no", "off", "": shared = false
        case let other: throw SettingsError(setting: "TELEMETRY_SHARED_SUBSCRIPTION", message: "must be true or false, got '\(other)'")
        }
        let metricsPort = try settings.values["metrics_port"] == nil ? nil : settings.integer("metrics_port", default: 0, range: 0...65535)
        return IngestSettings(
            mqtt: mqtt, databaseURL: database, catalog: catalog, sensors: sensors, unrouted: unrouted, instance: instance,
            journalDirectory: settings.string("journal_dir", default: ".local/journal"), journalSync: sync,
            batchMessages: try settings.integer("batch_messages", default: 2000, range: 1...100_000),
            queueMessages: try settings.integer("queue_messages", default: 20_000, range: 1...10_000_000),
            queueBytes: try settings.integer("queue_bytes", default: 32 << 20, range: 1024...(1 << 34)),
            sharedSubscription: shared, metricsPort: metricsPort,
            metricsHost: environment["TELEMETRY_METRICS_HOST"] ?? "127.0.0.1")
    }
}
