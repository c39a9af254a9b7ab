import Foundation
import MQTT
import Postgres
import SensorModel
import StorageCore

/// The same load for both deploy modes: every sensor type of the catalog at an equal message rate,
/// `samples`-sample `tm` frames of in-range values, QoS 1, devices of its own per sensor type.
struct MixedLoad {
    var sensors: [SensorType]
    var mqtt: MQTTURL
    var samples: Int
    var devicesPerType: Int
    var connectionsPerType: Int
    var window: Int

    /// `readingsPerSecond` in all (nil: unpaced), for `seconds`; the `flooded` sensor type (if any) at
    /// `flood` times its share, the others at theirs.
    func specs(readingsPerSecond: Double?, seconds: Double, messagesPerType: Int? = nil, flooded: String? = nil, flood: Double = 1, prefix: String) -> [LoadSpec] {
        let shares = sensors.map { $0.name == flooded ? flood : 1 }
        let perShare = readingsPerSecond.map { $0 / Double(samples) / shares.reduce(0, +) }
        return zip(sensors, shares).map { sensor, share in
            let rate = perShare.map { $0 * share }
            return LoadSpec(
                mqtt: mqtt, topicRoot: "telemetry/\(sensor.name)", devicePrefix: prefix, devices: devicesPerType, samples: samples,
                fields: sensor.fields.count, rate: rate, messages: messagesPerType ?? Int((rate ?? 0) * seconds),
                connections: connectionsPerType * (share > 1 ? 2 : 1), window: window,
                values: sensor.fields.map { Float(($0.min + $0.max) / 2) })
        }
    }
}

/// The load of one run: what each sensor type's generator reported.
struct MixedReport {
    var sensors: [String]
    var reports: [LoadReport]

    func report(_ sensor: String) -> LoadReport { reports[sensors.firstIndex(of: sensor)!] }
    var published: Int { reports.reduce(0) { $0 + $1.published * $1.samples } }
    var acknowledged: Int { reports.reduce(0) { $0 + $1.acknowledgedReadings } }
    var achievedReadings: Double { reports.reduce(0) { $0 + $1.achievedRate * Double($1.samples) } }
    var requestedReadings: Double { reports.reduce(0) { $0 + ($1.requestedRate ?? 0) * Double($1.samples) } }
    var startMicros: Int64 { reports.map(\.startMicros).min() ?? 0 }
    var publishSeconds: Double { reports.map(\.publishSeconds).max() ?? 0 }
    var seconds: Double { reports.map(\.seconds).max() ?? 0 }
    var cpuSeconds: Double { reports.first?.cpuSeconds ?? 0 }
    var cores: Double { seconds > 0 ? cpuSeconds / seconds : 0 }
    var failure: String? { reports.compactMap(\.failure).first }
    var lagMilliseconds: Double { reports.map(\.maxLagMilliseconds).max() ?? 0 }

    var summary: String {
        String(format: "load generator: requested %.0f readings/s, achieved %.0f, %d published, %d acknowledged, %.2f core, max lag %.1f ms",
               requestedReadings, achievedReadings, published, acknowledged, cores, lagMilliseconds)
    }
}

/// Runs the load on a thread of its own, so that the benchmark can break parts of the platform meanwhile.
final class BackgroundLoad: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<[LoadReport], any Error> = .success([])
    private let sensors: [String]

    init(_ specs: [LoadSpec], sensors: [String]) {
        self.sensors = sensors
        Thread { [self] in
            result = Result { try generateLoad(specs) }
            done.signal()
        }.start()
    }

    func wait() throws -> MixedReport {
        done.wait()
        return MixedReport(sensors: sensors, reports: try result.get())
    }
}

/// What the benchmark reads back from PostgreSQL about the sensor types' tables: the readings of the
/// current run only (reading time at or after its reset), since a service killed under load replays its
/// journal, which may still hold messages of the run before, already stored once and then truncated.
final class StoredReadings {
    let connection: PGConnection
    let sensors: [SensorType]
    private(set) var since: Int64 = 0

