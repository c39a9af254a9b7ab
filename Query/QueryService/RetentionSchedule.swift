import Foundation
import Logging
import SensorModel
import ServiceLifecycle
import StorageCore
import StorageOperations

/// Runs the retention policy at start and then every `interval`, as a service of the query process, in
/// each database: the catalog's retention settings for the sensor types placed there, the age limits of
/// the tables every database has (dead letters, services' status rows, reading counts), and the dead-letter
/// quota. It uses a connection of its own (not the read pool), opened per run, so an absent database
/// costs one warning per interval.
public struct RetentionSchedule: Service {
    /// What the schedule applies besides the catalog's settings.
    public struct Limits: Sendable {
        public var deadLetterAge: Duration
        public var deadLetterQuotaPerHour: Int

        public init(deadLetterAge: Duration = .seconds(30 * 86_400), deadLetterQuotaPerHour: Int = DeadLetterQuota.defaultPerHour) {
            self.deadLetterAge = deadLetterAge
            self.deadLetterQuotaPerHour = deadLetterQuotaPerHour
        }
    }

    public let placement: DatabasePlacement
    public let catalog: Catalog
    public let interval: Duration
    public let limits: Limits
    public let logger: Logger

    public init(placement: DatabasePlacement, catalog: Catalog, interval: Duration, limits: Limits = Limits(), logger: Logger) {
        self.placement = placement
        self.catalog = catalog
        self.interval = interval
        self.limits = limits
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                for url in placement.urls {
                    let pass = try await Self.runOnce(databaseURL: url, sensors: placement.sensors(catalog.sensors, at: url), limits: limits)
                    for outcome in pass.outcomes where !outcome.isEmpty {
                        logger.info("retention \(outcome.sensor): dropped \(outcome.droppedPartitions.count) partitions \(outcome.droppedPartitions), deleted \(outcome.deletedRollup1m) 1m and \(outcome.deletedRollup1h) 1h rollup rows")
                    }
                    if !pass.pruned.isEmpty {
                        logger.info("retention: deleted \(pass.pruned.deadLetters) dead letters and the status of \(pass.pruned.goneServices) services gone")
                    }
                }
            } catch {
                logger.warning("retention failed, will retry next interval: \(error)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass over the catalog in one database, blocking work on a thread of its own.
    public static func runOnce(
        databaseURL: String, catalog: Catalog, limits: Limits = Limits(), now: Int64? = nil
    ) async throws -> (outcomes: [RetentionPolicy.Outcome], pruned: RetentionPolicy.Pruned) {
        try await runOnce(databaseURL: databaseURL, sensors: catalog.sensors, limits: limits, now: now)
    }

    static func runOnce(
        databaseURL: String, sensors: [SensorType], limits: Limits, now: Int64? = nil
    ) async throws -> (outcomes: [RetentionPolicy.Outcome], pruned: RetentionPolicy.Pruned) {
        try await Blocking.run("retention") {
            let connection = try StoreConnection(url: databaseURL, connectTimeoutSeconds: 5)
            try Schema.migrate(connection, sensors: sensors)
            try DeadLetterQuota.set(perHour: limits.deadLetterQuotaPerHour, on: connection)
            let clock = now ?? Int64(Date().timeIntervalSince1970 * 1_000_000)
            let outcomes = try sensors.map { sensor throws(StoreError) in try RetentionPolicy.apply(sensor: sensor, now: clock, on: connection) }
            return (outcomes, try RetentionPolicy.prune(now: clock, deadLetterAge: limits.deadLetterAge, on: connection))
        }
    }
}
