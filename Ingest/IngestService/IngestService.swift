import Foundation
import Logging
import SensorModel
import ServiceLifecycle
import StorageCore
import Synchronization

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
        running = Running(health: Self.databases(settings).map { ReadPool(url: $0, size: 1, acquireTimeout: 2) })
    }

    /// Ready: every pipeline is subscribed and not stalled, and every database it writes to answers (a round trip on a
    /// connection of its own, so a probe never waits behind a batch).
    public func isReady() async -> Bool {
        let pipelines = running.pipelines.withLock { $0 }
        guard !pipelines.isEmpty, pipelines.allSatisfy({ $0.isSubscribed && $0.stallReason == nil }) else { return false }
        for pool in running.health {
            guard (try? await pool.withConnection({ connection in try connection.ping() })) != nil else { return false }
        }
        return true
    }

    /// The pipelines while they run, for `isReady`.
    private final class Running: Sendable {
        let pipelines = Mutex<[SensorPipeline]>([])
        let health: [ReadPool]

        init(health: [ReadPool]) { self.health = health }
    }

    /// The databases this process writes to: its sensor types' (`placement`), and the default one for the
    /// catch-all's dead letters.
    static func databases(_ settings: IngestSettings) -> [String] {
        let urls = Set(settings.sensors.map { settings.placement.url(for: $0.name) } + (settings.unrouted ? [settings.databaseURL] : []))
        return settings.placement.urls.filter(urls.contains)
    }

    public func run() async throws {
        // The health pools run for as long as this does: the final status row goes through them after shutdown.
        try await Self.whileRunning(running.health[...]) { try await runPipelines() }
    }

    private static func whileRunning(_ pools: ArraySlice<ReadPool>, _ body: () async throws -> Void) async throws {
        guard let pool = pools.first else { return try await body() }
        try await pool.whileRunning { try await whileRunning(pools.dropFirst(), body) }
    }

    private func runPipelines() async throws {
        let settings = self.settings
        let logger = self.logger
        let placement = settings.placement
        // One maintenance connection per database, then one per pipeline in its sensor type's database.
        let databases = Self.databases(settings)
        var pipelines = try settings.sensors.map { try SensorPipeline(sensor: $0, settings: settings, logger: logger) }
        if settings.unrouted {
            pipelines.append(try SensorPipeline(unroutedFrom: settings.catalog, settings: settings, logger: logger))
        }
        let pipelineURLs = pipelines.map { $0.isUnrouted ? placement.defaultURL : placement.url(for: $0.sensor.name) }
        let connections = try await connectAll(databases + pipelineURLs)
        let maintenance = Array(zip(databases, connections))
        try await Blocking.run("migrate") {
            for (url, connection) in maintenance {
                // Each database gets the common tables and those of the catalog's sensor types placed there.
                try Schema.migrate(connection, sensors: placement.sensors(settings.catalog.sensors, at: url))
                for sensor in placement.sensors(settings.sensors, at: url) {
                    try Partitions(sensor: sensor).ensureAhead(now: SensorPipeline.nowMicros(), on: connection)
                }
            }
        }
        for (pipeline, connection) in zip(pipelines, connections.dropFirst(databases.count)) {
            try await Blocking.run("start-\(pipeline.name)") { try pipeline.start(connection: connection) }
            let what = pipeline.isUnrouted ? "dead-lettering topics of no sensor type in the catalog" : "ingesting \(pipeline.name)"
            logger.info("\(what) from \(pipeline.subscriptions.joined(separator: ", ")) as \(pipeline.clientID)")
        }
        let running = pipelines
        self.running.pipelines.withLock { $0 = running }
        let reporter = StatusReporter(
            pipelines: zip(pipelines, pipelineURLs).map { (pipeline: $0.0, url: $0.1) }, pools: Dictionary(uniqueKeysWithValues: zip(databases, self.running.health)),
            metricsURL: settings.metricsPort.flatMap { $0 == 0 ? nil : "http://\(settings.metricsHost):\($0)/metrics" }, logger: logger)
        await withDiscardingTaskGroup { group in
            group.addTask { await reporter.run() }
            for (url, connection) in maintenance {
                let sensors = placement.sensors(settings.sensors, at: url)
                group.addTask { await Self.maintain(connection: connection, sensors: sensors, logger: logger) }
                let notified = running.filter { !$0.isUnrouted && placement.url(for: $0.sensor.name) == url }
                let notifier = AlertNotifier(url: url, pipelines: Dictionary(uniqueKeysWithValues: notified.map { ($0.sensor.name, $0) }), logger: logger)
                group.addTask { await notifier.run() }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        self.running.pipelines.withLock { $0 = [] }
        logger.info("stopping: no new messages; writing what was received")
        _ = try? await Blocking.run("stop") {
            for pipeline in running { pipeline.stop() }
        }
        await reporter.reportStopped()
        logger.info("stopped")
    }

    /// Connects, retrying with backoff while PostgreSQL is not there yet (the broker queues meanwhile).
    private func connectAll(_ urls: [String]) async throws -> [StoreConnection] {
        var delay = 0.2
        while true {
            do {
                return try await Blocking.run("connect") { try urls.map { url in try StoreConnection(url: url) } }
            } catch {
                try Task.checkCancellation()
                logger.warning("waiting for PostgreSQL: \(error)")
                try await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 5)
            }
        }
    }

    /// Keeps tomorrow's partitions made, once every ten minutes.
    static func maintain(connection: StoreConnection, sensors: [SensorType], logger: Logger) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(600))
            if Task.isCancelled { return }
            do {
                try await Blocking.run("maintenance") {
                    try connection.reconnectIfNeeded()
                    for sensor in sensors {
                        try Partitions(sensor: sensor).ensureAhead(now: SensorPipeline.nowMicros(), on: connection)
                    }
                }
            } catch {
                logger.warning("partition maintenance failed, will retry: \(error)")
            }
        }
    }
}
