import Foundation
import Postgres
import SensorModel
import TestSupport

/// A started service process, and its memory as the kernel reports it.
final class BenchProcess: @unchecked Sendable {
    let process = Process()

    init(_ path: String, arguments: [String], environment: [String: String], log: String) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        _ = FileManager.default.createFile(atPath: log, contents: nil)
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

/// CPU seconds so far of the ingest service, the broker, PostgreSQL and the load generator (this process).
struct CPUSample {
    var ingest = 0.0
    var broker = 0.0
    var postgres = 0.0
    var generator = 0.0

    static func - (a: CPUSample, b: CPUSample) -> CPUSample {
        CPUSample(ingest: a.ingest - b.ingest, broker: a.broker - b.broker, postgres: a.postgres - b.postgres, generator: a.generator - b.generator)
    }

    /// "ingest 1.23, broker 2.34, PostgreSQL 3.45, load generator 0.50 CPU s per million readings".
    func perMillion(_ readings: Int) -> String {
        let scale = readings > 0 ? 1e6 / Double(readings) : 0
        return String(format: "ingest %.2f, broker %.2f, PostgreSQL %.2f, load generator %.2f CPU s per million readings",
                      ingest * scale, broker * scale, postgres * scale, generator * scale)
    }
}

struct CPUWatch {
    var ingest: Int32
    var broker: Int32?
    var postmaster: Int32?

