import Foundation
import Postgres
import SensorModel

/// PostgreSQL by itself: binary COPY of the same rows into a table of the same shape (partitioned by
/// day, primary key (device_id, time)), in batches of `batchRows`, one connection. Returns rows per second.
func measurePostgresAlone(url: String, sensor: SensorType, rows: Int, batchRows: Int) throws -> Double {
    let connection = try PGConnection(url: url)
    let table = "bench_copy_\(UUID().uuidString.prefix(8).lowercased())"
    let columns = sensor.fields.map { "\"\($0.name)\" float8" }.joined(separator: ", ")
    try connection.execute("""
        CREATE TABLE \(table) (device_id int4 NOT NULL, time timestamptz NOT NULL, seq int8, \(columns),
            PRIMARY KEY (device_id, time)) PARTITION BY RANGE (time);
        CREATE TABLE \(table)_p PARTITION OF \(table) FOR VALUES FROM ('2026-01-01') TO ('2026-01-02')
        """)
    defer { _ = try? connection.execute("DROP TABLE \(table)") }
    let base: Int64 = 1_767_225_600_000_000
    var bodies: [[UInt8]] = []
    var made = 0
    while made < rows {
        let count = min(batchRows, rows - made)
        var copy = PGBinaryCopy(reservingCapacity: count * 64)
        for index in made..<(made + count) {
            copy.startRow(columns: 3 + sensor.fields.count)
            copy.appendInt32(Int32(index % 1000))
            copy.appendTimestamp(unixMicros: base + Int64(index / 1000) * 1000)
            copy.appendInt64(Int64(index / 10))
            for _ in sensor.fields { copy.appendFloat64OrNull(21.5 + Double(index % 100) * 0.01) }
        }
        bodies.append(copy.finish())
        made += count
    }
    let clock = ContinuousClock()
    let start = clock.now
    for body in bodies {
        try connection.transaction { (connection) throws(PGError) in
            _ = try connection.copyIn("COPY \(table) FROM STDIN (FORMAT binary)", data: body)
        }
    }
    return Double(rows) / (clock.now - start).seconds
}
