import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import QueryService

@main
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "telemetry-query",
        abstract: "Serves stored readings, aggregates and dead letters over REST (see /openapi.yaml).",
        discussion: """
            Settings come from config/telemetry.json (or the file TELEMETRY_CONFIG names), each overridable by an
            environment variable: TELEMETRY_DATABASE_URL, TELEMETRY_HTTP_HOST, TELEMETRY_HTTP_PORT,
            TELEMETRY_API_TOKENS (comma-separated bearer tokens; without any the service only listens on loopback),
            TELEMETRY_CATALOG, TELEMETRY_READ_POOL_SIZE.
            """)

    @Option(name: .long, help: "Listen on this host instead of TELEMETRY_HTTP_HOST.")
    var host: String?

    @Option(name: .long, help: "Listen on this port instead of TELEMETRY_HTTP_PORT.")
    var port: Int?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["TELEMETRY_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var environment = ProcessInfo.processInfo.environment
        if let host { environment["TELEMETRY_HTTP_HOST"] = host }
        if let port { environment["TELEMETRY_HTTP_PORT"] = String(port) }
        let settings: QuerySettings
        do {
            settings = try QuerySettings.load(environment: environment)
        } catch {
            FileHandle.standardError.write(Data("telemetry-query: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let logger = Logger(label: "telemetry-query")
        let app = buildApplication(settings: settings, registry: registry, logger: logger)
        // Retention runs here (hourly) as well as wherever ingest runs it: dropping is idempotent.
        let retention = Task {
            await RetentionSchedule.run(databaseURL: settings.databaseURL, catalog: settings.catalog, logger: logger)
        }
        defer { retention.cancel() }
        try await app.runService()
    }
}
