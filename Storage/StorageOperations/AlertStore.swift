import Postgres
import SensorModel
import StorageCore
import StorageEvents

/// Rules and episodes as the REST API changes and reads them (docs/alerts.md). Every change of a rule
/// bumps the rules' version in its transaction (the writers reload), and one that changes what the rule
/// means (a new condition, threshold, scope) or deletes it clears its open episodes, each with a `cleared`
/// notification, and forgets its states: an episode is always about the rule as it was when raised.
public enum AlertStore {
    public static func create(_ rule: AlertRule, on connection: StoreConnection) throws(StoreError) -> AlertRule {
        try StoreError.wrap { () throws(PGError) in
            try connection.pg.transaction { (pg) throws(PGError) -> AlertRule in
                try pg.execute(AlertRules.lockForChange)
                let id = try pg.query("""
                    INSERT INTO alert_rules (name, sensor, condition, field, threshold, clear_threshold, for_micros, device, device_prefix, webhook)
                    VALUES ($1, $2, $3, $4, $5::float8, $6::float8, $7::int8, $8, $9, $10) RETURNING id::text
                    """, parameters(rule))[0, 0] ?? ""
                try pg.execute(AlertRules.bumpVersion)
                guard let stored = try AlertRules.rule(id: id, on: pg) else { throw PGError(sqlState: nil, message: "the new rule was not found") }
                return stored
            }
        }
    }

    /// Replaces a rule (its id and creation time stay). Nil when there is no such rule.
    public static func replace(id: String, with rule: AlertRule, on connection: StoreConnection) throws(StoreError) -> AlertRule? {
        try StoreError.wrap { () throws(PGError) in
            try connection.pg.transaction { (pg) throws(PGError) -> AlertRule? in
                try pg.execute(AlertRules.lockForChange)
                guard let old = try lockRule(id: id, on: pg) else { return nil }
                _ = try pg.query("""
                    UPDATE alert_rules SET name = $1, sensor = $2, condition = $3, field = $4, threshold = $5::float8, clear_threshold = $6::float8,
                        for_micros = $7::int8, device = $8, device_prefix = $9, webhook = $10, updated_at = now()
                    WHERE id = $11::uuid
                    """, parameters(rule) + [id])
                // A new name or webhook leaves the rule meaning what it did: its episodes stay open.
                if !rule.meansTheSame(as: old) { try closeEpisodes(rule: id, reason: "rule changed", on: pg) }
                try pg.execute(AlertRules.bumpVersion)
                return try AlertRules.rule(id: id, on: pg)
            }
        }
    }

    /// Deletes a rule and clears its open episodes. False when there is no such rule.
    public static func delete(id: String, on connection: StoreConnection) throws(StoreError) -> Bool {
        try StoreError.wrap { () throws(PGError) in
            try connection.pg.transaction { (pg) throws(PGError) -> Bool in
                try pg.execute(AlertRules.lockForChange)
                guard try lockRule(id: id, on: pg) != nil else { return false }
                try closeEpisodes(rule: id, reason: "rule deleted", on: pg)
                _ = try pg.query("DELETE FROM alert_rules WHERE id = $1::uuid", [id])
                try pg.execute(AlertRules.bumpVersion)
                return true
            }
        }
    }

    private static func lockRule(id: String, on pg: PGConnection) throws(PGError) -> AlertRule? {
        try pg.query("SELECT \(AlertRule.columns) FROM alert_rules WHERE id = $1::uuid FOR UPDATE", [id]).rows.first.flatMap(AlertRule.rule)
    }

    private static func closeEpisodes(rule id: String, reason: String, on pg: PGConnection) throws(PGError) {
        _ = try pg.query("""
            WITH cleared AS (
                UPDATE alert_episodes SET cleared_at = now(), clear_reason = $2 WHERE rule_id = $1::uuid AND cleared_at IS NULL RETURNING id, sensor
            ),
            forgotten AS (DELETE FROM alert_state WHERE rule_id = $1::uuid)
            \(AlertOutbox.insert(event: "cleared", from: "cleared"))
            """, [id, reason])
    }

