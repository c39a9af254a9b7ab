import Postgres
import SensorModel
import StorageCore
import StorageEvents
import StorageReader

/// Applies a sensor type's retention setting: raw readings go a whole daily partition at a time (a DROP
/// is instant and leaves no dead rows), rollup rows by DELETE of the buckets that ended before the cutoff.
/// A later reading for a dropped day recreates its partition on demand (see `BatchWriter.write`).
/// Named apart from `SensorModel.Retention` (the setting) so modules importing both stay unambiguous.
public enum RetentionPolicy {
    public struct Outcome: Sendable, Equatable {
        public var sensor: String
        /// Partition table names, oldest first.
        public var droppedPartitions: [String] = []
        public var deletedRollup1m = 0
        public var deletedRollup1h = 0

        public var isEmpty: Bool { droppedPartitions.isEmpty && deletedRollup1m == 0 && deletedRollup1h == 0 }
    }

    /// Every sensor type of the catalog that has a retention setting.
    public static func apply(catalog: Catalog, now: Int64, on connection: PGConnection) throws(PGError) -> [Outcome] {
        var outcomes: [Outcome] = []
        for sensor in catalog.sensors {
            outcomes.append(try apply(sensor: sensor, now: now, on: connection))
        }
        return outcomes
    }

    /// `now` in microseconds since the epoch. Each drop or delete is its own short transaction with a
    /// lock timeout, so retention never holds up writers and readers for long.
    public static func apply(sensor: SensorType, now: Int64, on connection: PGConnection) throws(PGError) -> Outcome {
        let tables = SensorTables(sensor)
        var outcome = Outcome(sensor: sensor.name)
        if let keep = sensor.retention.raw {
            // Compacted blocks go by day like the readings they hold.
            let cutoff = now - micros(keep)
            for blocks in [false, true] {
                for (day, name) in try partitionDays(tables, blocks: blocks, on: connection) where (day + 1) * Micros.perDay <= cutoff {
                    try connection.transaction { (connection) throws(PGError) in
                        try connection.execute("SET LOCAL lock_timeout = '5s'")
                        try connection.execute("DROP TABLE IF EXISTS \(tables.quoted(name))")
                    }
                    outcome.droppedPartitions.append(name)
                }
            }
        }
        for resolution in RollupResolution.allCases {
            let keep = resolution == .minute ? sensor.retention.rollup1m : sensor.retention.rollup1h
            guard let keep else { continue }
            // A bucket goes when it ended at or before the cutoff: bucket + step <= now - keep.
            let lastBucket = now - micros(keep) - resolution.micros
            let deleted = try connection.transaction { (connection) throws(PGError) -> Int in
                try connection.execute("SET LOCAL lock_timeout = '5s'")
                let result = try connection.query(
                    "WITH gone AS (DELETE FROM \(tables.rollup(resolution)) WHERE bucket <= \(SQLTime.timestamp("$1")) RETURNING 1) SELECT count(*) FROM gone",
                    [String(lastBucket)])
                let deleted = Int(result[0, 0] ?? "0") ?? 0
                if deleted > 0 && resolution == .hour {
                    try RollupVersions.bumpAll(sensor: sensor.name, forgettingThrough: Micros.hour(of: lastBucket), on: connection)
                }
                return deleted
            }
            if resolution == .minute { outcome.deletedRollup1m = deleted } else { outcome.deletedRollup1h = deleted }
        }
        return outcome
    }

    /// What `prune` removed.
    public struct Pruned: Sendable, Equatable {
        public var deadLetters = 0
        public var goneServices = 0

        public var isEmpty: Bool { deadLetters == 0 && goneServices == 0 }
    }

    /// A service whose `ingest_status` row has not been written for this long is gone for good: the row goes.
    static let goneServiceAge = 7 * Micros.perDay

    /// The tables every database has, whatever the catalog says: dead letters (and their quota counts) older
    /// than `deadLetterAge`, the status rows of services gone for a week, reading counts older than a day.
    /// Dead letters go in slices, each a statement of its own, so a large backlog never holds locks for long.
    public static func prune(now: Int64, deadLetterAge: Duration, on connection: PGConnection) throws(PGError) -> Pruned {
        var pruned = Pruned()
        let cutoff = String(now - micros(deadLetterAge))
        let slice = 10_000
        while true {
            let result = try connection.query("""
                WITH gone AS (
                    DELETE FROM rejected WHERE id IN (
                        SELECT id FROM rejected WHERE received_at < \(SQLTime.timestamp("$1")) ORDER BY received_at LIMIT \(slice))
                    RETURNING 1)
                SELECT count(*) FROM gone
                """, [cutoff])
            let deleted = Int(result[0, 0] ?? "0") ?? 0
            pruned.deadLetters += deleted
            if deleted < slice { break }
        }
        _ = try connection.query("DELETE FROM dead_letter_counts WHERE hour < \(SQLTime.timestamp("$1"))", [cutoff])
        let services = try connection.query(
            "WITH gone AS (DELETE FROM ingest_status WHERE updated_at < \(SQLTime.timestamp("$1")) RETURNING 1) SELECT count(*) FROM gone",
            [String(now - goneServiceAge)])
        pruned.goneServices = Int(services[0, 0] ?? "0") ?? 0
        // The overview's hourly counts look back one hour: a day of them is plenty, whichever sensor type
        // they are of (one taken out of the catalog too).
        _ = try connection.query("DELETE FROM reading_counts WHERE bucket < \(SQLTime.timestamp("$1"))", [String(now - Micros.perDay)])
        // Device state changes are read as they come (live streams); they are kept as long as dead letters.
        _ = try connection.query("DELETE FROM device_state_changes WHERE noticed < \(SQLTime.timestamp("$1"))", [cutoff])
        return pruned
    }

    /// The daily partitions attached to the readings table (or the blocks table), by day number, oldest
    /// first. Tables not named `<sensor>_pYYYYMMDD` (`_bYYYYMMDD`; made by hand) are left alone.
    public static func partitionDays(_ tables: SensorTables, blocks: Bool = false, on connection: PGConnection) throws(PGError) -> [(day: Int64, name: String)] {
        let result = try connection.query("""
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = to_regclass($1)
            """, [blocks ? tables.blocks : tables.readings])
        let prefix = "\(tables.sensor.name)_\(blocks ? "b" : "p")"
        var days: [(Int64, String)] = []
        for row in result.rows {
            guard let name = row[0], name.hasPrefix(prefix) else { continue }
            let digits = name.dropFirst(prefix.count)
            guard digits.count == 8, let year = Int64(digits.prefix(4)), let month = Int64(digits.dropFirst(4).prefix(2)),
                  let day = Int64(digits.suffix(2)), (1...12).contains(month), (1...31).contains(day) else { continue }
            days.append((CivilDate(year: Int(year), month: Int(month), day: Int(day)).daysSinceEpoch, name))
        }
        return days.sorted { $0.0 < $1.0 }
    }

    static func micros(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    }
}

// The services' entry point: the same work on a `StoreConnection`.
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
