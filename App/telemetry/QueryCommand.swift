import ArgumentParser
import Hummingbird
import Logging
import QueryService
import Settings

/// `telemetry query`: the REST service over what is stored.
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Serves stored readings, aggregates and dead letters over REST (see /openapi.yaml); runs retention.")

    @OptionGroup var listen: ListenOptions

    func run() async throws {
        let (platform, settings) = try await Startup.settings("query", environment: listen.environment) { try QuerySettings(platform: $0) }
        let registry = Startup.bootstrap(level: platform.logLevel)
        try await buildApplication(settings: settings, registry: registry, logger: Logger(label: "telemetry-query")).runService()
    }
}
