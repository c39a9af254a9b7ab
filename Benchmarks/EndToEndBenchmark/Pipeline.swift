import DeviceEmulator
import Foundation
import MQTT
import Postgres
import SensorModel

/// A started service process, and its memory as the kernel reports it.
final class BenchProcess: @unchecked Sendable {
    let process = Process()

    init(_ path: String, arguments: [String], environment: [String: String], log: String) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)!
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(pid, SIGKILL) }
    }
}

/// Resident memory of a process in MB: (now, peak).
func residentMemory(pid: Int32) -> (Double, Double) {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return (0, 0) }
    func value(_ key: String) -> Double {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return 0 }
        return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
    }
    return (value("VmRSS:"), value("VmHWM:"))
}

/// Rows inserted so far into a sensor type's partitions, from PostgreSQL's statistics (cheap to poll).
func insertedRows(_ connection: PGConnection, table: String) throws -> Int {
    _ = try connection.query("SELECT pg_stat_clear_snapshot()")
    let result = try connection.query(
        "SELECT coalesce(sum(n_tup_ins), 0)::int8 FROM pg_stat_user_tables WHERE relname LIKE $1", [table + "_p%"])
    return Int(result[0, 0] ?? "0") ?? 0
}

struct RunResult {
    var sentReadings: Int
    var ackedReadings: Int
    var storedReadings: Int
    var missing: Int
    var duplicated: Int
    var sendRate: Double
    /// Rows per second committed while the load ran (from the middle of the run).
    var storeRate: Double
    /// Seconds after the last publish until every acknowledged reading was stored.
    var drainSeconds: Double
    var emulatorReport: EmulatorReport
    var devices: [EmulatedDevice]
}

/// Runs the emulator in process against the running ingest service and verifies the outcome.
func runLoad(
    sensor: SensorType, mqtt: MQTTURL, database: String, samples: Int, rate: Double, seconds: Double, devices: Int, connections: Int
) throws -> RunResult {
    var options = EmulatorOptions(sensors: [sensor])
    options.devices = devices
    options.samples = samples
    options.rate = rate
    options.qos = 1
    options.duration = .milliseconds(Int64(seconds * 1000))
    options.connections = connections
    options.devicePrefix = "bench\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    options.sampleSpacing = max(1, Int64(Double(devices) / rate * 1e6) / Int64(samples))
    options.maxInflight = 2000
    let emulator = Emulator(options: options, url: mqtt)
    let stats = try PGConnection(url: database)
    let before = try insertedRows(stats, table: sensor.name)
    let clock = ContinuousClock()
    let start = clock.now
    // Store rate over the middle of the run: skip the first fifth (warm-up) and stop before the end.
    let window = (seconds * 0.2, seconds * 0.9)
    let samplesBox = SampleBox()
    let sampler = Thread {
        guard let connection = try? PGConnection(url: database) else { return }
        for mark in [window.0, window.1] {
            while (clock.now - start).seconds < mark { Thread.sleep(forTimeInterval: 0.05) }
            samplesBox.append((clock.now - start).seconds, (try? insertedRows(connection, table: sensor.name)) ?? 0)
        }
    }
    sampler.start()
    let report = try emulator.run { _ in }
    let end = clock.now
    let verifier = Verifier(databaseURL: database)
    let lines = try verifier.verify(report: report, devices: emulator.devices, timeout: .seconds(120))
    let drained = clock.now
    let points = samplesBox.points
    let storeRate = points.count == 2 ? Double(points[1].1 - points[0].1) / (points[1].0 - points[0].0) : 0
    _ = before
    return RunResult(
        sentReadings: report.sentReadings, ackedReadings: report.ackedReadings,
        storedReadings: lines.reduce(0) { $0 + $1.stored }, missing: lines.reduce(0) { $0 + $1.missing },
        duplicated: lines.reduce(0) { $0 + $1.duplicated }, sendRate: Double(report.sentReadings) / report.elapsed,
        storeRate: storeRate, drainSeconds: (drained - end).seconds, emulatorReport: report, devices: emulator.devices)
}

final class SampleBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [(Double, Int)] = []
    func append(_ time: Double, _ rows: Int) { lock.lock(); values.append((time, rows)); lock.unlock() }
    var points: [(Double, Int)] { lock.lock(); defer { lock.unlock() }; return values }
}

/// Publish→commit latency of each message of a run, from PostgreSQL's commit timestamps
/// (track_commit_timestamp) against the message's first reading time, which the emulator sets at publish.
func commitLatency(database: String, sensor: SensorType, devicePrefix: String) throws -> (Double, Double)? {
    let connection = try PGConnection(url: database)
    let result = try connection.query("""
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag), percentile_cont(0.99) WITHIN GROUP (ORDER BY lag)
        FROM (
            SELECT extract(epoch FROM max(pg_xact_commit_timestamp(r.xmin)) - min(r.time)) * 1000 AS lag
            FROM "\(sensor.name)" r JOIN devices d ON d.id = r.device_id
            WHERE d.sensor = $1 AND d.device LIKE $2
            GROUP BY r.device_id, r.seq
        ) AS messages
        """, [sensor.name, devicePrefix + "-%"])
    guard let p50 = result[0, 0].flatMap(Double.init), let p99 = result[0, 1].flatMap(Double.init) else { return nil }
    return (p50, p99)
}
