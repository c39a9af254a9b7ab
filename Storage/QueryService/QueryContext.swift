import Foundation
import Logging
import Postgres
import SensorModel
import Synchronization
import TelemetryStore

/// What every route needs: the catalog, the read pool, and whether the schema is known to exist.
public final class QueryStore: Sendable {
    public let catalog: Catalog
    public let pool: ReadPool
    /// Whole days of 1-hour rollups in memory; nil when turned off (`rollup_cache_mb` 0).
    public let rollupCache: RollupCache?
    let logger: Logger
    private let migrated = Atomic<Bool>(false)

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

    /// Runs blocking database work; any database failure becomes a quick 503.
    func read<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        let catalog = self.catalog
        let needsSchema = !migrated.load(ordering: .relaxed)
        do {
            let value = try await pool.withConnection { connection in
                if needsSchema { try Schema.migrate(connection, catalog: catalog) }
                return try body(connection)
            }
            if needsSchema { migrated.store(true, ordering: .relaxed) }
            return value
        } catch let error as PGError {
            logger.warning("database error: \(error)")
            throw APIError.unavailable
        }
    }
}
