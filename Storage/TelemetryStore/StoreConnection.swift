import Postgres
import SensorModel

/// A database connection as the services hold it: opened, checked and reconnected here, used only
/// through this module's writers and queries. Blocking, one owner at a time (see `PGConnection`).
public final class StoreConnection: @unchecked Sendable {
    let pg: PGConnection

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

/// A database failure, with what the callers decide on: transient (retry) or not.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var sqlState: String?
    public var message: String
    /// The connection failed, or the server is shutting down, overloaded or in a retryable conflict.
    public var isTransient: Bool
    /// The server is out of reach or shutting down (`PGError.isConnectionFailure`).
    public var isConnectionFailure: Bool

    init(_ error: PGError) {
        sqlState = error.sqlState
        message = error.message
        isTransient = error.isTransient
        isConnectionFailure = error.isConnectionFailure
    }

    /// A failure of this module's own, not of PostgreSQL's (never transient).
    init(refusal message: String) {
        sqlState = nil
        self.message = message
        isTransient = false
        isConnectionFailure = false
    }

    public var description: String { sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message }

    static func wrap<T>(_ body: () throws(PGError) -> T) throws(StoreError) -> T {
        do { return try body() } catch { throw StoreError(error) }
    }
}

// The services' entry points: the same work as the PGConnection forms, on a `StoreConnection`.

extension Schema {
    public static func migrate(_ connection: StoreConnection, catalog: Catalog) throws(StoreError) {
        try StoreError.wrap { () throws(PGError) in try migrate(connection.pg, catalog: catalog) }
    }

    public static func migrate(_ connection: StoreConnection, sensors: [SensorType]) throws(StoreError) {
        try StoreError.wrap { () throws(PGError) in try migrate(connection.pg, sensors: sensors) }
    }
}

extension Partitions {
    public func ensureAhead(now: Int64, ahead: Int = 2, on connection: StoreConnection) throws(StoreError) {
        try StoreError.wrap { () throws(PGError) in try ensureAhead(now: now, ahead: ahead, on: connection.pg) }
    }
}

extension RetentionPolicy {
    public static func apply(catalog: Catalog, now: Int64, on connection: StoreConnection) throws(StoreError) -> [Outcome] {
        try StoreError.wrap { () throws(PGError) in try apply(catalog: catalog, now: now, on: connection.pg) }
    }

    public static func apply(sensor: SensorType, now: Int64, on connection: StoreConnection) throws(StoreError) -> Outcome {
        try StoreError.wrap { () throws(PGError) in try apply(sensor: sensor, now: now, on: connection.pg) }
    }

    public static func prune(now: Int64, deadLetterAge: Duration, on connection: StoreConnection) throws(StoreError) -> Pruned {
        try StoreError.wrap { () throws(PGError) in try prune(now: now, deadLetterAge: deadLetterAge, on: connection.pg) }
    }
}

extension DeadLetterQuota {
    public static func set(perHour: Int, on connection: StoreConnection) throws(StoreError) {
        try StoreError.wrap { () throws(PGError) in try set(perHour: perHour, on: connection.pg) }
    }

    public static func overQuota(from: Int64, to: Int64, limit: Int, on connection: StoreConnection) throws(StoreError) -> [Count] {
        try StoreError.wrap { () throws(PGError) in try overQuota(from: from, to: to, limit: limit, on: connection.pg) }
    }
}

extension ReadingQueries {
    public func devices(limit: Int, after cursor: String?, prefix: String? = nil, on connection: StoreConnection) throws(StoreError) -> [StoredDevice] {
        try StoreError.wrap { () throws(PGError) in try devices(limit: limit, after: cursor, prefix: prefix, on: connection.pg) }
    }

    public func deviceNames(on connection: StoreConnection) throws(StoreError) -> [Int32: String] {
        try StoreError.wrap { () throws(PGError) in try deviceNames(on: connection.pg) }
    }

    public func device(named name: String, on connection: StoreConnection) throws(StoreError) -> StoredDevice? {
        try StoreError.wrap { () throws(PGError) in try device(named: name, on: connection.pg) }
    }

    public func devices(named names: [String], on connection: StoreConnection) throws(StoreError) -> [StoredDevice] {
        try StoreError.wrap { () throws(PGError) in try devices(named: names, on: connection.pg) }
    }

    public func readings(
        deviceID: Int32, from: Int64, to: Int64, after cursor: Int64?, ascending: Bool, limit: Int, on connection: StoreConnection
    ) throws(StoreError) -> [StoredReading] {
        try StoreError.wrap { () throws(PGError) in
            try readings(deviceID: deviceID, from: from, to: to, after: cursor, ascending: ascending, limit: limit, on: connection.pg)
        }
    }

    public func latest(deviceID: Int32, on connection: StoreConnection) throws(StoreError) -> StoredReading? {
        try StoreError.wrap { () throws(PGError) in try latest(deviceID: deviceID, on: connection.pg) }
    }

    public func aggregates(
        _ query: AggregateQuery, deviceNames: [Int32: String], cache: RollupCache? = nil, on connection: StoreConnection
    ) throws(StoreError) -> [AggregateSeries] {
        try StoreError.wrap { () throws(PGError) in try aggregates(query, deviceNames: deviceNames, cache: cache, on: connection.pg) }
    }
}

extension RejectedQueries {
    public static func list(
        sensor: String?, reason: String? = nil, from: Int64, to: Int64, after cursor: (Int64, Int64)?, ascending: Bool = true, limit: Int,
        maxBytes: Int = .max, on connection: StoreConnection
    ) throws(StoreError) -> [StoredRejection] {
        try StoreError.wrap { () throws(PGError) in
            try list(sensor: sensor, reason: reason, from: from, to: to, after: cursor, ascending: ascending, limit: limit, maxBytes: maxBytes, on: connection.pg)
        }
    }
}

extension RollupCache {
    /// Reads the last `days` whole days (and the current hour) of every sensor type's 1-hour rollups
    /// into memory, so the first dashboard request is served like the next ones.
    public func warm(sensors: [SensorType], days: Int, now: Int64, on connection: StoreConnection) {
        let last = Micros.hour(of: now)
        warm(sensors: sensors, hours: (last - Int64(days) * 24)...last, on: connection.pg)
    }
}
