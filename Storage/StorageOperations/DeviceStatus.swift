import Postgres
import SensorModel
import StorageCore
import StorageEvents

/// Every device's state, derived from what the writers keep (docs/devices.md#device-status):
/// - `offline`: its last status report said so, and no reading arrived after it;
/// - `silent`: no reading arrived for its expected interval (the device's, else its sensor type's) times
///   the silent factor;
/// - `online` otherwise.
/// `evaluate` writes the states that changed, with when they changed, and logs each change in
/// `device_state_changes` (`DeviceStateChanges`: the live streams read it). One pass at a time per database (an
/// advisory lock; a replica that finds it taken skips its turn), and rows a writer holds are left for the
/// next pass, so a pass never waits on ingestion.
public enum DeviceStatus {
    static let passLock: Int64 = 0x7465_6C65_6D73_7461  // "telemsta"

    /// One pass over the devices of `sensors` in one database. Returns the changes it made (none when
    /// another pass held the lock).
    public static func evaluate(sensors: [SensorType], silentFactor: Double, now: Int64, on connection: StoreConnection) throws(StoreError) -> [DeviceStateChanges.Change] {
        guard !sensors.isEmpty else { return [] }
        return try StoreError.wrap { () throws(PGError) in
            let names = sensors.map(\.name)
            // How far behind the writers may keep last_heard: half the sensor type's interval, between 1 s
            // and 30 s (a device's own shorter interval reaches a writer only at its row's next write). Every
            // limit gets that much more, so a device that sends is never called silent.
            let lags = SQLText.array(sensors.map { max(1_000_000, min(30_000_000, $0.expectedInterval.components.seconds * 500_000)) })
            guard let changes = try connection.pg.transaction({ (pg) throws(PGError) -> [DeviceStateChanges.Change]? in
                guard try pg.query("SELECT pg_try_advisory_xact_lock($1)", [String(passLock)])[0, 0] == "t" else { return nil }
                let intervals = SQLText.array(sensors.map { $0.expectedInterval.components.seconds * 1_000_000 })
                let result = try pg.query("""
                    WITH limits AS (SELECT * FROM unnest($1::text[], $2::int8[], $5::int8[]) AS l(sensor, expected, lag)),
                    derived AS (
                        SELECT d.id, heard, CASE
                            WHEN d.reported = 'offline' AND d.reported_at >= heard THEN 'offline'
                            WHEN heard < \(SQLTime.timestamp("$3")) - overdue THEN 'silent'
                            ELSE 'online' END AS state,
                            d.reported, d.reported_at, overdue
                        FROM devices d JOIN limits l USING (sensor)
                        CROSS JOIN LATERAL (SELECT coalesce(d.last_heard, d.last_seen) AS heard,
                            coalesce(d.expected_interval * $4::float8, l.expected * interval '1 microsecond' * $4::float8)
                                + l.lag * interval '1 microsecond' AS overdue) AS t
                    ),
                    locked AS (
                        -- Never before the state it leaves began: a report can be older than the reading that ended it.
                        SELECT d.id, x.state, GREATEST(d.state_since, CASE x.state
                            WHEN 'offline' THEN x.reported_at
                            WHEN 'silent' THEN x.heard + x.overdue
                            ELSE GREATEST(x.heard, CASE WHEN x.reported = 'online' THEN x.reported_at END) END) AS since
                        FROM devices d JOIN derived x ON x.id = d.id
                        WHERE d.state <> x.state ORDER BY d.sensor, d.device FOR UPDATE OF d SKIP LOCKED
                    ),
                    changed AS (
                        UPDATE devices d SET state = l.state, state_since = l.since FROM locked l WHERE d.id = l.id
                        RETURNING d.id, d.sensor, d.device, d.state, d.state_since
                    )
                    INSERT INTO device_state_changes (device_id, sensor, device, state, since)
                    SELECT id, sensor, device, state, state_since FROM changed ORDER BY sensor, device
                    RETURNING id, device_id, sensor, device, state, \(SQLTime.micros("since"))
                    """, [SQLText.textArray(names), intervals, String(now), String(silentFactor), lags])
                return result.rows.compactMap(DeviceStateChanges.change)
            }) else { return [] }
            // The silent rules in a transaction of their own: the rows the pass changed are unlocked by now, so
            // a writer never waits on the rules.
            try connection.pg.transaction { (pg) throws(PGError) in
                guard try pg.query("SELECT pg_try_advisory_xact_lock($1)", [String(passLock)])[0, 0] == "t" else { return }
                try evaluateSilenceRules(sensors: names, lags: lags, now: now, on: pg)
            }
            return changes
        }
    }

    /// Devices per sensor type and state, in one database.
    public static func counts(on connection: StoreConnection) throws(StoreError) -> [String: [DeviceState: Int64]] {
        try StoreError.wrap { () throws(PGError) in
            var counts: [String: [DeviceState: Int64]] = [:]
            for row in try connection.pg.execute("SELECT sensor, state, count(*) FROM devices GROUP BY 1, 2").rows {
                guard let sensor = row[0], let state = row[1].flatMap(DeviceState.init(rawValue:)), let count = row[2].flatMap({ Int64($0) }) else { continue }
                counts[sensor, default: [:]][state] = count
            }
            return counts
        }
    }
}
