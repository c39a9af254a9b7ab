import Postgres
import StorageCore

/// A version per sensor type and hour of its 1-hour rollups, bumped in every transaction that changes
/// the hour: a reader (`RollupCache`) that kept an hour knows it is current while the version is the
/// one it read. No NOTIFY in the writers' transactions: PostgreSQL commits every notifying transaction
/// of the cluster one at a time, WAL flush included, under one lock (async.c, `PreCommit_Notify`).
///
/// Versions come from one sequence, so a row never has the same version twice: readers compare them
/// for equality only. Rows are spread over `shards` by the writing backend, so writers of one sensor type in
/// several processes do not queue on one row. The row of hour `anyHour` stands for every hour: retention
/// bumps it, and so can someone who changes rollups by hand:
/// `UPDATE rollup_versions SET version = nextval('rollup_version') WHERE sensor = 'power' AND hour = -9223372036854775808`.
public enum RollupVersions {
    static let shards = 8
    public static let anyHour = Int64.min

    /// A version per hour, as text, compared for equality only: the `anyHour` row's and the hour's own rows'.
    public struct Fingerprints: Sendable {
        var generation = ""
        var byHour: [Int64: String] = [:]

        public subscript(hour: Int64) -> String { generation + "/" + (byHour[hour] ?? "") }
    }

    /// The fast path's bump: a CTE over an int8[] parameter of hour numbers since the epoch, in order,
    /// so writers lock rows in the same order.
    package static func cte(sensor: String, hours: String) -> String {
        """
        bumped AS (
            INSERT INTO rollup_versions (sensor, hour, shard, version)
            SELECT \(SQLText.literal(sensor)), h, pg_backend_pid() % \(shards), nextval('rollup_version') FROM unnest(\(hours)::int8[]) AS u(h) ORDER BY h
            \(upsertTail)
        )
        """
    }

    static let upsertTail = "ON CONFLICT (sensor, hour, shard) DO UPDATE SET version = nextval('rollup_version')"

    /// The staging path's bump: a CTE over the `inserted` rows (column `time`) of `BatchWriter.moveStatement`.
    package static func cte(sensor: String) -> String {
        """
        bumped AS (
            INSERT INTO rollup_versions (sensor, hour, shard, version)
            SELECT \(SQLText.literal(sensor)), h, pg_backend_pid() % \(shards), nextval('rollup_version')
            FROM (SELECT DISTINCT floor(extract(epoch FROM time) / 3600)::int8 AS h FROM inserted) AS hours ORDER BY h
            \(upsertTail)
        )
        """
    }

    /// Bumps every hour of `sensor` at once and forgets the versions of hours up to `through` (their
    /// rollups are gone): retention's deletes. Inside the caller's transaction.
    package static func bumpAll(sensor: String, forgettingThrough through: Int64?, on connection: PGConnection) throws(PGError) {
        _ = try connection.query("""
            INSERT INTO rollup_versions (sensor, hour, shard, version) VALUES ($1, \(anyHour), 0, nextval('rollup_version'))
            \(upsertTail)
            """, [sensor])
        if let through {
            _ = try connection.query("DELETE FROM rollup_versions WHERE sensor = $1 AND hour <> \(anyHour) AND hour <= $2", [sensor, String(through)])
        }
    }

    /// The versions of `hours` of `sensor` now.
    public static func fingerprints(sensor: String, hours: ClosedRange<Int64>, on connection: PGConnection) throws(PGError) -> Fingerprints {
        let result = try connection.query("""
            SELECT hour, string_agg(shard || ':' || version, ',' ORDER BY shard) FROM rollup_versions
            WHERE sensor = $1 AND (hour = \(anyHour) OR hour BETWEEN $2 AND $3) GROUP BY hour
            """, [sensor, String(hours.lowerBound), String(hours.upperBound)])
        var fingerprints = Fingerprints()
        for row in result.rows {
            guard let hour = row[0].flatMap({ Int64($0) }), let versions = row[1] else { continue }
            if hour == anyHour { fingerprints.generation = versions } else { fingerprints.byHour[hour] = versions }
        }
        return fingerprints
    }
}
