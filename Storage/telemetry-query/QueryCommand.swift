import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import QueryService
import Settings

@main
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "telemetry-query",
        abstract: "Serves stored readings, aggregates and dead letters over REST (see /openapi.yaml).",
        discussion: """
            Settings come from config/telemetry.json (or the file TELEMETRY_CONFIG names), each overridable by an
            environment variable: TELEMETRY_DATABASE_URL, TELEMETRY_HTTP_HOST, TELEMETRY_HTTP_PORT,
            TELEMETRY_API_TOKENS (comma-separated bearer tokens; without any the service only listens on loopback),
            TELEMETRY_CATALOG, TELEMETRY_READ_POOL_SIZE, TELEMETRY_ROLLUP_CACHE_MB, TELEMETRY_RETENTION_INTERVAL_SECONDS,
            TELEMETRY_LOG_LEVEL (README, "Settings", lists them all). SIGTERM or SIGINT: finish requests, exit 0.
            """)

    @Option(name: .long, help: "Listen on this host instead of TELEMETRY_HTTP_HOST.")
    var host: String?

    @Option(name: .long, help: "Listen on this port instead of TELEMETRY_HTTP_PORT.")
    var port: Int?

    func run() async throws {
        var environment = ProcessInfo.processInfo.environment
        if let host { environment["TELEMETRY_HTTP_HOST"] = host }
        if let port { environment["TELEMETRY_HTTP_PORT"] = String(port) }
        let platform: PlatformSettings
        let settings: QuerySettings
        do {
            platform = try await PlatformSettings.load(environment: environment)
            settings = try QuerySettings(platform: platform)
        } catch {
            FileHandle.standardError.write(Data("telemetry-query: \(error)\n".utf8))
            throw ExitCode(2)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: platform.logLevel) ?? .info
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "telemetry-query")
        let app = buildApplication(settings: settings, registry: registry, logger: logger)
        try await app.runService()
    }
}
