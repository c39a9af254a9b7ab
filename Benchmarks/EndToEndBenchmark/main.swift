// The end-to-end benchmark: broker alone, PostgreSQL alone, the full pipeline at the highest rate it
// sustains with zero loss (1- and 10-sample frames, QoS 1), publish→commit latency at half that rate,
// RSS of the services, and a Python baseline (paho-mqtt + psycopg COPY) fed the same messages.
// Run it with scripts/bench-e2e.sh, which starts throwaway servers and passes their URLs.
import DeviceEmulator
import Foundation
import MQTT
import Postgres
import SensorModel
import TelemetryStore

let environment = ProcessInfo.processInfo.environment
func setting(_ key: String) -> String {
    guard let value = environment[key] else { fatalError("\(key) is not set: run scripts/bench-e2e.sh") }
    return value
}
let mqttURL = try MQTTURL(parsing: setting("BENCH_MQTT_URL"))
let adminURL = setting("BENCH_DATABASE_URL")
let binDirectory = setting("BENCH_BIN_DIR")
let logDirectory = environment["BENCH_LOG_DIR"] ?? "/tmp"
let sustainSeconds = Double(environment["BENCH_SECONDS"] ?? "60") ?? 60
let probeSeconds = Double(environment["BENCH_PROBE_SECONDS"] ?? "15") ?? 15
let devices = Int(environment["BENCH_DEVICES"] ?? "1000") ?? 1000
let connections = Int(environment["BENCH_CONNECTIONS"] ?? "4") ?? 4
let catalog = try Catalog.load(directory: environment["BENCH_CATALOG"] ?? "config/sensors")
let sensor = catalog["temperature"]!
let mosquittoPID = environment["BENCH_MOSQUITTO_PID"].flatMap { Int32($0) }

func log(_ text: String) {
    FileHandle.standardError.write(Data("[bench] \(text)\n".utf8))
}

func makeDatabase(_ name: String) throws -> String {
    let admin = try PGConnection(url: adminURL)
    try admin.execute("DROP DATABASE IF EXISTS \(name)")
    try admin.execute("CREATE DATABASE \(name)")
    return adminURL[..<adminURL.lastIndex(of: "/")!] + "/" + name
}

func startIngest(database: String, tag: String) throws -> BenchProcess {
    let process = try BenchProcess(
        binDirectory + "/telemetry-ingest", arguments: ["--sensor", sensor.name],
        environment: [
            "TELEMETRY_MQTT_URL": mqttURL.description.replacingOccurrences(of: "***", with: ""), "TELEMETRY_DATABASE_URL": database,
            "TELEMETRY_CATALOG": environment["BENCH_CATALOG"] ?? "config/sensors",
            "TELEMETRY_JOURNAL_DIR": "\(logDirectory)/journal-\(tag)", "TELEMETRY_INSTANCE": tag,
        ],
        log: "\(logDirectory)/ingest-\(tag).log")
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
        if (try? String(contentsOfFile: "\(logDirectory)/ingest-\(tag).log", encoding: .utf8))?.contains("ingesting") == true { return process }
        Thread.sleep(forTimeInterval: 0.05)
    }
    throw BenchError("ingest did not start; see \(logDirectory)/ingest-\(tag).log")
}

struct FrameResult {
    var samples: Int
    var sustained: RunResult
    var rate: Double
    var latency: (Double, Double)?
    var ingestRSS: (Double, Double)
}

// (1) the broker alone, (2) PostgreSQL alone.
var brokerRates: [Int: Double] = [:]
for samples in [1, 10] {
    let size = 20 + samples * (4 + 4 * sensor.fields.count)
    brokerRates[samples] = try measureBrokerAlone(url: mqttURL, messages: 200_000, payloadSize: size, qos: 1)
    log(String(format: "broker alone, %d-sample frames (%d B): %.0f msg/s", samples, size, brokerRates[samples]!))
}
let copyDatabase = try makeDatabase("bench_copy")
let postgresRows = try measurePostgresAlone(url: copyDatabase, sensor: sensor, rows: 2_000_000, batchRows: 20_000)
log(String(format: "PostgreSQL alone (binary COPY, 20k-row batches): %.0f rows/s", postgresRows))

