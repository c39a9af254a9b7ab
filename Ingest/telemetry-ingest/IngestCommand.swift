import ArgumentParser
import Foundation
import Hummingbird
import IngestService
import Logging
import Metrics
import Prometheus
import SensorModel
import ServiceLifecycle
import Settings

@main
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "telemetry-ingest",
        abstract: "Subscribes to a sensor type's MQTT topics and stores its readings in PostgreSQL.",
        discussion: """
            Settings come from config/telemetry.json (or the file TELEMETRY_CONFIG names), each overridable by an
            environment variable: TELEMETRY_MQTT_URL, TELEMETRY_DATABASE_URL, TELEMETRY_CATALOG, TELEMETRY_JOURNAL_DIR,
            TELEMETRY_JOURNAL_FSYNC (never | interval | <N>ms | always), TELEMETRY_BATCH_MESSAGES,
            TELEMETRY_QUEUE_MESSAGES, TELEMETRY_QUEUE_BYTES, TELEMETRY_INSTANCE, TELEMETRY_METRICS_PORT (Prometheus text
            on GET /metrics; 0 picks a free port; bound to TELEMETRY_METRICS_HOST, default 127.0.0.1),
            TELEMETRY_SHARED_SUBSCRIPTION (true: subscribe via $share/ingest-<sensor>/..., see docs on delivery),
            TELEMETRY_LOG_LEVEL (README, "Settings", lists them all).
            SIGTERM or SIGINT: stop taking messages, store what was received, exit 0.
            """)

    @Option(name: .long, help: "A sensor type from the catalog; repeat for several in one process.")
    var sensor: [String] = []

    @Flag(name: .long, help: "Ingest every sensor type of the catalog in this process.")
    var all = false

    @Flag(name: .long, help: ArgumentHelp(
        "Run the catch-all (alone, or beside --sensor/--all): subscribe to telemetry/# and dead-letter every topic whose sensor type is not in the catalog.",
        discussion: "It receives every message once more (those of the catalog's sensor types are acknowledged and dropped). Run one per broker; replicas only with TELEMETRY_SHARED_SUBSCRIPTION=true."))
    var unrouted = false

    @Option(name: .long, help: "Instance name for replicas of one sensor type (stable MQTT client id and journal).")
    var instance: String?

    func validate() throws {
        if sensor.isEmpty && !all && !unrouted { throw ValidationError("name a sensor type with --sensor <name>, or use --all or --unrouted") }
        if !sensor.isEmpty && all { throw ValidationError("use either --sensor or --all") }
    }

    func run() async throws {
        let platform: PlatformSettings
        let settings: IngestSettings
        do {
            platform = try await PlatformSettings.load()
            settings = try IngestSettings(platform: platform, sensorNames: all ? nil : sensor, unrouted: unrouted, instance: instance)
        } catch {
            FileHandle.standardError.write(Data("telemetry-ingest: \(error)\n".utf8))
            throw ExitCode(2)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: platform.logLevel) ?? .info
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "telemetry-ingest")
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: IngestService(settings: settings, logger: logger))]
        if let port = settings.metricsPort {
            services.append(.init(service: MetricsServer.make(host: settings.metricsHost, port: port, registry: registry, logger: logger)))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
