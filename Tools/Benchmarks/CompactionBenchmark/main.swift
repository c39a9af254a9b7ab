// What a reading costs at rest before and after compaction (docs/storage.md), how fast compaction is, and
// whether reads and writes notice it. Run it with scripts/bench-compaction.sh (a private PostgreSQL, release
// build, a Markdown report on stdout).
//
//   CompactionBenchmark --database URL [--devices 1000] [--hours 24] [--interval 10] [--sensors a,b]
//                       [--iterations 30] [--ingest-seconds 10] [--time device|receive]
//
// Per sensor type: the emulator's signals (SignalModel) for `devices` devices, one reading per `interval`
// seconds over `hours`, written through the platform's BatchWriter; sizes measured after VACUUM (heap,
// indexes, TOAST: pg_total_relation_size), then compacted with `Compaction.run` and measured again. Beside
// them a bare table with the same key and rows, the floor without a codec. Reads (the first sensor type):
// p50/p99 of the storage calls the routes make, both ways. Ingest: BatchWriter throughput and batch latency
// in windows that alternate between the compactor idle and working through a backlog (IngestWhileCompacting).
import Foundation
import Postgres
import SensorModel
import StorageCore
import StorageOperations
import StorageReader
import StorageWriter
import DeviceEmulator
import TestSupport

func option(_ name: String, _ fallback: String) -> String {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: "--\(name)"), index + 1 < arguments.count else { return fallback }
    return arguments[index + 1]
}

func log(_ text: String) { FileHandle.standardError.write(Data("[bench] \(text)\n".utf8)) }

let databaseURL = option("database", ProcessInfo.processInfo.environment["TELEMETRY_DATABASE_URL"] ?? "")
guard !databaseURL.isEmpty else {
    log("usage: CompactionBenchmark --database postgresql://... [--devices N] [--hours N] [--interval SECONDS]")
    exit(2)
}
let deviceCount = Int(option("devices", "1000"))!
let hours = Int(option("hours", "24"))!
let interval = Int64(option("interval", "10"))!
let iterations = Int(option("iterations", "30"))!
/// Each of the ten alternating ingest windows (0: none).
let ingestSeconds = Int(option("ingest-seconds", "10"))!
/// The compactor's pause beside ingestion (`Compaction.run`): the query service's schedule by default.
let pace = Double(option("pause", "9"))!
/// device: times on whole seconds as devices stamp them (the emulator's TM frames); receive: the ingest
/// service's receive time, microseconds with milliseconds of jitter.
let receiveTimes = option("time", "device") == "receive"
/// tm: values as the emulator's default profile delivers them (TM frames of float32: 21.4 arrives as
/// 21.399999618530273); decimal: as a JSON device sends them (21.4).
let float32Values = option("values", "tm") == "tm"
let catalog = try Catalog.load(directory: option("catalog", "config/sensors"))
let chosen = option("sensors", "").split(separator: ",").map(String.init)
/// In the order given (reads and ingest use the first).
let sensors = chosen.isEmpty ? catalog.sensors : chosen.compactMap { catalog[$0] }
let start: Int64 = 1_767_225_600_000_000  // 2026-01-01T00:00:00Z
let steps = hours * 3600 / Int(interval)
let end = start + Int64(steps) * interval * 1_000_000

/// Writes the data set: `stepsPerBatch` readings of every device per batch, each device its own signal and
/// phase (a device reports at its own second of the interval).
func write(_ sensor: SensorType, into writer: BatchWriter, origin: Int64 = start) throws -> (readings: Int, seconds: Double) {
    var signals = (0..<deviceCount).map { SignalModel(sensor: sensor, seed: UInt64($0) &+ 0xC0_4AC7) }
    var jitter = SplitMix64(seed: 26)
    var values = [Double](repeating: 0, count: sensor.fields.count)
    let stepsPerBatch = max(1, 20_000 / deviceCount)
    var written = 0
    let clock = ContinuousClock.now
    for first in stride(from: 0, to: steps, by: stepsPerBatch) {
        var batch = IngestBatch(fieldCount: sensor.fields.count, capacity: deviceCount * stepsPerBatch)
        for device in 0..<deviceCount {
            let rowStart = batch.readings.count
            for step in first..<min(first + stepsPerBatch, steps) {
                var time = origin + (Int64(step) * interval + Int64(device) % interval) * 1_000_000
                if receiveTimes { time += Int64(jitter.next() % 8_000) + 2_000 }  // 2-10 ms after the send
                signals[device].next(at: time, into: &values)
                let row = batch.readings.appendRow(time: time, seq: Int64(step))
                for field in values.indices { batch.readings.set(field: field, row: row, float32Values ? Double(Float(values[field])) : values[field]) }
            }
            batch.closeSpan(device: "dev-\(device)", from: rowStart)
        }
        written += try writer.write(batch).inserted
    }
    return (written, (ContinuousClock.now - clock) / .seconds(1))
}

