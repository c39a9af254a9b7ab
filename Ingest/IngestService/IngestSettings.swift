import Foundation
import MQTT
import SensorModel
import Settings
import StorageCore

/// Everything one ingest process needs, validated before anything starts.
public struct IngestSettings: Sendable {
    public var mqtt: MQTTURL
    /// The default database, and the sensor types that have one of their own.
    public var placement: DatabasePlacement
    public var databaseURL: String { placement.defaultURL }
    public var catalog: Catalog
    public var sensors: [SensorType]
    /// Also run the catch-all (`--unrouted`): subscribes to `telemetry/#` and dead-letters what no sensor
    /// type of the catalog names. Every message reaches it once more; see docs/formats.md, "The catch-all for unknown sensor types".
    public var unrouted: Bool
    public var instance: String
    public var journalDirectory: String
    public var journalSync: Journal.Sync
    public var batchMessages: Int
    /// How long the writer waits for `batchMessages` once a first message is queued (`MessageQueue.take`).
    public var batchLinger: Duration
    public var queueMessages: Int
    public var queueBytes: Int
    /// Subscribe through `$share/ingest-<sensor>/...` so replicas split the load. Off by default:
    /// mosquitto 2.0.11 does not restore a `$share` subscription of an offline persistent session from its
    /// persistence file, so what is published after a broker restart and before the service reconnects is
    /// lost (plain subscriptions are restored and queued). Opt in with the `shared_subscription` setting.
    public var sharedSubscription: Bool
    /// A batch held this long without leaving the journal makes its pipeline stalled (`StallWatch`).
    public var stallAfter: Duration
    public var mqttKeepAliveSeconds: Int
    /// Reading times accepted, relative to the receive time (`ReadingTimeWindow`); max age nil: the
    /// sensor type's raw retention, or `ReadingTimeWindow.defaultMaxAge`.
    public var readingMaxAge: Duration?
    public var readingMaxAhead: Duration
    /// Serve `/healthz`, `/readyz` and `/metrics` here (0: any free port); nil: no endpoint.
    public var metricsPort: Int?
    public var metricsHost: String
    /// Bearer tokens `/metrics` takes (`api_tokens` and `admin_tokens`); none: it is open, which is allowed
    /// on loopback only, as for the query service.
    public var metricsTokens: [String]
    /// With it, each pipeline connects to the broker as its own service account (`ingest-<sensor>`,
    /// `ingest-unrouted`: read only, docs/identity.md) instead of the URL's user.
    public var servicePassword: String?

    public init(
        mqtt: MQTTURL, databaseURL: String, sensorDatabaseURLs: [String: String] = [:], catalog: Catalog, sensors: [SensorType], unrouted: Bool = false, instance: String = "0",
        journalDirectory: String, journalSync: Journal.Sync = .interval(.milliseconds(200)), batchMessages: Int = 2000, batchLinger: Duration = .milliseconds(20),
        queueMessages: Int = 20000, queueBytes: Int = 32 << 20, sharedSubscription: Bool = false, metricsPort: Int? = nil,
        metricsHost: String = "127.0.0.1", metricsTokens: [String] = [], servicePassword: String? = nil, stallAfter: Duration = .seconds(30),
        readingMaxAge: Duration? = nil, readingMaxAhead: Duration = .seconds(300), mqttKeepAliveSeconds: Int = 30
    ) {
        self.mqttKeepAliveSeconds = mqttKeepAliveSeconds
        self.stallAfter = stallAfter
        self.readingMaxAge = readingMaxAge
        self.readingMaxAhead = readingMaxAhead
        self.mqtt = mqtt
        self.placement = DatabasePlacement(defaultURL: databaseURL, bySensor: sensorDatabaseURLs)
        self.catalog = catalog
        self.sensors = sensors
        self.unrouted = unrouted
        self.instance = instance
        self.journalDirectory = journalDirectory
        self.journalSync = journalSync
        self.batchMessages = batchMessages
        self.batchLinger = batchLinger
        self.queueMessages = queueMessages
        self.queueBytes = queueBytes
        self.sharedSubscription = sharedSubscription
        self.metricsPort = metricsPort
        self.metricsHost = metricsHost
        self.metricsTokens = metricsTokens
        self.servicePassword = servicePassword
    }

    /// From the platform's settings (`PlatformSettings.load`); `sensorNames` nil means every sensor type of
    /// the catalog, empty none (then `unrouted` must be on). `instance` overrides the setting.
    public init(platform settings: PlatformSettings, sensorNames: [String]?, unrouted: Bool = false, instance: String? = nil) throws {
        var mqtt: MQTTURL
        do {
            mqtt = try MQTTURL(parsing: settings.mqttURL)
            mqtt.caFile = settings.mqttCAFile
        } catch {
            throw SettingsError(setting: settings.source("mqtt_url"), message: error.message)
        }
        let catalog = try Catalog.load(directory: settings.catalogDirectory)
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
        if let instance, instance.isEmpty || !instance.utf8.allSatisfy(PlatformSettings.isInstanceByte) {
            throw SettingsError(setting: "--instance", message: "must be letters, digits and -")
        }
        for name in settings.sensorDatabaseURLs.keys.sorted() where catalog[name] == nil {
            throw SettingsError(setting: settings.source("sensor_database_urls"), message: "names '\(name)', which is not a sensor type of the catalog")
        }
        let tokens = try settings.metricsTokens()
        guard let sync = Journal.Sync(setting: settings.journalFsync) else {
            throw SettingsError(setting: settings.source("journal_fsync"), message: "must be never, interval, <N>ms or always, got '\(settings.journalFsync)'")
        }
        self.init(
            mqtt: mqtt, databaseURL: settings.databaseURL, sensorDatabaseURLs: settings.sensorDatabaseURLs, catalog: catalog, sensors: sensors, unrouted: unrouted,
            instance: instance ?? settings.instance, journalDirectory: settings.journalDirectory, journalSync: sync,
            batchMessages: settings.batchMessages, batchLinger: .milliseconds(settings.batchLingerMilliseconds), queueMessages: settings.queueMessages, queueBytes: settings.queueBytes,
            sharedSubscription: settings.sharedSubscription, metricsPort: settings.metricsPort, metricsHost: settings.metricsHost,
            metricsTokens: tokens, servicePassword: settings.servicePassword, stallAfter: .seconds(settings.stallSeconds),
            readingMaxAge: settings.readingMaxAgeDays.map { .seconds($0 * 86_400) }, readingMaxAhead: .seconds(settings.readingMaxAheadSeconds),
            mqttKeepAliveSeconds: settings.mqttKeepAliveSeconds)
    }
}
