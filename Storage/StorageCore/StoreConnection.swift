import Postgres
import SensorModel

/// A database connection as the services hold it: opened, checked and reconnected here, used only
/// through this module's writers and queries. Blocking, one owner at a time (see `PGConnection`).
public final class StoreConnection: @unchecked Sendable {
    package let pg: PGConnection

    public init(url: String, connectTimeoutSeconds: Int = 5) throws(StoreError) {
        pg = try StoreError.wrap { () throws(PGError) in try PGConnection(url: url, connectTimeoutSeconds: connectTimeoutSeconds) }
    }

    /// Wraps a connection of PostgreSQL's own (tests and benchmarks hold those).
    public init(_ connection: PGConnection) { pg = connection }

    /// Reconnects when the connection broke; throws while the server stays away.
    public func reconnectIfNeeded() throws(StoreError) {
        try StoreError.wrap { () throws(PGError) in try pg.resetIfNeeded() }
    }

    /// One round trip: does the database answer?
    public func ping() throws(StoreError) {
        try StoreError.wrap { () throws(PGError) in _ = try pg.execute("SELECT 1") }
    }
}
