import Postgres

/// Every transaction that stores readings says so once (per batch, not per reading) on one NOTIFY
/// channel: the sensor type, the newest reading time of the batch and the device ids it wrote. PostgreSQL
/// delivers it at commit and never for a rollback, so the query service's live streams (`LiveReadings`)
/// read exactly what was committed, driven by these notifications instead of polling the tables.
public enum ReadingChanges {
    public static let channel = "telemetry_readings"
    /// NOTIFY payloads must stay under 8000 bytes; a batch of more devices names none (`*`: any device).
    static let maxPayload = 7900

    public struct Change: Sendable, Equatable {
        public var sensor: String
        /// Microseconds since the epoch: no reading of the batch is newer.
        public var last: Int64
        /// Nil: any device of the sensor type.
        public var deviceIDs: [Int32]?
    }

    /// Call inside the writing transaction.
    static func notify(_ change: Change, on connection: PGConnection) throws(PGError) {
        _ = try connection.query("SELECT pg_notify($1, $2)", [channel, payload(change)])
    }

    /// `<sensor> <last µs> <id>,<id>,...` or `<sensor> <last µs> *`.
    static func payload(_ change: Change) -> String {
        let head = "\(change.sensor) \(change.last) "
        guard let ids = change.deviceIDs else { return head + "*" }
        let list = ids.map(String.init).joined(separator: ",")
        return head.utf8.count + list.utf8.count <= maxPayload ? head + list : head + "*"
    }

    static func parse(_ payload: String) -> Change? {
        let parts = payload.split(separator: " ")
        guard parts.count == 3, let last = Int64(parts[1]) else { return nil }
        if parts[2] == "*" { return Change(sensor: String(parts[0]), last: last, deviceIDs: nil) }
        var ids: [Int32] = []
        for text in parts[2].split(separator: ",") {
            guard let id = Int32(text) else { return nil }
            ids.append(id)
        }
        return Change(sensor: String(parts[0]), last: last, deviceIDs: ids)
    }
}

/// Readings stored per sensor type and minute, kept by the writers in the same transaction as the
/// readings (exactly the rows inserted), so the dashboard's "readings in the last hour" is a sum over
/// at most 60 × `shards` rows instead of a scan of the hour's readings. Rows are spread over `shards`
/// by the writing backend's pid, so concurrent writers of one sensor type do not wait on one row lock.
enum ReadingCounts {
    static let shards = 8
    static let table = """
        CREATE TABLE IF NOT EXISTS reading_counts (
            sensor text NOT NULL, bucket timestamptz NOT NULL, shard int2 NOT NULL, readings int8 NOT NULL,
            PRIMARY KEY (sensor, bucket, shard)
        )
        """
    static let upsertTail = "ON CONFLICT (sensor, bucket, shard) DO UPDATE SET readings = reading_counts.readings + excluded.readings"

    /// Adds `counts` (readings per minute bucket, µs) for `sensor`, inside the caller's transaction.
    static func add(sensor: String, counts: [Int64: Int64], on connection: PGConnection) throws(PGError) {
        guard !counts.isEmpty else { return }
        let buckets = counts.keys.sorted()
        _ = try connection.query("""
            INSERT INTO reading_counts (sensor, bucket, shard, readings)
            SELECT $1, timestamptz 'epoch' + b * interval '1 microsecond', pg_backend_pid() % \(shards), n
            FROM unnest($2::int8[], $3::int8[]) AS u(b, n) ORDER BY b
            \(upsertTail)
            """, [sensor, "{" + buckets.map(String.init).joined(separator: ",") + "}", "{" + buckets.map { String(counts[$0]!) }.joined(separator: ",") + "}"])
    }

    /// The staging path's counts: a CTE over the `inserted` rows of `BatchWriter.moveStatement`.
    static func cte(sensor: String) -> String {
        """
        counted AS (
            INSERT INTO reading_counts (sensor, bucket, shard, readings)
            SELECT '\(sensor.replacingOccurrences(of: "'", with: "''"))', date_trunc('minute', time), pg_backend_pid() % \(shards), count(*)
            FROM inserted GROUP BY 2 ORDER BY 2
            \(upsertTail)
        )
        """
    }

    /// Counts older than a day are of no use to anyone (the overview looks back one hour), whichever sensor
    /// type they are of (one taken out of the catalog too).
    static func prune(now: Int64, on connection: PGConnection) throws(PGError) {
        _ = try connection.query("DELETE FROM reading_counts WHERE bucket < \(ReadingQueries.timestamp("$1"))", [String(now - Micros.perDay)])
    }
}
