import Foundation
import Logging
import SensorModel
import ServiceLifecycle
import TelemetryStore

/// Runs the catalog's retention policy at start and then every `interval`, as a service of the query
/// process, in each database for the sensor types placed there. It uses a connection of its own (not the
/// read pool), opened per run, so an absent database costs one warning per interval.
public struct RetentionSchedule: Service {
    public let placement: DatabasePlacement
    public let catalog: Catalog
    public let interval: Duration
    public let logger: Logger

    public init(placement: DatabasePlacement, catalog: Catalog, interval: Duration, logger: Logger) {
        self.placement = placement
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
                var outcomes: [RetentionPolicy.Outcome] = []
                for url in placement.urls {
                    outcomes += try await Self.runOnce(databaseURL: url, sensors: placement.sensors(catalog.sensors, at: url))
                }
                for outcome in outcomes where !outcome.isEmpty {
                    logger.info("retention \(outcome.sensor): dropped \(outcome.droppedPartitions.count) partitions \(outcome.droppedPartitions), deleted \(outcome.deletedRollup1m) 1m and \(outcome.deletedRollup1h) 1h rollup rows")
                }
            } catch {
                logger.warning("retention failed, will retry next interval: \(error)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass over the catalog in one database, blocking work on a thread of its own.
    public static func runOnce(databaseURL: String, catalog: Catalog, now: Int64? = nil) async throws -> [RetentionPolicy.Outcome] {
        try await runOnce(databaseURL: databaseURL, sensors: catalog.sensors, now: now)
    }

    static func runOnce(databaseURL: String, sensors: [SensorType], now: Int64? = nil) async throws -> [RetentionPolicy.Outcome] {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result {
                    let connection = try StoreConnection(url: databaseURL, connectTimeoutSeconds: 5)
                    try Schema.migrate(connection, sensors: sensors)
                    let clock = now ?? Int64(Date().timeIntervalSince1970 * 1_000_000)
                    return try sensors.map { sensor throws(StoreError) in try RetentionPolicy.apply(sensor: sensor, now: clock, on: connection) }
                })
            }.start()
        }
    }
}
