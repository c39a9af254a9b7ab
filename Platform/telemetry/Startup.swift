import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import Settings

/// What every subcommand does first: read the settings (a wrong one exits 2 with one line naming it; a
/// `TELEMETRY_*` variable that is no setting gets a warning),
/// then set up logging at the configured level and Prometheus metrics.
enum Startup {
    static func settings<T>(
        _ command: String, environment: [String: String] = ProcessInfo.processInfo.environment, then build: (PlatformSettings) throws -> T
    ) async throws -> (PlatformSettings, T) {
        do {
            let platform = try await PlatformSettings.load(environment: environment)
            for (variable, closest) in PlatformSettings.unknownVariables(in: environment) {
                let hint = closest.map { " (did you mean \($0)?)" } ?? ""
                FileHandle.standardError.write(Data("telemetry \(command): warning: \(variable) is not a setting\(hint); ignored\n".utf8))
            }
            return (platform, try build(platform))
        } catch {
            FileHandle.standardError.write(Data("telemetry \(command): \(error)\n".utf8))
            throw ExitCode(2)
        }
    }

    /// Logging to stderr at `level`; metrics into the returned registry (what /metrics serves).
    static func bootstrap(level: String) -> PrometheusCollectorRegistry {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: level) ?? .info
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}
