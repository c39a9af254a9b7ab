import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TelemetryStore

/// The ingest process as a `Service`: waits for PostgreSQL, migrates the schema, runs one pipeline per
/// sensor type (and the catch-all for unrouted topics when asked), keeps partitions made ahead, and on
/// graceful shutdown flushes and stops.
public struct IngestService: Service {
    public let settings: IngestSettings
    public let logger: Logger
    private let running: Running

    public init(settings: IngestSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        running = Running(health: ReadPool(url: settings.databaseURL, size: 1, acquireTimeout: 2))
    }

    /// Ready: every pipeline is subscribed and the database answers (a round trip on a connection of
    /// its own, so a probe never waits behind a batch).
    public func isReady() async -> Bool {
        let pipelines = running.pipelines.withLock { $0 }
        guard !pipelines.isEmpty, pipelines.allSatisfy(\.isSubscribed) else { return false }
        return (try? await running.health.withConnection { connection in try connection.ping() }) != nil
    }

    /// The pipelines while they run, for `isReady`.
    private final class Running: Sendable {
        let pipelines = Mutex<[SensorPipeline]>([])
        let health: ReadPool

        init(health: ReadPool) { self.health = health }
    }

    public func run() async throws {
        let settings = self.settings
        let logger = self.logger
        let connections = try await connectAll(count: 1 + settings.sensors.count + (settings.unrouted ? 1 : 0))
        guard let maintenance = connections.first else { return }
        try await Blocking.run("migrate") {
            try Schema.migrate(maintenance, catalog: settings.catalog)
            for sensor in settings.sensors {
                try Partitions(sensor: sensor).ensureAhead(now: SensorPipeline.nowMicros(), on: maintenance)
            }
        }
        var pipelines = try settings.sensors.map { try SensorPipeline(sensor: $0, settings: settings, logger: logger) }
        if settings.unrouted {
            pipelines.append(try SensorPipeline(unroutedFrom: settings.catalog, settings: settings, logger: logger))
        }
        for (pipeline, connection) in zip(pipelines, connections.dropFirst()) {
            try await Blocking.run("start-\(pipeline.name)") { try pipeline.start(connection: connection) }
            let what = pipeline.isUnrouted ? "dead-lettering topics of no sensor type in the catalog" : "ingesting \(pipeline.name)"
            logger.info("\(what) from \(pipeline.subscriptions.joined(separator: ", ")) as \(pipeline.clientID)")
        }
        let running = pipelines
        self.running.pipelines.withLock { $0 = running }
        await withDiscardingTaskGroup { group in
            group.addTask {
                await Self.maintain(connection: maintenance, settings: settings, logger: logger)
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        self.running.pipelines.withLock { $0 = [] }
        logger.info("stopping: no new messages; writing what was received")
        _ = try? await Blocking.run("stop") {
            for pipeline in running { pipeline.stop() }
        }
        logger.info("stopped")
    }

    /// Connects, retrying with backoff while PostgreSQL is not there yet (the broker queues meanwhile).
    private func connectAll(count: Int) async throws -> [StoreConnection] {
        var delay = 0.2
        while true {
            do {
                let url = settings.databaseURL
                return try await Blocking.run("connect") { try (0..<count).map { _ in try StoreConnection(url: url) } }
            } catch {
                try Task.checkCancellation()
                logger.warning("waiting for PostgreSQL: \(error)")
                try await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 5)
            }
        }
    }

    /// Keeps tomorrow's partitions made, once every ten minutes.
    static func maintain(connection: StoreConnection, settings: IngestSettings, logger: Logger) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(600))
            if Task.isCancelled { return }
            do {
                try await Blocking.run("maintenance") {
                    try connection.reconnectIfNeeded()
                    for sensor in settings.sensors {
                        try Partitions(sensor: sensor).ensureAhead(now: SensorPipeline.nowMicros(), on: connection)
                    }
                }
            } catch {
                logger.warning("partition maintenance failed, will retry: \(error)")
            }
        }
    }
}
