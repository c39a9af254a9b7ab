import Foundation
import Logging
import SensorModel
import Synchronization
import TelemetryStore

/// What every route needs: the catalog, the read pool, the rollup cache, and whether the schema is there.
public final class QueryStore: Sendable {
    public let catalog: Catalog
    public let pool: ReadPool
    /// 1-hour rollups in memory; nil when turned off (`rollup_cache_mb` 0).
    public let rollupCache: RollupCache?
    let logger: Logger
    private let schemaReady = Atomic<Bool>(false)

    public init(catalog: Catalog, pool: ReadPool, rollupCache: RollupCache? = nil, logger: Logger) {
        self.catalog = catalog
        self.pool = pool
        self.rollupCache = rollupCache
        self.logger = logger
    }

    func sensor(_ name: String?) throws -> SensorType {
        guard let name, let sensor = catalog[name] else {
            throw APIError.notFound("unknown sensor type '\(name?.prefix(64) ?? "")'; GET /v1/sensors lists them")
        }
        return sensor
    }

    /// Runs blocking database work; a database failure becomes a quick 503. Never migrates: the schema
    /// is made at start (`prepare`) and by the ingest services.
    func read<T: Sendable>(_ body: @escaping @Sendable (StoreConnection) throws -> T) async throws -> T {
        do {
            return try await pool.withConnection(body)
        } catch let error as StoreError {
            // Transient: the database is away or busy. Otherwise a statement failed (the schema not made
            // yet, or a bug): still no 500 for the caller, but logged as an error to look at.
            if error.isTransient { logger.warning("database error: \(error)") } else { logger.error("database error: \(error)") }
            throw APIError.unavailable
        }
    }

    /// Ready: the schema has been made and the database answers now.
    func isReady() async -> Bool {
        guard schemaReady.load(ordering: .relaxed) else { return false }
        return (try? await pool.withConnection { connection in try connection.ping() }) != nil
    }

    /// At start, in the background: makes the schema (retrying while the database is away), then reads
    /// the last week of 1-hour rollups into the cache, so a user's first dashboard load is not the slow one.
    public func prepare(now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1_000_000) }) async {
        let catalog = self.catalog
        var delay = 0.2
        while !Task.isCancelled {
            do {
                try await pool.withConnection { connection in try Schema.migrate(connection, catalog: catalog) }
                schemaReady.store(true, ordering: .relaxed)
                break
            } catch {
                logger.warning("waiting for PostgreSQL to make the schema: \(error)")
                try? await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 5)
            }
        }
        guard let cache = rollupCache, !Task.isCancelled else { return }
        let started = ContinuousClock.now
        _ = try? await pool.withConnection { connection in
            cache.warm(sensors: catalog.sensors, days: 7, now: now(), on: connection)
        }
        logger.info("rollup cache warmed with the last 7 days in \(ContinuousClock.now - started)")
    }
}