// (3) the pipeline: probe the capacity at full speed, then hold 90% of it for the full duration with
// zero loss (stepping down when it does not keep up), then measure latency at half of that rate.
var results: [FrameResult] = []
for samples in [1, 10] {
    let database = try makeDatabase("bench_pipeline_\(samples)")
    let ingest = try startIngest(database: database, tag: "s\(samples)")
    let peakRSS = RSSWatcher(pid: ingest.pid)
    let probe = try runLoad(sensor: sensor, mqtt: mqttURL, database: database, samples: samples, rate: 10_000_000,
                            seconds: probeSeconds, devices: devices, connections: connections)
    log(String(format: "%d-sample probe: sent %.0f readings/s, stored %.0f readings/s, drained in %.1f s", samples, probe.sendRate, probe.storeRate, probe.drainSeconds))
    var rate = max(probe.storeRate, 1000) * 0.9 / Double(samples)
    var sustained: RunResult?
    for attempt in 1...4 {
        let run = try runLoad(sensor: sensor, mqtt: mqttURL, database: database, samples: samples, rate: rate,
                              seconds: sustainSeconds, devices: devices, connections: connections)
        log(String(format: "%d-sample run %d at %.0f msg/s: sent %d, stored %d, missing %d, duplicated %d, drained in %.1f s",
                   samples, attempt, rate, run.ackedReadings, run.storedReadings, run.missing, run.duplicated, run.drainSeconds))
        if run.missing == 0 && run.duplicated == 0 && run.drainSeconds < 5 && run.sendRate >= 0.95 * rate * Double(samples) {
            sustained = run
            break
        }
        rate *= run.sendRate < 0.95 * rate * Double(samples) ? run.sendRate / (rate * Double(samples)) * 0.95 : 0.8
    }
    guard let sustained else { throw BenchError("\(samples)-sample frames: no rate held for \(sustainSeconds) s with zero loss") }
    let half = try runLoad(sensor: sensor, mqtt: mqttURL, database: database, samples: samples, rate: rate / 2,
                           seconds: min(sustainSeconds, 30), devices: devices, connections: connections)
    let latency = try commitLatency(database: database, sensor: sensor, devicePrefix: half.devices[0].name.components(separatedBy: "-")[0])
    results.append(FrameResult(samples: samples, sustained: sustained, rate: rate, latency: latency, ingestRSS: peakRSS.stop()))
    ingest.stop()
}

// The Python baseline, fed the same 10-sample messages at full speed.
var pythonRate: Double?
if environment["BENCH_SKIP_PYTHON"] == nil {
    let database = try makeDatabase("bench_python")
    let python = try BenchProcess(
        "/usr/bin/env", arguments: ["python3", "Benchmarks/python-baseline/ingest.py", mqttURL.host, String(mqttURL.port), database, sensor.name, String(sensor.fields.count)],
        environment: [:], log: "\(logDirectory)/python-baseline.log")
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline, (try? String(contentsOfFile: "\(logDirectory)/python-baseline.log", encoding: .utf8))?.contains("ready") != true {
        Thread.sleep(forTimeInterval: 0.05)
    }
    var options = EmulatorOptions(sensors: [sensor])
    options.devices = devices
    options.samples = 10
    options.rate = 10_000_000
    options.duration = .milliseconds(Int64(probeSeconds * 1000))
    options.connections = connections
    options.devicePrefix = "py"
    options.maxInflight = 2000
    let report = try Emulator(options: options, url: mqttURL).run { _ in }
    let connection = try PGConnection(url: database)
    let start = Date()
    var stored = 0
    while Date().timeIntervalSince(start) < 600 {
        stored = Int((try? connection.query("SELECT count(*) FROM py_\(sensor.name)"))?[0, 0] ?? "0") ?? 0
        if stored >= report.ackedReadings { break }
        Thread.sleep(forTimeInterval: 0.5)
    }
    // Whole time from the first publish to the last row stored: the baseline's throughput.
    pythonRate = Double(stored) / (report.elapsed + Date().timeIntervalSince(start))
    python.stop()
    log(String(format: "python baseline: stored %d of %d readings, %.0f readings/s", stored, report.ackedReadings, pythonRate!))
}

// The table.
let machine = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
    .first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
print("End-to-end benchmark, \(ISO8601DateFormatter().string(from: Date())), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(machine)")
print(String(format: "broker alone (QoS 1): 1-sample %.0f msg/s, 10-sample %.0f msg/s; PostgreSQL alone (binary COPY): %.0f rows/s", brokerRates[1]!, brokerRates[10]!, postgresRows))
print("| frames | sustained readings/s (\(Int(sustainSeconds)) s, zero loss) | msg/s | vs broker alone | vs PostgreSQL alone | p50 / p99 publish→commit at half rate | ingest RSS peak |")
print("|---|---|---|---|---|---|---|")
for result in results {
    let readings = result.rate * Double(result.samples)
    let latency = result.latency.map { String(format: "%.1f / %.1f ms", $0.0, $0.1) } ?? "n/a"
    print(String(format: "| %d-sample | %.0f | %.0f | %.0f%% of %.0f msg/s | %.0f%% of %.0f rows/s | %@ | %.0f MB |",
                 result.samples, readings, result.rate, 100 * result.rate / brokerRates[result.samples]!, brokerRates[result.samples]!,
                 100 * readings / postgresRows, postgresRows, latency, result.ingestRSS.1))
}
if let mosquittoPID { print(String(format: "mosquitto RSS peak: %.0f MB", residentMemory(pid: mosquittoPID).1)) }
if let pythonRate, let ten = results.first(where: { $0.samples == 10 }) {
    print(String(format: "Python baseline (paho-mqtt + psycopg COPY, 10-sample frames at full speed): %.0f readings/s; ours sustained %.1f× that",
                 pythonRate, ten.rate * 10 / pythonRate))
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

    func stop() -> (Double, Double) {
        lock.withLock { running = false; return (last, peak) }
    }
}
