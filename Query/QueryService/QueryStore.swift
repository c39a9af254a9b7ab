import Foundation
import Logging
import SensorModel
import ServiceLifecycle
import StorageCore
import StorageReader
import Synchronization

/// What every route needs: the catalog, and per database (the default one and those of sensor types
/// placed apart) a read pool and a rollup cache; and whether the schema is there.
public final class QueryStore: Sendable {
    public let catalog: Catalog
    public let placement: DatabasePlacement
    private let pools: [String: ReadPool]
    /// Per database, where `standbyReads` is on: a pool that prefers a standby, for `readHistory`.
    private let standbyPools: [String: ReadPool]
    private let caches: [String: RollupCache]
    /// Per database: the live streams of its sensor types' readings (its listener starts with the first stream).
    private let live: [String: LiveReadings]
    let logger: Logger
    private let schemaReady = Atomic<Bool>(false)

    /// One database.
    public convenience init(catalog: Catalog, pool: ReadPool, rollupCache: RollupCache? = nil, logger: Logger) {
        self.init(catalog: catalog, placement: DatabasePlacement(defaultURL: pool.url), pools: [pool.url: pool], standbyPools: [:],
                  caches: rollupCache.map { [pool.url: $0] } ?? [:], logger: logger)
    }

    /// - Parameters:
    ///   - cacheBytes: each database's rollup cache; 0 turns them off.
    ///   - standbyReads: history (`readHistory`) from a pool of its own per database that prefers a standby.
    public convenience init(catalog: Catalog, placement: DatabasePlacement, poolSize: Int, cacheBytes: Int, standbyReads: Bool = false, logger: Logger) {
        var pools: [String: ReadPool] = [:]
        var standbyPools: [String: ReadPool] = [:]
        var caches: [String: RollupCache] = [:]
        for url in placement.urls {
            pools[url] = ReadPool(url: url, size: poolSize)
            if standbyReads { standbyPools[url] = ReadPool(url: StandbyURL.preferringStandby(url), size: poolSize) }
            if cacheBytes > 0 { caches[url] = RollupCache(capacityBytes: cacheBytes) }
        }
        self.init(catalog: catalog, placement: placement, pools: pools, standbyPools: standbyPools, caches: caches, logger: logger)
    }

    private init(catalog: Catalog, placement: DatabasePlacement, pools: [String: ReadPool], standbyPools: [String: ReadPool],
                 caches: [String: RollupCache], logger: Logger) {
        self.catalog = catalog
        self.placement = placement
        self.pools = pools
        self.standbyPools = standbyPools
        self.caches = caches
        self.live = Dictionary(uniqueKeysWithValues: placement.urls.map { url in
            (url, LiveReadings(url: url, sensors: placement.sensors(catalog.sensors, at: url)))
        })
        self.logger = logger
    }

    /// What runs beside the server, per database: the read pool and the live streams' listener. Listed
    /// before the server so a graceful shutdown stops them after it.
    public var services: [any Service] {
        placement.urls.flatMap { url -> [any Service] in [pools[url]!, live[url]!] + (standbyPools[url].map { [$0] } ?? []) }
    }

    func liveReadings(for sensor: SensorType) -> LiveReadings { live[placement.url(for: sensor.name)]! }

    /// Every database's live streams.
    public var liveReadings: [LiveReadings] { placement.urls.compactMap { live[$0] } }

    /// The default database's pool and rollup cache (the only ones with one database).
    public var pool: ReadPool { pools[placement.defaultURL]! }
    public var rollupCache: RollupCache? { caches[placement.defaultURL] }
    /// Every rollup cache, one per database.
    public var rollupCaches: [RollupCache] { placement.urls.compactMap { caches[$0] } }

    func rollupCache(for sensor: SensorType) -> RollupCache? { caches[placement.url(for: sensor.name)] }

    func sensor(_ name: String) throws -> SensorType {
        guard let sensor = catalog[name] else {
            throw APIError.notFound("unknown sensor type '\(name.prefix(64))'; GET /v1/sensors lists them")
        }
        return sensor
    }

