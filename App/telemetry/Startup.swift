import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import SensorModel
import Settings

/// What every subcommand does first: read the settings (a wrong one exits 2 with one line naming it; a
/// `TELEMETRY_*` variable that is no setting gets a warning),
/// then set up logging at the configured level and Prometheus metrics.
enum Startup {
    static func settings<T>(
        _ command: String, environment: [String: String] = ProcessInfo.processInfo.environment, then build: (PlatformSettings) throws -> T
    ) async throws -> (PlatformSettings, T) {
        tuneAllocator()
        do {
            let platform = try await PlatformSettings.load(environment: environment)
            for (variable, closest) in PlatformSettings.unknownVariables(in: environment) {
                let hint = closest.map { " (did you mean \($0)?)" } ?? ""
                FileHandle.standardError.write(Data("telemetry \(command): warning: \(variable) is not a setting\(hint); ignored\n".utf8))
            }
            do {
                return (platform, try build(platform))
            } catch let error as CatalogError where error.field == nil {
                // Say where the folder came from and how to point at another.
                FileHandle.standardError.write(Data("""
                    telemetry \(command): \(error) (the setting catalog, from \(platform.sources["catalog"] ?? "its default"), relative to \(FileManager.default.currentDirectoryPath)); \
                    run from the repository's root, or set TELEMETRY_CATALOG or TELEMETRY_CONFIG (a file's relative paths are its project's)\n
                    """.utf8))
                throw ExitCode(2)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("telemetry \(command): \(error)\n".utf8))
            throw ExitCode(2)
        }
    }

    /// glibc's malloc raises its mmap threshold to the largest block freed (up to 32 MiB), after which
    /// payload-sized buffers (up to the broker's 1 MiB) come from per-thread arenas and stay there: a
    /// service that had handled a few hundred large messages kept ~250 MiB (LargePayloadMemoryTests). A
    /// fixed threshold returns such buffers to the system when freed; fewer arenas bound the rest.
    static func tuneAllocator() {
        #if os(Linux)
        _ = glibcMallopt(-3, 128 << 10)  // M_MMAP_THRESHOLD (malloc.h, which Swift's Glibc module leaves out)
        _ = glibcMallopt(-8, 4)  // M_ARENA_MAX
        #endif
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

#if os(Linux)
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