struct Sizes {
    var readings = 0, blocks = 0, rollup1m = 0, rollup1h = 0
    var total: Int { readings + blocks + rollup1m + rollup1h }
}

func total(_ tables: [String], on connection: PGConnection) throws -> Int {
    guard !tables.isEmpty else { return 0 }
    let list = tables.map { "pg_total_relation_size('\($0.replacingOccurrences(of: "'", with: "''"))')" }.joined(separator: " + ")
    return Int(try connection.query("SELECT \(list)")[0, 0] ?? "0") ?? 0
}

func sizes(_ sensor: SensorType, on connection: PGConnection) throws -> Sizes {
    let tables = SensorTables(sensor)
    try connection.execute("VACUUM ANALYZE")
    let partitions = try RetentionPolicy.partitionDays(tables, on: connection).map { tables.quoted($0.name) }
    let blocks = try RetentionPolicy.partitionDays(tables, blocks: true, on: connection).map { tables.quoted($0.name) }
    return Sizes(
        readings: try total(partitions, on: connection), blocks: try total(blocks, on: connection),
        rollup1m: try total([tables.rollup1m], on: connection), rollup1h: try total([tables.rollup1h], on: connection))
}

/// The floor without a codec: the same rows in one plain table with the same key.
func bareTableBytes(_ sensor: SensorType, on connection: PGConnection) throws -> Int {
    let tables = SensorTables(sensor)
    let columns = (["device_id", "time", "seq"] + tables.fieldColumns).joined(separator: ", ")
    try connection.execute("""
        DROP TABLE IF EXISTS bare;
        CREATE TABLE bare (device_id int4 NOT NULL, time timestamptz NOT NULL, seq int8, \(tables.fieldColumns.map { "\($0) float8" }.joined(separator: ", ")),
                           PRIMARY KEY (device_id, time));
        INSERT INTO bare SELECT \(columns) FROM \(tables.readings) ORDER BY device_id, time
        """)
    try connection.execute("VACUUM ANALYZE bare")
    let bytes = try total(["bare"], on: connection)
    try connection.execute("DROP TABLE bare")
    return bytes
}

func perReading(_ bytes: Int, _ readings: Int) -> String { String(format: "%.2f", Double(bytes) / Double(readings)) }

func percentile(_ sorted: [Double], _ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }

/// p50 and p99 in milliseconds of `body`, after one warm-up call.
func latency(_ body: () throws -> Void) rethrows -> (p50: Double, p99: Double) {
    try body()
    var samples: [Double] = []
    for _ in 0..<iterations {
        let clock = ContinuousClock.now
        try body()
        samples.append((ContinuousClock.now - clock) / .milliseconds(1))
    }
    samples.sort()
    return (percentile(samples, 0.5), percentile(samples, 0.99))
}

struct ReadCase {
    var name: String
    var run: (PGConnection) throws -> Void
}

func readCases(_ sensor: SensorType, on connection: PGConnection) throws -> [ReadCase] {
    let queries = ReadingQueries(sensor: sensor)
    let names = try queries.deviceNames(on: connection)
    let one = names.keys.sorted()[deviceCount / 2]
    let day = min(end, start + Micros.perDay)
    let field = [0]
    return [
        ReadCase(name: "one device's day of raw readings (\(steps * Int(interval) >= 86_400 ? "8,640" : "all") rows, one call)") { connection in
            let rows = try queries.readings(deviceID: one, from: start, to: day, after: nil, ascending: true, limit: 100_000, on: connection)
            precondition(!rows.isEmpty)
        },
        ReadCase(name: "CSV export of that day (pages of 10,000 rows, formatted)") { connection in
            var cursor: Int64?
            var text = ""
            while true {
                let rows = try queries.readings(deviceID: one, from: start, to: day, after: cursor, ascending: true, limit: 10_000, on: connection)
                for reading in rows { text += "\(reading.time),\(reading.seq.map(String.init) ?? ""),\(reading.values.map { $0.map { "\($0)" } ?? "" }.joined(separator: ","))\r\n" }
                guard rows.count == 10_000, let last = rows.last else { break }
                cursor = last.time
            }
            precondition(!text.isEmpty)
        },
        ReadCase(name: "latest reading of one device") { connection in
            let latest = try queries.latest(deviceID: one, on: connection)
            precondition(latest != nil)
        },
        ReadCase(name: "one device's day of 1-minute aggregates, edges unaligned") { connection in
            let query = AggregateQuery(from: start + 30_000_000, to: day - 30_000_000, bucket: 60_000_000, fields: field, deviceIDs: [one], groupByDevice: false)
            let series = try queries.aggregates(query, deviceNames: names, on: connection)
            precondition(!series.isEmpty)
        },
        ReadCase(name: "a month of hourly aggregates, one device") { connection in
            let query = AggregateQuery(from: start - 29 * Micros.perDay, to: start + Micros.perDay, bucket: Micros.perHour, fields: field, deviceIDs: [one], groupByDevice: false)
            let series = try queries.aggregates(query, deviceNames: names, on: connection)
            precondition(!series.isEmpty)
        },
        ReadCase(name: "a month of hourly aggregates, \(deviceCount) devices") { connection in
            let query = AggregateQuery(from: start - 29 * Micros.perDay, to: start + Micros.perDay, bucket: Micros.perHour, fields: field, deviceIDs: nil, groupByDevice: true)
            let series = try queries.aggregates(query, deviceNames: names, on: connection)
            precondition(!series.isEmpty)
        },
    ]
}

