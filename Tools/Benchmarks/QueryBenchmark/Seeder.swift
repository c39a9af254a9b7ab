import Foundation
import Postgres
import SensorModel
import StorageCore
import StorageOperations

/// Fills the temperature table fast with SQL alone: each day is built as a plain table (rows generated
/// in key order, primary key built in bulk afterwards) and attached as that day's partition; rollups
/// come from INSERT .. SELECT .. GROUP BY. Much faster on 2 cores than per-row index maintenance.
struct Seeder {
    let url: String
    let sensor: SensorType
    let devices: Int
    let days: Int
    let intervalSeconds: Int
    let firstDay: Int64

    var tables: SensorTables { SensorTables(sensor) }
    var expectedRows: Int { devices * days * (86_400 / intervalSeconds) }

    /// Seeds unless the table already holds exactly what these settings make.
    func seedIfNeeded(log: @escaping @Sendable (String) -> Void) throws {
        let connection = try PGConnection(url: url)
        try Schema.migrate(connection, catalog: try Catalog(sensors: [sensor]))
        let have = Int(try connection.query("SELECT count(*) FROM \(tables.readings)")[0, 0] ?? "0") ?? 0
        if have == expectedRows {
            log("database already seeded: \(have) readings")
            return
        }
        log("seeding \(expectedRows) readings: \(devices) devices × \(days) days, one every \(intervalSeconds) s")
        try connection.execute("TRUNCATE \(tables.readings), \(tables.rollup1m), \(tables.rollup1h); DELETE FROM devices WHERE sensor = '\(sensor.name)'")
        for partition in try RetentionPolicy.partitionDays(tables, on: connection) {
            try connection.execute("DROP TABLE \(tables.quoted(partition.name))")
        }
        try connection.query("""
            INSERT INTO devices (sensor, device, first_seen, last_seen)
            SELECT $1, 'dev-' || lpad(i::text, 5, '0'), timestamptz 'epoch' + $2::int8 * interval '1 day', timestamptz 'epoch' + $3::int8 * interval '1 day'
            FROM generate_series(1, $4::int4) i
            """, [sensor.name, String(firstDay), String(firstDay + Int64(days)), String(devices)])
        let start = Date()
        // One day per worker at a time: two cores, two connections.
        let next = NSLock()
        nonisolated(unsafe) var day = 0
        nonisolated(unsafe) var failure: (any Error)?
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            do {
                let worker = try PGConnection(url: url)
                try worker.execute("SET synchronous_commit = off; SET maintenance_work_mem = '512MB'; SET work_mem = '256MB'")
                while true {
                    next.lock()
                    let mine = day
                    day += 1
                    next.unlock()
                    guard mine < days else { return }
                    let t0 = Date()
                    try seed(day: firstDay + Int64(mine), on: worker)
                    log(String(format: "  day %d/%d seeded in %.1f s", mine + 1, days, Date().timeIntervalSince(t0)))
                }
            } catch {
                next.lock(); failure = error; next.unlock()
            }
        }
        if let failure { throw failure }
        try connection.execute("ANALYZE \(tables.readings); ANALYZE \(tables.rollup1m); ANALYZE \(tables.rollup1h); ANALYZE devices")
        log(String(format: "seeded %d readings in %.0f s", expectedRows, Date().timeIntervalSince(start)))
    }

    private func seed(day: Int64, on connection: PGConnection) throws {
        let name = tables.partitionName(day: day)
        let from = CivilDate(daysSinceEpoch: day).iso + " 00:00:00+00", to = CivilDate(daysSinceEpoch: day + 1).iso + " 00:00:00+00"
        let column = tables.quoted(sensor.fields[0].name)
        let ids = "SELECT id FROM devices WHERE sensor = '\(sensor.name)'"
        try connection.execute("""
            DROP TABLE IF EXISTS \(name);
            CREATE UNLOGGED TABLE \(name) (LIKE \(tables.readings) INCLUDING DEFAULTS);
            INSERT INTO \(name) (device_id, time, seq, \(column))
            SELECT d.id, t, NULL, round((20 + 8 * sin(extract(epoch from t) / 3600 + d.id) + random())::numeric, 3)::float8
            FROM (\(ids) ORDER BY id) d
            CROSS JOIN generate_series(timestamptz '\(from)', timestamptz '\(to)' - interval '1 microsecond', interval '\(intervalSeconds) seconds') t;
            ALTER TABLE \(name) SET LOGGED;
            ALTER TABLE \(name) ADD PRIMARY KEY (device_id, time);
            ALTER TABLE \(name) ADD CONSTRAINT \(tables.quoted("\(sensor.name)_range_\(day)")) CHECK (time >= '\(from)' AND time < '\(to)');
            ALTER TABLE \(tables.readings) ATTACH PARTITION \(name) FOR VALUES FROM ('\(from)') TO ('\(to)');
            INSERT INTO \(tables.rollup1m) (device_id, bucket, \(tables.column(sensor.fields[0].name, "count")), \(tables.column(sensor.fields[0].name, "sum")), \(tables.column(sensor.fields[0].name, "min")), \(tables.column(sensor.fields[0].name, "max")))
            SELECT device_id, date_trunc('minute', time), count(\(column)), sum(\(column)), min(\(column)), max(\(column))
            FROM \(name) GROUP BY 1, 2;
            INSERT INTO \(tables.rollup1h) (device_id, bucket, \(tables.column(sensor.fields[0].name, "count")), \(tables.column(sensor.fields[0].name, "sum")), \(tables.column(sensor.fields[0].name, "min")), \(tables.column(sensor.fields[0].name, "max")))
            SELECT device_id, date_trunc('hour', time), count(\(column)), sum(\(column)), min(\(column)), max(\(column))
            FROM \(name) GROUP BY 1, 2
            """)
    }
}
