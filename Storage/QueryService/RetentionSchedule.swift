import Foundation
import Logging
import SensorModel
import ServiceLifecycle
import TelemetryStore

/// Runs the catalog's retention policy at start and then every `interval`, as a service of the query
/// process. It uses a connection of its own (not the read pool), opened per run, so an absent database
/// costs one warning per interval.
public struct RetentionSchedule: Service {
    public let databaseURL: String
    public let catalog: Catalog
    public let interval: Duration
    public let logger: Logger

    public init(databaseURL: String, catalog: Catalog, interval: Duration, logger: Logger) {
        self.databaseURL = databaseURL
        self.catalog = catalog
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        guard catalog.sensors.contains(where: { $0.retention != Retention() }) else {
            logger.info("retention: no sensor type has a retention setting; nothing to schedule")
            try? await gracefulShutdown()
            return
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let outcomes = try await Self.runOnce(databaseURL: databaseURL, catalog: catalog)
                for outcome in outcomes where !outcome.isEmpty {
                    logger.info("retention \(outcome.sensor): dropped \(outcome.droppedPartitions.count) partitions \(outcome.droppedPartitions), deleted \(outcome.deletedRollup1m) 1m and \(outcome.deletedRollup1h) 1h rollup rows")
                }
            } catch {
                logger.warning("retention failed, will retry next interval: \(error)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass over the catalog, blocking work on a thread of its own.
    public static func runOnce(databaseURL: String, catalog: Catalog, now: Int64? = nil) async throws -> [RetentionPolicy.Outcome] {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result {
                    let connection = try StoreConnection(url: databaseURL, connectTimeoutSeconds: 5)
                    try Schema.migrate(connection, catalog: catalog)
                    let clock = now ?? Int64(Date().timeIntervalSince1970 * 1_000_000)
                    return try RetentionPolicy.apply(catalog: catalog, now: clock, on: connection)
                })
            }
        }
    }
}