/// 29 days of hourly rollups before the data set, as the month's aggregates read them (compaction never
/// touches rollups: the same rows are read both ways).
func seedEarlierHours(_ sensor: SensorType, on connection: PGConnection) throws {
    let tables = SensorTables(sensor)
    let field = sensor.fields[0].name
    try connection.query("""
        INSERT INTO \(tables.rollup1h) (device_id, bucket, \(tables.column(field, "count")), \(tables.column(field, "sum")), \(tables.column(field, "min")), \(tables.column(field, "max")))
        SELECT d.id, timestamptz 'epoch' + ($1::int8 + h * 3600000000::int8) * interval '1 microsecond', 360, 7200, 19, 21
        FROM devices d, generate_series(0, 29 * 24 - 1) h WHERE d.sensor = $2
        ON CONFLICT DO NOTHING
        """, [String(start - 29 * Micros.perDay), sensor.name])
}

/// Readings/s BatchWriter stores for `seconds` of new data (times after the data set), with `compacting`
/// running meanwhile on another connection.
/// Until no autovacuum worker runs (at most a minute): the windows compared start from the same quiet.
func waitForAutovacuum() throws {
    let connection = try PGConnection(url: databaseURL)
    for _ in 0..<600 {
        if try connection.query("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")[0, 0] == "0" { return }
        Thread.sleep(forTimeInterval: 0.1)
    }
}

// MARK: run

