// Query latency over the REST API against a seeded PostgreSQL, compared with the same aggregates as
// raw GROUP BY SQL. Run it with scripts/bench-query.sh (starts PostgreSQL, builds in release mode).
//
//   QueryBenchmark --database URL [--devices 1000] [--days 8] [--interval 12] [--iterations 50] [--raw 0]
//                  [--concurrency 8] [--cases TEXT]   (--cases: only the cases whose name contains TEXT)
import Foundation
import Hummingbird
import Logging
import Postgres
import Prometheus
import QueryService
import SensorModel
import StorageCore
import StorageEvents
import TestSupport

func option(_ name: String, _ fallback: String?) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: "--\(name)"), index + 1 < arguments.count else { return fallback }
    return arguments[index + 1]
}

func log(_ text: String) { FileHandle.standardError.write(Data("[bench] \(text)\n".utf8)) }

guard let databaseURL = option("database", ProcessInfo.processInfo.environment["TELEMETRY_DATABASE_URL"]) else {
    log("usage: QueryBenchmark --database postgresql://... [--devices N] [--days N] [--interval SECONDS] [--iterations N]")
    exit(2)
}
let devices = Int(option("devices", "1000")!)!
let days = Int(option("days", "8")!)!
let interval = Int(option("interval", "12")!)!
let iterations = Int(option("iterations", "50")!)!
let skipRaw = option("raw", "1") == "0"  // --raw 0: API cases only (quick iterations while tuning)
let temperature = SensorType(name: "temperature", fields: [Field(name: "celsius", unit: "Cel", min: -90, max: 150)])
let firstDay = Micros.day(of: 1_767_225_600_000_000)  // 2026-01-01
let seeder = Seeder(url: databaseURL, sensor: temperature, devices: devices, days: days, intervalSeconds: interval, firstDay: firstDay)
try seeder.seedIfNeeded(log: log)

// The query service in process, on a real port, with its normal read pool.
let port = Int(option("port", "18089")!)!
let catalog = try Catalog(sensors: [temperature])
let settings = QuerySettings(databaseURL: databaseURL, host: "127.0.0.1", port: port, tokens: [], catalog: catalog, readPoolSize: 4)
let app = buildApplication(settings: settings, registry: PrometheusCollectorRegistry(), logger: Logger(label: "bench"))
Task.detached { try await app.runService() }  // off the main actor: the measuring below blocks it
var client: LoopbackHTTPConnection?
for _ in 0..<100 where client == nil {
    client = try? LoopbackHTTPConnection(port: port)
    if client == nil { Thread.sleep(forTimeInterval: 0.05) }
}
guard let client else { log("the query service did not start on port \(port)"); exit(1) }

func percentile(_ sorted: [Double], _ p: Double) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))] }

struct Row {
    var name: String
    var p50: Double
    var p99: Double
    var runs: Int
    var note: String
}
var rows: [Row] = []

let onlyCases = option("cases", nil)?.lowercased()
func wanted(_ name: String) -> Bool { onlyCases.map { name.lowercased().contains($0) } ?? true }
@MainActor func record(_ row: Row?) { if let row { rows.append(row) } }

