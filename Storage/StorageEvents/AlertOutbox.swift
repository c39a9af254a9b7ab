import Postgres
import StorageCore

/// What is still to be told about episodes: one row per event (`raised`, `acknowledged`, `cleared`),
/// written in the transaction that made the event, deleted once the MQTT message and the webhook are
/// both through (docs/alerts.md#notifications). The notifier of the episode's sensor type claims rows
/// (a lease, so several replicas share the work and a dead one's claims come back) and an episode's
/// events leave in order: a row is due only when no older row of its episode is still waiting.
public enum AlertOutbox {
    public struct Delivery: Sendable {
        public var id: Int64
        public var event: String
        public var attempts: Int
        public var webhook: String?
        public var published: Bool
        public var posted: Bool
        public var episode: AlertEpisode
    }

    /// How long a claim holds before another notifier may take the row.
    public static let lease: Duration = .seconds(30)

    /// The statement that adds `event` for the episodes a CTE named `source` returns (`id`, `sensor`).
    package static func insert(event: String, from source: String) -> String {
        "INSERT INTO alert_outbox (episode_id, sensor, event) SELECT id, sensor, '\(event)' FROM \(source) ORDER BY id"
    }

    /// Claims up to `limit` due rows of these sensor types, the longest due first (a row backing off after
    /// failures never stands in front of a new one).
    public static func claim(sensors: [String], limit: Int, on connection: PGConnection) throws(PGError) -> [Delivery] {
        let result = try connection.query("""
            WITH due AS (
                SELECT o.id FROM alert_outbox o
                WHERE o.sensor = ANY($1::text[]) AND o.next_attempt_at <= now()
                  AND NOT EXISTS (SELECT 1 FROM alert_outbox p WHERE p.episode_id = o.episode_id AND p.id < o.id)
                ORDER BY o.next_attempt_at, o.id LIMIT $2 FOR UPDATE SKIP LOCKED
            ),
            claimed AS (
                UPDATE alert_outbox o SET attempts = o.attempts + 1, next_attempt_at = now() + interval '\(lease.components.seconds) seconds'
                FROM due WHERE o.id = due.id
                RETURNING o.id, o.event, o.attempts, o.published, o.posted, o.episode_id
            )
            SELECT c.id, c.event, c.attempts, c.published, c.posted, CASE WHEN r.id IS NULL THEN e.webhook ELSE r.webhook END, \(AlertEpisode.columns)
            FROM claimed c JOIN alert_episodes e ON e.id = c.episode_id LEFT JOIN alert_rules r ON r.id = e.rule_id
            ORDER BY c.id
            """, [SQLText.textArray(sensors), String(limit)])
        return result.rows.compactMap { row in
            guard let id = row[0].flatMap({ Int64($0) }), let event = row[1], let attempts = row[2].flatMap({ Int($0) }),
                let episode = AlertEpisode.episode(row[6...])
            else { return nil }
            return Delivery(id: id, event: event, attempts: attempts, webhook: row[5], published: row[3] == "t", posted: row[4] == "t", episode: episode)
        }
    }

    /// Done: both ways through.
    public static func delivered(_ delivery: Delivery, on connection: PGConnection) throws(PGError) {
        try connection.query("DELETE FROM alert_outbox WHERE id = $1", [String(delivery.id)])
    }

    /// Not yet: what went through is kept, the rest is tried again after a back-off that doubles from
    /// 1 s up to 5 minutes. Only while the claim is still this notifier's: when its lease ran out and another
    /// claimed the row, that one's outcome counts.
    public static func retry(_ delivery: Delivery, published: Bool, posted: Bool, error: String, on connection: PGConnection) throws(PGError) {
        let backoff = min(300, 1 << min(delivery.attempts - 1, 9))
        try connection.query("""
            UPDATE alert_outbox SET published = $2, posted = $3, last_error = $4, next_attempt_at = now() + $5::int8 * interval '1 second'
            WHERE id = $1 AND attempts = $6
            """, [String(delivery.id), published ? "t" : "f", posted ? "t" : "f", String(error.prefix(500)), String(backoff), String(delivery.attempts)])
    }

    /// Rows waiting, per sensor type (for the metrics).
    public static func waiting(on connection: PGConnection) throws(PGError) -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for row in try connection.execute("SELECT sensor, count(*) FROM alert_outbox GROUP BY 1").rows {
            if let sensor = row[0], let count = row[1].flatMap({ Int64($0) }) { counts[sensor] = count }
        }
        return counts
    }
}
