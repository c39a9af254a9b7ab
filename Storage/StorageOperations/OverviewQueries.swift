import Postgres
import StorageCore
import StorageReader

/// The overview's counts: four small statements, none of them a scan of readings (devices is one row
/// per device; `reading_counts` at most 60 × 8 rows per sensor type; dead letters by their time index;
/// open alerts by their partial index).
public enum OverviewQueries {
    /// Per sensor type (nil: dead letters of no sensor type), from one database.
    public static func counts(now: Int64, on connection: StoreConnection) throws(StoreError) -> [String?: SensorOverview] {
        try StoreError.wrap { () throws(PGError) in
            let pg = connection.pg
            var lines: [String?: SensorOverview] = [:]
            func update(_ sensor: String?, _ body: (inout SensorOverview) -> Void) {
                var line = lines[sensor] ?? SensorOverview(sensor: sensor)
                body(&line)
                lines[sensor] = line
            }
            for row in try pg.execute("SELECT sensor, state, count(*) FROM devices GROUP BY sensor, state").rows {
                let count = Int64(row[2]!) ?? 0
                update(row[0]) {
                    $0.devices += count
                    $0.devicesByState[row[1] ?? "online", default: 0] += count
                }
            }
            let minute = now >= 0 ? now / 60_000_000 * 60_000_000 : 0
            let counts = try pg.query("""
                SELECT sensor, sum(readings), coalesce(sum(readings) FILTER (WHERE bucket >= \(SQLTime.timestamp("$2"))), 0)
                FROM reading_counts WHERE bucket >= \(SQLTime.timestamp("$1")) AND bucket <= \(SQLTime.timestamp("$2"))
                GROUP BY sensor
                """, [String(minute - 59 * 60_000_000), String(minute)])
            for row in counts.rows {
                update(row[0]) {
                    $0.readingsLastHour = Int64(row[1]!) ?? 0
                    $0.readingsLastMinute = Int64(row[2]!) ?? 0
                }
            }
            let rejected = try pg.query(
                "SELECT sensor, count(*) FROM rejected WHERE received_at >= \(SQLTime.timestamp("$1")) GROUP BY sensor",
                [String(now - 3_600_000_000)])
            for row in rejected.rows {
                update(row[0]) { $0.rejectedLastHour = Int64(row[1]!) ?? 0 }
            }
            for row in try pg.execute("SELECT sensor, count(*) FROM alert_episodes WHERE cleared_at IS NULL GROUP BY sensor").rows {
                update(row[0]) { $0.openAlerts = Int64(row[1]!) ?? 0 }
            }
            return lines
        }
    }
}
