import Postgres

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

    public static let defaultPerHour = 1000

    static let schema = """
        CREATE TABLE IF NOT EXISTS dead_letter_quota (one bool PRIMARY KEY DEFAULT true CHECK (one), per_hour int8 NOT NULL);
        INSERT INTO dead_letter_quota VALUES (true, \(defaultPerHour)) ON CONFLICT DO NOTHING;
        CREATE TABLE IF NOT EXISTS dead_letter_counts (
            source text NOT NULL, hour timestamptz NOT NULL, kept int8 NOT NULL, refused int8 NOT NULL,
            PRIMARY KEY (source, hour)
        );
        CREATE INDEX IF NOT EXISTS dead_letter_counts_hour ON dead_letter_counts (hour);
        CREATE OR REPLACE FUNCTION dead_letter_quota() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            letter_source text := left(CASE WHEN split_part(NEW.topic, '/', 1) = 'telemetry' AND split_part(NEW.topic, '/', 3) <> ''
                                            THEN split_part(NEW.topic, '/', 3) ELSE NEW.topic END, 256);
            letter_hour timestamptz := date_trunc('hour', NEW.received_at, 'UTC');
            counted int8;
        BEGIN
            INSERT INTO dead_letter_counts AS c VALUES (letter_source, letter_hour, 1, 0)
            ON CONFLICT (source, hour) DO UPDATE SET kept = c.kept + 1 RETURNING c.kept INTO counted;
            IF counted <= (SELECT per_hour FROM dead_letter_quota) THEN RETURN NEW; END IF;
            UPDATE dead_letter_counts SET kept = kept - 1, refused = refused + 1 WHERE source = letter_source AND hour = letter_hour;
            RETURN NULL;
        END $$;
        -- Made once: replacing it at every migration (each retention pass) would lock out the writers each time.
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'dead_letter_quota' AND tgrelid = 'rejected'::regclass) THEN
                CREATE TRIGGER dead_letter_quota BEFORE INSERT ON rejected FOR EACH ROW EXECUTE FUNCTION dead_letter_quota();
            END IF;
        END $$
        """

    /// Sets the quota for every writer of this database.
    static func set(perHour: Int, on connection: PGConnection) throws(PGError) {
        _ = try connection.query("UPDATE dead_letter_quota SET per_hour = $1 WHERE per_hour <> $1", [String(perHour)])
    }

    /// The hours in `[from, to)` in which a source went over its quota, newest first, the most refused first within an hour.
    static func overQuota(from: Int64, to: Int64, limit: Int, on connection: PGConnection) throws(PGError) -> [Count] {
        let result = try connection.query("""
            SELECT source, \(ReadingQueries.micros("hour")), kept, refused FROM dead_letter_counts
            WHERE refused > 0 AND hour >= \(ReadingQueries.timestamp("$1")) AND hour < \(ReadingQueries.timestamp("$2"))
            ORDER BY hour DESC, refused DESC, source LIMIT $3
            """, [String(from), String(to), String(limit)])
        return result.rows.map { row in Count(source: row[0]!, hour: Int64(row[1]!)!, kept: Int64(row[2]!)!, refused: Int64(row[3]!)!) }
    }
}