let admin = try PGConnection(url: databaseURL)
try Schema.migrate(admin, catalog: Catalog(sensors: sensors))
print("## Compaction, \(deviceCount) devices × \(hours) h, one reading per \(interval) s (\(receiveTimes ? "receive times: µs, 2-10 ms after the second" : "device times: whole seconds"); values \(float32Values ? "as TM float32 frames carry them" : "as decimal text carries them"))\n")
print("| sensor type | readings | written/s | hot: readings | 1m rollups | 1h rollups | bare table | compacted: blocks | heap left | compaction CPU (ours + PostgreSQL) per 1M | longest transaction | bytes before → after (reported) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
var reads: [(String, (Double, Double), (Double, Double))] = []
/// The latest reading once compacted blocks exist: of a device whose newest reading is hot (one written
/// after compaction), as every active device's in a running platform.
var latestHotBesideBlocks: (Double, Double)?
/// Per sensor type, the codec's output by column (times, seq, each field): where a block's bytes go.
var columnBytes: [(sensor: String, readings: Int, columns: [(String, Int)])] = []
for (index, sensor) in sensors.enumerated() {
    let connection = try PGConnection(url: databaseURL)
    let writer = BatchWriter(connection: connection, sensor: sensor)
    log("\(sensor.name): writing \(deviceCount * steps) readings")
    let (count, seconds) = try write(sensor, into: writer)
    let hot = try sizes(sensor, on: connection)
    let bare = try bareTableBytes(sensor, on: connection)
    var cases: [ReadCase] = []
    var before: [(Double, Double)] = []
    if index == 0 {
        try seedEarlierHours(sensor, on: connection)
        try connection.execute("ANALYZE")  // the plans of the reads before compaction see the month's rows too
        cases = try readCases(sensor, on: connection)
        try connection.execute("CHECKPOINT")
        try waitForAutovacuum()
        log("\(sensor.name): reads before compaction")
        before = try cases.map { item in try latency { try item.run(connection) } }
    }
    log("\(sensor.name): compacting")
    let backend = Int32(try connection.query("SELECT pg_backend_pid()")[0, 0]!)!
    let ownBefore = ownCPUSeconds(), backendBefore = processCPU(backend)
    let outcome = try Compaction.run(sensor: sensor, now: end + 3 * Micros.perHour, after: .seconds(7200), on: connection)
    let cpu = (ownCPUSeconds() - ownBefore, processCPU(backend) - backendBefore)
    let compacted = try sizes(sensor, on: connection)
    precondition(outcome.readings == count, "compacted \(outcome.readings) of \(count)")
    if index == 0 {
        try connection.execute("CHECKPOINT")
        try waitForAutovacuum()
        log("\(sensor.name): reads after compaction")
        let after = try cases.map { item in try latency { try item.run(connection) } }
        reads = zip(cases, zip(before, after)).map { ($0.name, $1.0, $1.1) }
        let queries = ReadingQueries(sensor: sensor)
        let names = try queries.deviceNames(on: connection)
        let one = names.keys.sorted()[deviceCount / 2]
        var batch = IngestBatch(fieldCount: sensor.fields.count, capacity: 1)
        let row = batch.readings.appendRow(time: end, seq: Int64(steps))
        for field in sensor.fields.indices { batch.readings.set(field: field, row: row, 1) }
        batch.closeSpan(device: names[one]!, from: 0)
        _ = try writer.write(batch)
        latestHotBesideBlocks = try latency {
            let latest = try queries.latest(deviceID: one, on: connection)
            precondition(latest?.time == end)
        }
    }
    let tables = SensorTables(sensor)
    let blockColumns = ["_times", "_seqs"] + tables.fieldColumns
    let sums = try connection.query("SELECT \(blockColumns.map { "coalesce(sum(octet_length(\($0))), 0)" }.joined(separator: ", ")) FROM \(tables.blocks)")
    columnBytes.append((sensor.name, count, blockColumns.indices.map { (blockColumns[$0], Int(sums[0, $0] ?? "0") ?? 0) }))
    let millions = Double(count) / 1e6
    print("| \(sensor.name) | \(count) | \(Int(Double(count) / seconds)) | \(perReading(hot.readings, count)) | \(perReading(hot.rollup1m, count)) | \(perReading(hot.rollup1h, count)) | \(perReading(bare, count)) | **\(perReading(compacted.blocks, count))** | \(perReading(compacted.readings, count)) | \(String(format: "%.2f s + %.2f s", cpu.0 / millions, cpu.1 / millions)) | \(String(format: "%.0f ms", outcome.longestTransaction / .milliseconds(1))) | \(outcome.bytesBefore) → \(outcome.bytesAfter) |")
}
print("\nBytes per reading: pg_total_relation_size (heap, indexes, TOAST) after VACUUM; hot = before compaction. Longest transaction: the most a writer storing a late reading waits for compaction.\n")
print("### The codec's output by column, bits per reading (the rest of a block's bytes: its row, times' bounds, index entry)\n")
for entry in columnBytes {
    let parts = entry.columns.map { "\($0.0) \(String(format: "%.2f", Double($0.1 * 8) / Double(entry.readings)))" }
    let total = Double(entry.columns.reduce(0) { $0 + $1.1 } * 8) / Double(entry.readings)
    print("- \(entry.sensor): \(parts.joined(separator: ", ")); all columns \(String(format: "%.2f", total)) bits = \(String(format: "%.2f", total / 8)) bytes")
}
print("")
if !reads.isEmpty {
    print("### Reads of \(sensors[0].name), heap vs compacted (ms, \(iterations) runs each)\n")
    print("| read | heap p50 | heap p99 | compacted p50 | compacted p99 |")
    print("|---|---|---|---|---|")
    for (name, before, after) in reads {
        print("| \(name) | \(String(format: "%.2f", before.0)) | \(String(format: "%.2f", before.1)) | \(String(format: "%.2f", after.0)) | \(String(format: "%.2f", after.1)) |")
    }
    if let (p50, p99) = latestHotBesideBlocks {
        print("\nThe latest reading of that device once it sent one more (hot, its older readings in blocks): p50 \(String(format: "%.2f", p50)), p99 \(String(format: "%.2f", p99)) ms.")
    }
}
if ingestSeconds > 0, let sensor = sensors.first {
    // A backlog to compact: the same data set again, three days later; the live data ten days later.
    log("ingest: writing the backlog")
    let backlogWriter = BatchWriter(connection: try PGConnection(url: databaseURL), sensor: sensor)
    let origin = end + 3 * Micros.perDay
    _ = try write(sensor, into: backlogWriter, origin: origin)
    try PGConnection(url: databaseURL).execute("CHECKPOINT")
    try waitForAutovacuum()
    log("ingest: alternating windows, the compactor idle and working")
    let measurement = IngestWhileCompacting(
        sensor: sensor, windowSeconds: ingestSeconds, pairs: 5, origin: origin, backlogHours: hours, backlogDevices: deviceCount,
        liveOrigin: end + 10 * Micros.perDay, pause: pace)
    IngestWhileCompacting.report(try measurement.run(), sensor: sensor, windowSeconds: ingestSeconds, pause: pace)
}