    init(connection: PGConnection, sensors: [SensorType]) {
        self.connection = connection
        self.sensors = sensors
    }

    func tables(_ names: [String]? = nil) -> [String] {
        sensors.filter { names?.contains($0.name) ?? true }.map { SensorTables($0).readings }
    }

    private var sinceCondition: String { "time >= timestamptz 'epoch' + \(since) * interval '1 microsecond'" }

    /// Empties readings and rollups and checkpoints, so every run starts from the same state.
    func reset() throws {
        let all = sensors.map(SensorTables.init).flatMap { [$0.readings, $0.rollup1m, $0.rollup1h] }
        try connection.execute("TRUNCATE \(all.joined(separator: ", "))")
        try connection.execute("CHECKPOINT")
        since = wallMicros()
    }

    func count(_ names: [String]? = nil) throws -> Int {
        try tables(names).reduce(0) { sum, table in
            sum + (Int(try connection.query("SELECT count(*) FROM \(table) WHERE \(sinceCondition)")[0, 0] ?? "0") ?? 0)
        }
    }

    /// Waits until every acknowledged reading is stored; the seconds waited, nil after `timeout`.
    func waitUntilStored(_ load: MixedReport, timeout: Double) throws -> Double? {
        let start = Date()
        for sensor in sensors {
            let report = load.report(sensor.name)
            while try count([sensor.name]) < report.acknowledgedReadings {
                if Date().timeIntervalSince(start) > timeout { return nil }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        return Date().timeIntervalSince(start)
    }

    /// Readings of the given sensor types committed in [from, to) (wall clock µs), per second.
    func committedRate(_ names: [String], from: Int64, to: Int64) throws -> Double {
        guard to > from else { return 0 }
        let rows = try tables(names).reduce(0) { sum, table in
            sum + (Int(try connection.query("""
                SELECT count(*) FROM \(table)
                WHERE \(sinceCondition)
                  AND pg_xact_commit_timestamp(xmin) >= timestamptz 'epoch' + $1::int8 * interval '1 microsecond'
                  AND pg_xact_commit_timestamp(xmin) < timestamptz 'epoch' + $2::int8 * interval '1 microsecond'
                """, [String(from), String(to)])[0, 0] ?? "0") ?? 0)
        }
        return Double(rows) / (Double(to - from) / 1e6)
    }

    /// When the last reading published before `micros` was committed: the end of a backlog.
    func lastCommit(ofReadingsBefore micros: Int64, _ names: [String]) throws -> Int64? {
        try tables(names).compactMap { table in
            Int64(try connection.query("""
                SELECT (extract(epoch FROM max(pg_xact_commit_timestamp(xmin))) * 1000000)::int8 FROM \(table)
                WHERE \(sinceCondition) AND time < timestamptz 'epoch' + $1::int8 * interval '1 microsecond'
                """, [String(micros)])[0, 0] ?? "")
        }.max()
    }

    /// Write transactions that stored readings of this run (distinct xmin per table: a batch writes one).
    func commits(_ names: [String]? = nil) throws -> Int {
        try tables(names).reduce(0) { sum, table in
            sum + (Int(try connection.query("SELECT count(DISTINCT xmin::text) FROM \(table) WHERE \(sinceCondition)")[0, 0] ?? "0") ?? 0)
        }
    }

    /// Readings per second over the span of their commit timestamps (a backlog's drain rate).
    func drainRate() throws -> Double {
        let union = tables().map { "SELECT pg_xact_commit_timestamp(xmin) AS ts FROM \($0) WHERE \(sinceCondition)" }.joined(separator: " UNION ALL ")
        let span = Double(try connection.query("SELECT extract(epoch FROM max(ts) - min(ts)) FROM (\(union)) AS commits")[0, 0] ?? "0") ?? 0
        return span > 0 ? Double(try count()) / span : 0
    }

    func latency(_ names: [String]? = nil, middleMicros: Int64) throws -> Latency {
        let rows = try count(names)
        return try Latency.measure(connection, tables: tables(names), middleMicros: middleMicros, every: max(1, rows / 2_000_000), sinceMicros: since)
    }
}
