import Postgres
import SensorModel
import StorageCore
import StorageEvents

// `silent` rules: no reading from a device for a duration. Evaluated right after the status pass, under
// its lock (one at a time per database) but in a transaction of its own, from the same `last_heard` the
// device states come from (docs/alerts.md#where-rules-are-evaluated).
extension DeviceStatus {
    /// Clears the open `silent` episodes of devices heard since, then raises one for each device of a rule's
    /// scope not heard for the rule's duration (plus the writers' refresh lag, as for the states).
    static func evaluateSilenceRules(sensors: [String], lags: String, now: Int64, on pg: PGConnection) throws(PGError) {
        let names = SQLText.textArray(sensors)
        _ = try pg.query("""
            WITH cleared AS (
                UPDATE alert_episodes e SET cleared_at = coalesce(d.last_heard, d.last_seen), clear_reason = 'heard again'
                FROM devices d
                WHERE e.condition = 'silent' AND e.cleared_at IS NULL AND e.sensor = ANY($1::text[]) AND d.id = e.device_id
                  AND coalesce(d.last_heard, d.last_seen) > e.started_at
                RETURNING e.id, e.sensor
            )
            \(AlertOutbox.insert(event: "cleared", from: "cleared"))
            """, [names])
        _ = try pg.query("""
            WITH limits AS (SELECT * FROM unnest($1::text[], $2::int8[]) AS l(sensor, lag)),
            overdue AS (
                SELECT r.id AS rule_id, r.name, r.sensor, r.webhook, r.for_micros, d.id AS device_id, d.device, coalesce(d.last_heard, d.last_seen) AS heard
                FROM alert_rules r JOIN limits l ON l.sensor = r.sensor
                JOIN devices d ON d.sensor = r.sensor AND (r.device IS NULL OR d.device = r.device)
                    AND (r.device_prefix IS NULL OR starts_with(d.device, r.device_prefix))
                WHERE r.condition = 'silent'
                  AND coalesce(d.last_heard, d.last_seen) < \(SQLTime.timestamp("$3")) - (r.for_micros + l.lag) * interval '1 microsecond'
                  AND NOT EXISTS (SELECT 1 FROM alert_episodes e WHERE e.rule_id = r.id AND e.device_id = d.id AND e.cleared_at IS NULL)
            ),
            raised AS (
                INSERT INTO alert_episodes (rule_id, rule_name, sensor, device_id, device, condition, started_at, raised_at, webhook)
                SELECT rule_id, name, sensor, device_id, device, 'silent', heard, heard + for_micros * interval '1 microsecond', webhook
                FROM overdue ORDER BY rule_id, device_id
                ON CONFLICT (rule_id, device_id) WHERE cleared_at IS NULL DO NOTHING
                RETURNING id, sensor
            )
            \(AlertOutbox.insert(event: "raised", from: "raised"))
            """, [names, lags, String(now)])
    }
}
