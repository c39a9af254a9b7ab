import Postgres
import StorageCore
import StorageEvents

/// Readings stored per sensor type and minute, kept by the writers in the same transaction as the
/// readings (exactly the rows inserted), so the dashboard's "readings in the last hour" is a sum over
/// at most 60 × `shards` rows instead of a scan of the hour's readings. Rows are spread over `shards`
/// by the writing backend's pid, so concurrent writers of one sensor type do not wait on one row lock.
package enum ReadingCounts {
    static let shards = 8
    static let upsertTail = "ON CONFLICT (sensor, bucket, shard) DO UPDATE SET readings = reading_counts.readings + excluded.readings"

    /// The fast path's counts: a CTE over two int8[] parameters, minute buckets (µs, in order) and readings.
    static func cte(sensor: String, buckets: String, counts: String) -> String {
        """
        counted AS (
            INSERT INTO reading_counts (sensor, bucket, shard, readings)
            SELECT \(SQLText.literal(sensor)), timestamptz 'epoch' + b * interval '1 microsecond', pg_backend_pid() % \(shards), n
            FROM unnest(\(buckets)::int8[], \(counts)::int8[]) AS u(b, n) ORDER BY b
            \(upsertTail)
        )
        """
    }

    /// The staging path's counts: a CTE over the `inserted` rows of `BatchWriter.moveStatement`.
    static func cte(sensor: String) -> String {
        """
        counted AS (
            INSERT INTO reading_counts (sensor, bucket, shard, readings)
            SELECT \(SQLText.literal(sensor)), date_trunc('minute', time), pg_backend_pid() % \(shards), count(*)
            FROM inserted GROUP BY 2 ORDER BY 2
            \(upsertTail)
        )
        """
    }
}
