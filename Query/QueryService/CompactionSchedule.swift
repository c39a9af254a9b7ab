import Foundation
import Logging
import Metrics
import SensorModel
import ServiceLifecycle
import StorageCore
import StorageOperations

/// Runs compaction (docs/storage.md) every `interval` (the first one interval after start) in each database, as a service of the query process
/// beside retention: a connection of its own per pass, blocking work on a thread of its own, so reads and
/// ingestion never wait for it. Metrics: `compaction_readings_total`, `compaction_blocks_total` and
/// `compaction_bytes_total{stage="before"|"after"}`, per sensor type.
public struct CompactionSchedule: Service {
    public let placement: DatabasePlacement
    public let catalog: Catalog
    public let after: Duration
    public let interval: Duration
    public let metrics: any MetricsFactory
    public let logger: Logger

    public init(placement: DatabasePlacement, catalog: Catalog, after: Duration, interval: Duration, metrics: any MetricsFactory, logger: Logger) {
        self.placement = placement
        self.catalog = catalog
        self.after = after
        self.interval = interval
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        // The first pass one interval after start, not at it: a starting service has its migrations, its
        // cache and its first requests to see to, and old hours wait a few minutes more at no cost.
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        // Migrations once per database, not every pass: a migration's CREATE INDEX IF NOT EXISTS locks out the
        // writers of its table for a moment even when the index is there.
        var migrated = Set<String>()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            for url in placement.urls {
                do {
                    for outcome in try await Self.runOnce(
                        databaseURL: url, sensors: placement.sensors(catalog.sensors, at: url), after: after, pause: Self.pause,
                        migrate: !migrated.contains(url)) {
                        record(outcome)
                    }
                    migrated.insert(url)
                } catch {
                    logger.warning("compaction failed, will retry next interval: \(error)")
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// The schedule works a tenth of the time (`Compaction.run`'s pause: it rests nine times as long as each
    /// transaction took) and still compacts over 40,000 readings a second, a day of 10,000 devices at one
    /// reading per 10 s in about half an hour; a writer storing as fast as it can stored 0–9 % less while it
    /// worked through a backlog (a quarter of the time: 12–16 %; docs/benchmarks/2026-12-compaction.md).
    public static let pause = 9.0

    /// One pass over `sensors` in one database (what `telemetry compact` runs too, without pauses).
    public static func runOnce(
        databaseURL: String, sensors: [SensorType], after: Duration, pause: Double = 0, migrate: Bool = true, now: Int64? = nil
    ) async throws -> [Compaction.Outcome] {
        try await Blocking.run("compaction") {
            let connection = try StoreConnection(url: databaseURL, connectTimeoutSeconds: 5)
            if migrate { try Schema.migrate(connection, sensors: sensors) }
            let clock = now ?? Int64(Date().timeIntervalSince1970 * 1_000_000)
            return try sensors.map { sensor throws(StoreError) in try Compaction.run(sensor: sensor, now: clock, after: after, pause: pause, on: connection) }
        }
    }

    private func record(_ outcome: Compaction.Outcome) {
        for damage in outcome.damaged { logger.warning("compaction \(outcome.sensor): left in the heap, \(damage)") }
        for kept in outcome.keptInHeap { logger.warning("compaction \(outcome.sensor): left in the heap, \(kept)") }
        guard outcome.readings > 0 || !outcome.droppedPartitions.isEmpty else { return }
        let sensor = [("sensor", outcome.sensor)]
        Counter(label: "compaction_readings_total", dimensions: sensor, factory: metrics).increment(by: outcome.readings)
        Counter(label: "compaction_blocks_total", dimensions: sensor, factory: metrics).increment(by: outcome.blocks)
        Counter(label: "compaction_bytes_total", dimensions: sensor + [("stage", "before")], factory: metrics).increment(by: outcome.bytesBefore)
        Counter(label: "compaction_bytes_total", dimensions: sensor + [("stage", "after")], factory: metrics).increment(by: outcome.bytesAfter)
        logger.info("compaction \(outcome.sensor): \(outcome.readings) readings into \(outcome.blocks) blocks, \(outcome.bytesBefore) → \(outcome.bytesAfter) bytes; dropped \(outcome.droppedPartitions)")
    }
}
