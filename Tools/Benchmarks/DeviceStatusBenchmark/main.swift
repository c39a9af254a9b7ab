// Device status at fleet size: how long the status pass (StorageOperations' DeviceStatus.evaluate) takes
// over 100,000 devices while the writers keep refreshing their last_heard, and how soon 1,000 devices that
// stop sending are found silent. Run it with scripts/bench-status.sh (a private PostgreSQL, release build).
//
//   DeviceStatusBenchmark --database URL [--devices 100000] [--stopping 1000] [--interval-seconds 10]
//                         [--factor 3] [--pass-seconds 5] [--warmup-seconds 20]
//
// The writers' side is simulated by SQL: every second a fifth of the live devices get last_heard = now, as
// the writers do when a device's last_heard is half its expected interval old (DeviceRegistry). A silent
// device is due at its last_heard + interval × factor; "late" is how long after that the pass logged it.
import Foundation
import Postgres
import SensorModel
import StorageCore
import StorageEvents
import StorageOperations

func option(_ name: String, _ fallback: String) -> String {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: "--\(name)"), index + 1 < arguments.count else { return fallback }
    return arguments[index + 1]
}

func log(_ text: String) { FileHandle.standardError.write(Data("[bench] \(text)\n".utf8)) }
func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }

guard let databaseURL = ProcessInfo.processInfo.environment["BENCH_DATABASE_URL"] ?? CommandLine.arguments.firstIndex(of: "--database").map({ CommandLine.arguments[$0 + 1] }) else {
    log("usage: DeviceStatusBenchmark --database postgresql://...")
    exit(2)
}
let deviceCount = Int(option("devices", "100000"))!
let stoppingCount = Int(option("stopping", "1000"))!
let intervalSeconds = Int(option("interval-seconds", "10"))!
let factor = Int(option("factor", "3"))!
let passSeconds = Double(option("pass-seconds", "5"))!
let warmup = Double(option("warmup-seconds", "20"))!
let sensor = SensorType(
    name: "status_bench", fields: [Field(name: "celsius", unit: "Cel", min: -90, max: 150)], expectedInterval: .seconds(Int64(intervalSeconds)))

let setup = try StoreConnection(url: databaseURL)
try Schema.migrate(setup, sensors: [sensor])
_ = try setup.pg.query("DELETE FROM devices WHERE sensor = $1", [sensor.name])
_ = try setup.pg.execute("TRUNCATE device_state_changes")
_ = try setup.pg.query("""
    INSERT INTO devices (sensor, device, first_seen, last_seen, last_heard, state, state_since)
    SELECT $1, 'dev-' || lpad(n::text, 6, '0'), now(), now(), now(), 'online', now() FROM generate_series(1, $2) AS n
    """, [sensor.name, String(deviceCount)])
_ = try setup.pg.execute("VACUUM ANALYZE devices")
log("seeded \(deviceCount) devices")

// The devices that stop: every (deviceCount / stoppingCount)-th.
let stride = max(1, deviceCount / stoppingCount)
let stopping = Set((0..<stoppingCount).map { "dev-" + String(format: "%06d", 1 + $0 * stride) })
let stoppingArray = "{" + stopping.sorted().joined(separator: ",") + "}"
let stopped = LockedFlag()

// The writers: a fifth of the live devices each second.
let writers = Thread {
    guard let connection = try? PGConnection(url: databaseURL) else { return }
    var turn = 0
    while !stopped.isSet(.done) {
        let started = Date()
        let excluded = stopped.isSet(.stopping) ? stoppingArray : "{}"
        _ = try? connection.query(
            "UPDATE devices SET last_heard = now() WHERE sensor = $1 AND id % 5 = $2 AND NOT (device = ANY($3::text[]))",
            [sensor.name, String(turn % 5), excluded])
        turn += 1
        Thread.sleep(forTimeInterval: max(0, 1 - Date().timeIntervalSince(started)))
    }
}
writers.start()

final class LockedFlag: @unchecked Sendable {
    enum Flag { case stopping, done }
    private let lock = NSLock()
    private var flags: Set<Flag> = []
    func set(_ flag: Flag) { lock.withLock { _ = flags.insert(flag) } }
    func isSet(_ flag: Flag) -> Bool { lock.withLock { flags.contains(flag) } }
}

// Passes every passSeconds, timed; the stopping devices stop after the warm-up.
let pass = try StoreConnection(url: databaseURL)
var passMillis: [Double] = []
var steadyMillis: [Double] = []
var detected: [String: Int64] = [:]
var stopAt: Int64 = 0
let started = Date()
var lastHeard: [String: Int64] = [:]
while detected.count < stoppingCount {
    let elapsed = Date().timeIntervalSince(started)
    if stopAt == 0 && elapsed >= warmup {
        // What each stopping device was last heard at (before it stops, it was refreshed like the others).
        stopped.set(.stopping)
        stopAt = now()
        for row in try setup.pg.query(
            "SELECT device, \(SQLTime.micros("last_heard")) FROM devices WHERE sensor = $1 AND device = ANY($2::text[])",
            [sensor.name, stoppingArray]).rows
        {
            lastHeard[row[0]!] = Int64(row[1]!)!
        }
        log("\(stoppingCount) devices stop sending")
    }
    let t0 = Date()
    let changes = try DeviceStatus.evaluate(sensors: [sensor], silentFactor: Double(factor), now: now(), on: pass)
    let millis = Date().timeIntervalSince(t0) * 1000
    passMillis.append(millis)
    if changes.isEmpty { steadyMillis.append(millis) }
    let at = now()
    for change in changes where change.state == .silent && stopping.contains(change.device) { detected[change.device] = at }
    let wrong = changes.filter { !stopping.contains($0.device) }
    if !wrong.isEmpty { log("ERROR: \(wrong.count) devices that kept sending changed state: \(wrong.prefix(3))") }
    if elapsed > warmup + Double(intervalSeconds * factor) * 4 + 60 { log("ERROR: not all detected"); break }
    Thread.sleep(forTimeInterval: max(0, passSeconds - Date().timeIntervalSince(t0)))
}
stopped.set(.done)
writers.cancel()

let due = Int64(intervalSeconds * factor) * 1_000_000
let late = detected.map { Double($0.value - (lastHeard[$0.key]! + due)) / 1e6 }.sorted()
let sortedPasses = passMillis.sorted(), steady = steadyMillis.sorted()
func percentile(_ values: [Double], _ p: Double) -> Double { values.isEmpty ? 0 : values[min(values.count - 1, Int(Double(values.count) * p))] }
let size = try setup.pg.execute("SELECT pg_size_pretty(pg_total_relation_size('devices'))")[0, 0] ?? "?"
print("| devices | stopping | silent after | pass every | passes | pass p50 / max (ms) | without changes p50 (ms) | detected | late after due p50 / max (s) | devices table |")
print("|---:|---:|---|---|---:|---|---|---:|---|---|")
print(String(format: "| %d | %d | %d s × %d | %.0f s | %d | %.1f / %.1f | %.1f | %d | %.1f / %.1f | %@ |",
             deviceCount, stoppingCount, intervalSeconds, factor, passSeconds, passMillis.count, percentile(sortedPasses, 0.5), sortedPasses.last ?? 0,
             percentile(steady, 0.5), detected.count, percentile(late, 0.5), late.last ?? 0, size))
exit(detected.count == stoppingCount ? 0 : 1)
