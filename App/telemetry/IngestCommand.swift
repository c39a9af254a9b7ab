import ArgumentParser
import IngestService
import Logging
import ServiceLifecycle
import Settings

/// `telemetry ingest`: one sensor type's microservice (or several, or the catch-all).
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Subscribes to sensor types' MQTT topics and stores their readings in PostgreSQL.",
        discussion: """
            Serves /healthz, /readyz (subscribed and the database answers) and /metrics on metrics_port
            (TELEMETRY_METRICS_PORT; 0 picks a free port, logged) when it is set. See docs/delivery.md.
            """)

    @Option(name: .long, help: "A sensor type from the catalog; repeat for several in one process.")
    var sensor: [String] = []

    @Flag(name: .long, help: "Ingest every sensor type of the catalog in this process.")
    var all = false

    @Flag(name: .long, help: ArgumentHelp(
        "Run the catch-all (alone, or beside --sensor/--all): subscribe to telemetry/# and dead-letter every topic whose sensor type is not in the catalog.",
        discussion: "It receives every message once more (those of the catalog's sensor types are acknowledged and dropped). Run one per broker; replicas only with shared_subscription."))
    var unrouted = false

    @Option(name: .long, help: "Instance name for replicas of one sensor type (stable MQTT client id and journal).")
    var instance: String?

    func validate() throws {
        if sensor.isEmpty && !all && !unrouted { throw ValidationError("name a sensor type with --sensor <name>, or use --all or --unrouted") }
        if !sensor.isEmpty && all { throw ValidationError("use either --sensor or --all") }
    }

    func run() async throws {
        let (platform, settings) = try await Startup.settings("ingest") { platform in
            try IngestSettings(platform: platform, sensorNames: all ? nil : sensor, unrouted: unrouted, instance: instance)
        }
        let registry = Startup.bootstrap(level: platform.logLevel)
        let logger = Logger(label: "telemetry-ingest")
        let ingest = IngestService(settings: settings, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: ingest)]
        if let port = settings.metricsPort {
            services.append(.init(service: HealthServer.make(
                host: settings.metricsHost, port: port, tokens: settings.metricsTokens, ready: { await ingest.isReady() }, registry: registry,
                logger: logger)))
        }
        try await ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)).run()
    }
}