    func sample() -> CPUSample {
        CPUSample(ingest: processCPU(ingest), broker: broker.map { processCPU($0) } ?? 0,
                  postgres: postmaster.map { postgresCPU(postmaster: $0) } ?? 0, generator: ownCPUSeconds())
    }
}

/// A new, empty database `name` on the server of `adminURL`; returns its URL.
func freshDatabase(_ name: String, admin adminURL: String) throws -> String {
    let admin = try PGConnection(url: adminURL)
    try admin.execute("DROP DATABASE IF EXISTS \(name)")
    try admin.execute("CREATE DATABASE \(name)")
    return adminURL[..<adminURL.lastIndex(of: "/")!] + "/" + name
}

/// The postmaster's pid: the first line of <data directory>/postmaster.pid.
func pidOfPostmaster(dataDirectory: String?) -> Int32? {
    dataDirectory.flatMap { try? String(contentsOfFile: $0 + "/postmaster.pid", encoding: .utf8) }
        .flatMap { $0.split(separator: "\n").first.flatMap { Int32($0) } }
}

// MARK: what PostgreSQL stored

/// Waits until the last message of every load generator connection is stored (the ingest service writes
/// in the order it receives), then until the table holds `readings` rows; returns the seconds waited, or
/// nil after `timeout` seconds.
func waitUntilStored(_ connection: PGConnection, table: String, sensor: String, load: LoadReport, readings: Int, timeout: Double) throws -> Double? {
    let start = Date()
    func late() -> Bool { Date().timeIntervalSince(start) > timeout }
    for last in load.lastMessages {
        while Int(try connection.query("""
            SELECT count(*) FROM \(table) r JOIN devices d ON d.id = r.device_id
            WHERE d.sensor = $1 AND d.device = $2 AND r.time = timestamptz 'epoch' + $3::int8 * interval '1 microsecond'
            """, [sensor, last.device, String(last.micros)])[0, 0] ?? "0") == 0 {
            if late() { return nil }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
    let waited = Date().timeIntervalSince(start)
    while try storedRows(connection, table: table) < readings {
        if late() { return nil }
        Thread.sleep(forTimeInterval: 0.5)
    }
    return waited
}

func storedRows(_ connection: PGConnection, table: String) throws -> Int {
    Int(try connection.query("SELECT count(*) FROM \(table)")[0, 0] ?? "0") ?? 0
}

/// Publish→commit latency in ms over a run's rows: PostgreSQL's commit timestamp of the row's transaction
/// (track_commit_timestamp) minus the reading's time, which the load generator set to the wall clock at
/// publish. One row in `every` devices is read (all of them when `every` is 1).
struct Latency {
    var p50 = 0.0
    var p99 = 0.0
    var max = 0.0
    var firstHalfP99 = 0.0
    var secondHalfP99 = 0.0
    var rows = 0

    /// Bounded: p99 under 1 s, and no growth: the second half's p99 at most 1.5× the first half's or 100 ms
    /// more, whichever is larger (a queue that grows shows in the second half; one checkpoint stall does not
    /// fail a run whose p99 is a few ms).
    static let bound = "p99 < 1,000 ms, and p99 of the run's second half ≤ max(1.5 × first half's, first half's + 100 ms)"
    var isBounded: Bool { p99 < 1000 && secondHalfP99 <= Swift.max(1.5 * firstHalfP99, firstHalfP99 + 100) }

    var summary: String {
        String(format: "p50 %.1f ms, p99 %.1f ms (first half %.1f, second half %.1f), max %.1f ms", p50, p99, firstHalfP99, secondHalfP99, max)
    }

    static func measure(_ connection: PGConnection, table: String, middleMicros: Int64, every: Int) throws -> Latency {
        try measure(connection, tables: [table], middleMicros: middleMicros, every: every)
    }

    /// Over the rows of several tables together (a mixed load of several sensor types), of readings at or
    /// after `sinceMicros`.
    static func measure(_ connection: PGConnection, tables: [String], middleMicros: Int64, every: Int, sinceMicros: Int64 = 0) throws -> Latency {
        let rows = tables.map { table in
            """
            SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin) - time) * 1000 AS lag,
                   time >= timestamptz 'epoch' + $1::int8 * interval '1 microsecond' AS late
            FROM \(table) WHERE device_id % $2::int4 = 0 AND time >= timestamptz 'epoch' + $3::int8 * interval '1 microsecond'
            """
        }.joined(separator: " UNION ALL ")
        let result = try connection.query("""
            SELECT late, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY lag), percentile_cont(0.99) WITHIN GROUP (ORDER BY lag), max(lag)
            FROM (\(rows)) AS rows
            GROUP BY GROUPING SETS ((late), ())
            """, [String(middleMicros), String(every), String(sinceMicros)])
        var latency = Latency()
        for row in 0..<result.count {
            let p99 = Double(result[row, 3] ?? "") ?? 0
            switch result[row, 0] {
            case "t": latency.secondHalfP99 = p99
            case "f": latency.firstHalfP99 = p99
            default:
                latency.rows = Int(result[row, 1] ?? "0") ?? 0
                latency.p50 = Double(result[row, 2] ?? "") ?? 0
                latency.p99 = p99
                latency.max = Double(result[row, 4] ?? "") ?? 0
            }
        }
        return latency
    }
}

/// Seconds between the first and the last commit of the table's rows.
func commitSpan(_ connection: PGConnection, table: String) throws -> Double {
    let result = try connection.query("SELECT extract(epoch FROM max(ts) - min(ts)) FROM (SELECT pg_xact_commit_timestamp(xmin) AS ts FROM \(table)) AS commits")
    return Double(result[0, 0] ?? "0") ?? 0
}

/// Samples a process's RSS every 100 ms; `stop` returns (last, peak) in MB.
final class RSSWatcher: @unchecked Sendable {
    let pid: Int32
    private let lock = NSLock()
    private var running = true
    private var peak = 0.0
    private var last = 0.0

    init(pid: Int32) {
        self.pid = pid
        Thread { [self] in
            while lock.withLock({ running }) {
                let (now, hwm) = residentMemory(pid: pid)
                lock.withLock { last = now; peak = max(peak, hwm) }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }.start()
    }

    var peakMB: Double { lock.withLock { peak } }

    func stop() -> (Double, Double) {
        lock.withLock { running = false; return (last, peak) }
    }
}
