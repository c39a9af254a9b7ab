import Postgres
import StorageCore
import StorageReader

/// How many dead letters one device may leave per hour (`dead_letter_quota_per_hour`): past that, its
/// dead letters of the hour are counted, not kept, so one device cannot fill the store. A trigger on
/// `rejected` enforces it for every writer (each ingest service, replicas, the catch-all) where they
/// meet, and keeps the counts in `dead_letter_counts`, which `GET /v1/rejected/over-quota` serves.
///
/// A dead letter's device is read from its topic, the only place it may be known: the third level of a
/// `telemetry/...` topic (the broker's ACL holds a device to its own id there); any other topic (a
/// firmware source, one per pattern and device) counts as itself. A letter the key then skips as a replay
/// (`rejected_message_key`) has been counted all the same: the counts are an upper bound.
public enum DeadLetterQuota {
    public struct Count: Sendable, Equatable {
        /// The device id, or the topic outside `telemetry/` (at most 256 characters of it).
        public var source: String
        /// The start of the hour, µs since the epoch.
        public var hour: Int64
        public var kept: Int64
        public var refused: Int64
    }

    public static let defaultPerHour = Schema.defaultDeadLetterQuotaPerHour


    /// Sets the quota for every writer of this database.
    static func set(perHour: Int, on connection: PGConnection) throws(PGError) {
        _ = try connection.query("UPDATE dead_letter_quota SET per_hour = $1 WHERE per_hour <> $1", [String(perHour)])
    }

    /// The hours in `[from, to)` in which a source went over its quota, newest first, the most refused first within an hour.
    static func overQuota(from: Int64, to: Int64, limit: Int, on connection: PGConnection) throws(PGError) -> [Count] {
        let result = try connection.query("""
            SELECT source, \(SQLTime.micros("hour")), kept, refused FROM dead_letter_counts
            WHERE refused > 0 AND hour >= \(SQLTime.timestamp("$1")) AND hour < \(SQLTime.timestamp("$2"))
            ORDER BY hour DESC, refused DESC, source LIMIT $3
            """, [String(from), String(to), String(limit)])
        return result.rows.map { row in Count(source: row[0]!, hour: Int64(row[1]!)!, kept: Int64(row[2]!)!, refused: Int64(row[3]!)!) }
    }
}

// The services' entry point: the same work on a `StoreConnection`.
extension DeadLetterQuota {
    public static func set(perHour: Int, on connection: StoreConnection) throws(StoreError) {
        try StoreError.wrap { () throws(PGError) in try set(perHour: perHour, on: connection.pg) }
    }

    public static func overQuota(from: Int64, to: Int64, limit: Int, on connection: StoreConnection) throws(StoreError) -> [Count] {
        try StoreError.wrap { () throws(PGError) in try overQuota(from: from, to: to, limit: limit, on: connection.pg) }
    }
}