    private static func parameters(_ rule: AlertRule) -> [String?] {
        [rule.name, rule.sensor, rule.condition.rawValue, rule.field, rule.threshold.map { "\($0)" }, rule.clearThreshold.map { "\($0)" },
         String(rule.forMicros), rule.device, rule.devicePrefix, rule.webhook]
    }

    public struct EpisodeFilter: Sendable {
        /// `open`, `acknowledged`, `cleared`; nil: every state.
        public var states: Set<String>?
        public var sensor: String?
        public var device: String?
        public var rule: String?
        public var limit: Int

        public init(states: Set<String>? = nil, sensor: String? = nil, device: String? = nil, rule: String? = nil, limit: Int = 100) {
            self.states = states
            self.sensor = sensor
            self.device = device
            self.rule = rule
            self.limit = limit
        }
    }

    /// Episodes, the ones not cleared first, then newest raised first.
    public static func episodes(_ filter: EpisodeFilter, on connection: StoreConnection) throws(StoreError) -> [AlertEpisode] {
        try StoreError.wrap { () throws(PGError) in
            let states = filter.states.map { SQLText.textArray($0.sorted()) }
            return try connection.pg.query("""
                SELECT \(AlertEpisode.columns) FROM alert_episodes e
                WHERE ($1::text IS NULL OR e.sensor = $1) AND ($2::text IS NULL OR e.device = $2) AND ($3::uuid IS NULL OR e.rule_id = $3::uuid)
                  AND ($4::text[] IS NULL OR CASE WHEN e.cleared_at IS NOT NULL THEN 'cleared' WHEN e.acknowledged_at IS NOT NULL THEN 'acknowledged' ELSE 'open' END = ANY($4::text[]))
                ORDER BY e.cleared_at IS NOT NULL, e.raised_at DESC, e.id LIMIT $5
                """, [filter.sensor, filter.device, filter.rule, states, String(filter.limit)]).rows.compactMap { AlertEpisode.episode($0[...]) }
        }
    }

    public static func episode(id: String, on connection: StoreConnection) throws(StoreError) -> AlertEpisode? {
        try StoreError.wrap { () throws(PGError) in
            try connection.pg.query("SELECT \(AlertEpisode.columns) FROM alert_episodes e WHERE e.id = $1::uuid", [id]).rows.first.flatMap { AlertEpisode.episode($0[...]) }
        }
    }

    /// Acknowledges an open episode (once: a second acknowledgement, or one of a cleared episode, changes
    /// nothing). Nil when there is no such episode.
    public static func acknowledge(id: String, by who: String, on connection: StoreConnection) throws(StoreError) -> AlertEpisode? {
        try StoreError.wrap { () throws(PGError) in
            try connection.pg.transaction { (pg) throws(PGError) -> AlertEpisode? in
                _ = try pg.query("""
                    WITH acknowledged AS (
                        UPDATE alert_episodes SET acknowledged_at = now(), acknowledged_by = $2
                        WHERE id = $1::uuid AND acknowledged_at IS NULL AND cleared_at IS NULL RETURNING id, sensor
                    )
                    \(AlertOutbox.insert(event: "acknowledged", from: "acknowledged"))
                    """, [id, who])
                return try pg.query("SELECT \(AlertEpisode.columns) FROM alert_episodes e WHERE e.id = $1::uuid", [id]).rows.first.flatMap { AlertEpisode.episode($0[...]) }
            }
        }
    }

    /// Open episodes per sensor type (for the overview and the metrics).
    public static func openCounts(on connection: StoreConnection) throws(StoreError) -> [String: Int64] {
        try StoreError.wrap { () throws(PGError) in
            var counts: [String: Int64] = [:]
            for row in try connection.pg.execute("SELECT sensor, count(*) FROM alert_episodes WHERE cleared_at IS NULL GROUP BY 1").rows {
                if let sensor = row[0], let count = row[1].flatMap({ Int64($0) }) { counts[sensor] = count }
            }
            return counts
        }
    }
}