    /// Runs blocking database work in the database that holds `sensor`'s tables.
    func read<T: Sendable>(for sensor: SensorType, _ body: @escaping @Sendable (StoreConnection) throws -> T) async throws -> T {
        try await read(at: placement.url(for: sensor.name), body)
    }

    /// The same for reads of what was stored, where a standby's view (behind the primary by its replay lag,
    /// usually milliseconds) is as good: readings, aggregates, dead letters. From a standby with
    /// `standby_reads` (docs/high-availability.md), else like `read`. Nothing that writes, and nothing a
    /// client reads right after writing it (rules, credentials, alerts, device settings) comes here.
    func readHistory<T: Sendable>(for sensor: SensorType, _ body: @escaping @Sendable (StoreConnection) throws -> T) async throws -> T {
        try await readHistory(at: placement.url(for: sensor.name), body)
    }

    func readHistory<T: Sendable>(at url: String, _ body: @escaping @Sendable (StoreConnection) throws -> T) async throws -> T {
        try await read(on: standbyPools[url] ?? pools[url]!, body)
    }

    /// Runs blocking database work; a database failure becomes a quick 503. Never migrates: the schema
    /// is made at start (`prepare`) and by the ingest services.
    func read<T: Sendable>(at url: String? = nil, _ body: @escaping @Sendable (StoreConnection) throws -> T) async throws -> T {
        try await read(on: pools[url ?? placement.defaultURL]!, body)
    }

    private func read<T: Sendable>(on pool: ReadPool, _ body: @escaping @Sendable (StoreConnection) throws -> T) async throws -> T {
        do {
            return try await pool.withConnection(body)
        } catch let error as StoreError {
            // A compacted block that does not decode: no retry helps, and the caller is told which one.
            if error.sqlState == "XX001" {
                logger.error("damaged data: \(error)")
                throw APIError(status: .internalServerError, code: "data_damaged", message: error.message)
            }
            // Transient: the database is away or busy. Otherwise a statement failed (the schema not made
            // yet, or a bug): still no 500 for the caller, but logged as an error to look at.
            if error.isTransient { logger.warning("database error: \(error)") } else { logger.error("database error: \(error)") }
            throw APIError.unavailable
        }
    }

    /// The schema has been made (`prepare`).
    var hasSchema: Bool { schemaReady.load(ordering: .relaxed) }

    /// Ready: the schema has been made and every database answers now.
    func isReady() async -> Bool {
        guard schemaReady.load(ordering: .relaxed) else { return false }
        for url in placement.urls {
            guard (try? await pools[url]!.withConnection({ connection in try connection.ping() })) != nil else { return false }
        }
        return true
    }

    /// At start, in the background: makes the schema (retrying while the database is away), then reads
    /// the last week of 1-hour rollups into the cache, so a user's first dashboard load is not the slow one.
    public func prepare(now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1_000_000) }) async {
        let catalog = self.catalog
        let placement = self.placement
        var delay = 0.2
        while !Task.isCancelled {
            do {
                for url in placement.urls {
                    let sensors = placement.sensors(catalog.sensors, at: url)
                    try await pools[url]!.withConnection { connection in try Schema.migrate(connection, sensors: sensors) }
                }
                schemaReady.store(true, ordering: .relaxed)
                break
            } catch {
                logger.warning("waiting for PostgreSQL to make the schema: \(error)")
                try? await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 5)
            }
        }
        guard !caches.isEmpty, !Task.isCancelled else { return }
        let started = ContinuousClock.now
        for url in placement.urls {
            guard let cache = caches[url] else { continue }
            let sensors = placement.sensors(catalog.sensors, at: url)
            _ = try? await pools[url]!.withConnection { connection in cache.warm(sensors: sensors, days: 7, now: now(), on: connection) }
        }
        logger.info("rollup cache warmed with the last 7 days in \(ContinuousClock.now - started)")
    }
}
