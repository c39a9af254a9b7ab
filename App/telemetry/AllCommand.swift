import ArgumentParser
import Hummingbird
import IngestService
import Logging
import QueryService
import ServiceLifecycle
import Settings

/// `telemetry all`: the monolith. Every sensor type's pipeline, the catch-all, the query service and
/// retention in one process: the same code and journal rules as the microservices, one HTTP port
/// (http_port) whose /readyz covers ingest too and whose /metrics carries both.
struct AllCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all",
        abstract: "Runs the whole platform (but the broker and PostgreSQL) in this one process.")

    @OptionGroup var listen: ListenOptions

    func run() async throws {
        let (platform, (ingestSettings, querySettings)) = try await Startup.settings("all", environment: listen.environment) { platform in
            (try IngestSettings(platform: platform, sensorNames: nil, unrouted: true), try QuerySettings(platform: platform))
        }
        let registry = Startup.bootstrap(level: platform.logLevel)
        let logger = Logger(label: "telemetry-all")
        let ingest = IngestService(settings: ingestSettings, logger: logger)
        let query = buildApplication(settings: querySettings, registry: registry, logger: logger, alsoReady: { await ingest.isReady() })
        try await ServiceGroup(configuration: .init(
            services: [.init(service: ingest), .init(service: query)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)).run()
    }
}