/// Times `body` (milliseconds) after one warm-up run; `before` runs untimed ahead of each run. Nil when
/// `--cases` leaves the case out.
func measure(_ name: String, runs: Int, note: String = "", before: (Int) throws -> Void = { _ in }, _ body: (Int) throws -> String) throws -> Row? {
    guard wanted(name) else { return nil }
    try before(0)
    _ = try body(0)
    var times: [Double] = []
    var lastNote = note
    for run in 0..<runs {
        try before(run + 1)
        let start = DispatchTime.now().uptimeNanoseconds
        lastNote = try body(run + 1)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    times.sort()
    let row = Row(name: name, p50: percentile(times, 0.5), p99: percentile(times, 0.99), runs: runs, note: note.isEmpty ? lastNote : note)
    log(String(format: "%@: p50 %.2f ms, p99 %.2f ms (%@)", name, row.p50, row.p99, row.note))
    return row
}

func device(_ run: Int) -> String { "dev-" + String(repeating: "0", count: 5 - String(run % devices + 1).count) + String(run % devices + 1) }
func api(_ path: String) throws -> String {
    let (status, body) = try client.get(path)
    guard status == 200 else { throw BenchmarkError("GET \(path): \(status) \(String(decoding: body.prefix(300), as: UTF8.self))") }
    return "\(body.count / 1024) KiB"
}

let lastDay = firstDay + Int64(days) - 1
let dayFrom = lastDay * Micros.perDay / 1000, dayTo = (lastDay + 1) * Micros.perDay / 1000
let weekFrom = (lastDay - 6) * Micros.perDay / 1000
let sensorPath = "/v1/sensors/temperature"

record(try measure("API 1 day @ 1m, one device", runs: iterations * 4) { run in
    try api("\(sensorPath)/aggregates?bucket=1m&from=\(dayFrom)&to=\(dayTo)&device=\(device(run))")
})
record(try measure("API 1 day @ 1m, one device, unaligned", runs: iterations * 4) { run in
    try api("\(sensorPath)/aggregates?bucket=1m&from=\(dayFrom + 12_345)&to=\(dayTo - 54_321)&device=\(device(run))")
})
record(try measure("API 7 days @ 1h, all devices, group_by=device", runs: iterations) { _ in
    try api("\(sensorPath)/aggregates?bucket=1h&from=\(weekFrom)&to=\(dayTo)&group_by=device")
})
// What a live dashboard sees: a writer has just committed into the latest hour (its version bump, without
// changing the seeded rows), so the rollup cache reads that hour again from PostgreSQL.
let notifier = try PGConnection(url: databaseURL)
let lastHour = (lastDay + 1) * 24 - 1
record(try measure("API 7 days @ 1h, all devices, group_by=device, last hour just written", runs: iterations, before: { _ in
    _ = try notifier.query("""
        INSERT INTO rollup_versions VALUES ('temperature', $1, 0, nextval('rollup_version'))
        ON CONFLICT (sensor, hour, shard) DO UPDATE SET version = nextval('rollup_version')
        """, [String(lastHour)])
}) { _ in
    try api("\(sensorPath)/aggregates?bucket=1h&from=\(weekFrom)&to=\(dayTo)&group_by=device")
})
// Eight dashboards at once: the same week-by-hour request on eight keep-alive connections, released together.
let concurrency = Int(option("concurrency", "8")!)!
let weekPath = "\(sensorPath)/aggregates?bucket=1h&from=\(weekFrom)&to=\(dayTo)&group_by=device"
var concurrentSummary: String?
let concurrentName = "API 7 days @ 1h, all devices, group_by=device, \(concurrency) at once (per request)"
if wanted(concurrentName) {
    let clients = try (0..<concurrency).map { _ in try LoopbackHTTPConnection(port: port) }
    let rounds = max(5, iterations / 2)
    var perRequest: [Double] = []
    var walls: [Double] = []
    for round in 0...rounds {  // round 0 warms up
        let (times, wall) = try concurrentRound(clients, path: weekPath)
        if round > 0 { perRequest += times; walls.append(wall) }
    }
    perRequest.sort()
    walls.sort()
    let note = String(format: "all %d answered in p50 %.2f ms, p99 %.2f ms", concurrency, percentile(walls, 0.5), percentile(walls, 0.99))
    let row = Row(name: concurrentName, p50: percentile(perRequest, 0.5), p99: percentile(perRequest, 0.99), runs: perRequest.count, note: note)
    log(String(format: "%@: p50 %.2f ms, p99 %.2f ms (%@)", row.name, row.p50, row.p99, note))
    concurrentSummary = String(format: "%d concurrent requests of 7 days @ 1h, all devices, group_by=device (%d rounds): per request p50 %.2f ms, p99 %.2f ms, "
                               + "max %.2f ms; all %d answered in p50 %.2f ms, p99 %.2f ms (wall time of a round)",
                               concurrency, rounds, row.p50, row.p99, perRequest.last ?? 0, concurrency, percentile(walls, 0.5), percentile(walls, 0.99))
    rows.append(row)
}
// And with the rollup cache off (every request reads PostgreSQL), as after a restart or for a first request.
let uncachedPort = Int(option("port2", String(port + 1))!)!
var uncachedSettings = settings
uncachedSettings.port = uncachedPort
uncachedSettings.rollupCacheMB = 0
let uncachedApp = buildApplication(settings: uncachedSettings, registry: PrometheusCollectorRegistry(), logger: Logger(label: "bench"))
Task.detached { try await uncachedApp.runService() }
var uncachedClient: LoopbackHTTPConnection?
for _ in 0..<100 where uncachedClient == nil {
    uncachedClient = try? LoopbackHTTPConnection(port: uncachedPort)
    if uncachedClient == nil { Thread.sleep(forTimeInterval: 0.05) }
}
guard let uncachedClient else { log("the uncached query service did not start on port \(uncachedPort)"); exit(1) }
record(try measure("API 7 days @ 1h, all devices, group_by=device, rollup cache off", runs: max(5, iterations / 2)) { _ in
    let (status, body) = try uncachedClient.get("\(sensorPath)/aggregates?bucket=1h&from=\(weekFrom)&to=\(dayTo)&group_by=device")
    guard status == 200 else { throw BenchmarkError("uncached: \(status)") }
    return "\(body.count / 1024) KiB"
})
record(try measure("API latest, one device", runs: iterations * 4) { run in
    try api("\(sensorPath)/devices/\(device(run))/latest")
})
record(try measure("API 1 hour of raw readings, one device", runs: iterations * 4) { run in
    try api("\(sensorPath)/devices/\(device(run))/readings?from=\(dayFrom)&to=\(dayFrom + 3_600_000)")
})

// The same answers as plain SQL over the raw rows (what a table without rollups would cost).
let sql = try PGConnection(url: databaseURL)
let rawDay = """
    SELECT date_bin(interval '1 minute', time, timestamptz 'epoch') AS b, count(celsius), sum(celsius), min(celsius), max(celsius)
    FROM temperature WHERE device_id = (SELECT id FROM devices WHERE sensor = 'temperature' AND device = $1)
      AND time >= timestamptz 'epoch' + $2::int8 * interval '1 millisecond' AND time < timestamptz 'epoch' + $3::int8 * interval '1 millisecond'
    GROUP BY 1 ORDER BY 1
    """
record(try measure("SQL raw GROUP BY 1 day @ 1m, one device", runs: iterations) { run in
    "\(try sql.query(rawDay, [device(run), String(dayFrom), String(dayTo)]).rows.count) rows"
})
let rawWeek = """
    SELECT device_id, date_bin(interval '1 hour', time, timestamptz 'epoch') AS b, count(celsius), sum(celsius), min(celsius), max(celsius)
    FROM temperature
    WHERE time >= timestamptz 'epoch' + $1::int8 * interval '1 millisecond' AND time < timestamptz 'epoch' + $2::int8 * interval '1 millisecond'
    GROUP BY 1, 2 ORDER BY 1, 2
    """
if !skipRaw { record(try measure("SQL raw GROUP BY 7 days @ 1h, all devices", runs: max(3, iterations / 10)) { _ in
    "\(try sql.query(rawWeek, [String(weekFrom), String(dayTo)]).rows.count) rows"
}) }
record(try measure("SQL raw latest, one device", runs: iterations * 4) { run in
    "\(try sql.query("SELECT time, celsius FROM temperature WHERE device_id = (SELECT id FROM devices WHERE sensor = 'temperature' AND device = $1) ORDER BY time DESC LIMIT 1", [device(run)]).rows.count) rows"
})

let readings = try sql.query("SELECT count(*) FROM temperature")[0, 0] ?? "?"
print("\nQuery benchmark: \(readings) readings, \(devices) devices, \(days) days, release build, 2 cores\n")
print("| case | p50 ms | p99 ms | runs | response |")
print("|---|---:|---:|---:|---|")
for row in rows { print(String(format: "| %@ | %.2f | %.2f | %d | %@ |", row.name, row.p50, row.p99, row.runs, row.note)) }
if let concurrentSummary { print("\n" + concurrentSummary) }
@MainActor func speedup(_ api: String, _ raw: String) -> String {
    guard let a = rows.first(where: { $0.name == api }), let r = rows.first(where: { $0.name == raw }) else { return "?" }
    return String(format: "%.0f×", r.p50 / a.p50)
}
if wanted("SQL raw") { print("\nSpeed-up over raw GROUP BY (p50): 1 day @ 1m one device \(speedup("API 1 day @ 1m, one device", "SQL raw GROUP BY 1 day @ 1m, one device")), "
      + "7 days @ 1h all devices \(speedup("API 7 days @ 1h, all devices, group_by=device", "SQL raw GROUP BY 7 days @ 1h, all devices"))") }
exit(0)
