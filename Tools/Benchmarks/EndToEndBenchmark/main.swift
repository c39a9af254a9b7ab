// The end-to-end benchmark: broker alone, PostgreSQL alone, and the full pipeline (load generator →
// mosquitto → telemetry ingest → PostgreSQL) with 10- and 1-sample frames, QoS 1: how fast it drains a
// backlog, the highest rate it sustains for BENCH_SECONDS with every reading stored and latency bounded,
// publish→commit latency at half that rate, and CPU seconds per million readings of each process.
// Run it with scripts/bench-e2e.sh, which starts throwaway servers and passes their URLs and pids.
import Foundation
import MQTT
import Postgres
import SensorModel
import StorageCore

// `EndToEndBenchmark modes`: microservices against the monolith (scripts/bench-modes.sh).
// `EndToEndBenchmark credentials`: device identity at fleet sizes (scripts/bench-credentials.sh).
// `EndToEndBenchmark security`: the data path with device identity on and off (scripts/bench-security.sh).
if CommandLine.arguments.dropFirst().first == "credentials" {
    do { try CredentialsBenchmark().run() } catch {
        FileHandle.standardError.write(Data("credentials benchmark failed: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}
if CommandLine.arguments.dropFirst().first == "security" {
    do {
        var benchmark = try SecurityBenchmark()
        try benchmark.run()
    } catch {
        FileHandle.standardError.write(Data("security benchmark failed: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}
if CommandLine.arguments.dropFirst().first == "modes" {
    do { try ModesBenchmark().run() } catch {
        FileHandle.standardError.write(Data("modes benchmark failed: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}

let environment = ProcessInfo.processInfo.environment
func setting(_ key: String) -> String {
    guard let value = environment[key] else { fatalError("\(key) is not set: run scripts/bench-e2e.sh") }
    return value
}
func number(_ key: String, _ fallback: Double) -> Double { environment[key].flatMap(Double.init) ?? fallback }

let mqttURL = try MQTTURL(parsing: setting("BENCH_MQTT_URL"))
let adminURL = setting("BENCH_DATABASE_URL")
let binDirectory = setting("BENCH_BIN_DIR")
// "telemetry ingest": an executable in BENCH_BIN_DIR and its leading arguments.
let ingestCommand = (environment["BENCH_INGEST_COMMAND"] ?? "telemetry ingest").split(separator: " ").map(String.init)
let logDirectory = environment["BENCH_LOG_DIR"] ?? "/tmp"
let sustainSeconds = number("BENCH_SECONDS", 60)
let halfSeconds = number("BENCH_HALF_SECONDS", sustainSeconds)
let devices = Int(number("BENCH_DEVICES", 1000))
let connections = Int(number("BENCH_CONNECTIONS", 2))
let window = Int(number("BENCH_WINDOW", 500))
let backlogMessages = Int(number("BENCH_BACKLOG_MESSAGES", 500_000))
let maxSteps = Int(number("BENCH_MAX_STEPS", 6))
let frameSizes = (environment["BENCH_FRAMES"] ?? "10,1").split(separator: ",").compactMap { Int($0) }
let catalogPath = environment["BENCH_CATALOG"] ?? "config/sensors"
let catalog = try Catalog.load(directory: catalogPath)
let sensor = catalog["temperature"]!
let tables = SensorTables(sensor)
let mosquittoPID = environment["BENCH_MOSQUITTO_PID"].flatMap { Int32($0) }
let postmasterPID = pidOfPostmaster(dataDirectory: environment["BENCH_PG_DATA"])

func log(_ text: String) {
    FileHandle.standardError.write(Data("[bench \(ISO8601DateFormatter().string(from: Date()))] \(text)\n".utf8))
}
if mosquittoPID == nil || postmasterPID == nil { log("BENCH_MOSQUITTO_PID or BENCH_PG_DATA missing: broker or PostgreSQL CPU reads as 0") }

func makeDatabase(_ name: String) throws -> String { try freshDatabase(name, admin: adminURL) }

func startIngest(database: String, tag: String) throws -> BenchProcess {
    let logFile = "\(logDirectory)/ingest-\(tag).log"
    let process = try BenchProcess(
        binDirectory + "/" + ingestCommand[0], arguments: Array(ingestCommand.dropFirst()) + ["--sensor", sensor.name],
        environment: [
            "TELEMETRY_MQTT_URL": mqttURL.description.replacingOccurrences(of: "***", with: ""), "TELEMETRY_DATABASE_URL": database,
            "TELEMETRY_CATALOG": catalogPath, "TELEMETRY_JOURNAL_DIR": "\(logDirectory)/journal-\(tag)", "TELEMETRY_INSTANCE": tag,
        ],
        log: logFile)
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
        if (try? String(contentsOfFile: logFile, encoding: .utf8))?.contains("ingesting") == true { return process }
        Thread.sleep(forTimeInterval: 0.05)
    }
    throw BenchError("ingest did not start; see \(logFile)")
}

/// One paced run through the pipeline, everything measured.
struct PipelineRun {
    var samples: Int
    var requestedReadings: Double
    var load: LoadReport
    var published: Int
    var stored: Int
    /// After the last acknowledgement until the last message of every connection was stored (-1: not within 300 s).
    var drainSeconds: Double
    var latency: Latency
    var cpu: CPUSample
    var wallSeconds: Double
    var passed: Bool
    var verdict: String

    var achievedReadings: Double { load.achievedRate * Double(samples) }

    var line: String {
        String(format: "%d-sample at %.0f readings/s: %@; stored %d of %d published readings, drained %.1f s after the last ack; %@; %@; %@",
               samples, requestedReadings, load.summary, stored, published, drainSeconds, latency.summary,
               cpu.perMillion(stored), verdict)
    }
}

/// The pipeline of one frame size: a database, an ingest service, and the connections to inspect them.
final class PipelineBench {
    let samples: Int, database: String, tag: String
    var ingest: BenchProcess
    var rss: RSSWatcher
    let stats: PGConnection
    var ingestPeakMB = 0.0

    init(samples: Int) throws {
        self.samples = samples
        tag = "s\(samples)"
        database = try makeDatabase("bench_pipeline_\(samples)")
        ingest = try startIngest(database: database, tag: tag)
        rss = RSSWatcher(pid: ingest.pid)
        stats = try PGConnection(url: database)
    }

    var devicePrefix: String { "e2e\(samples)" }
    var watch: CPUWatch { CPUWatch(ingest: ingest.pid, broker: mosquittoPID, postmaster: postmasterPID) }

    func spec(rate: Double?, messages: Int) -> LoadSpec {
        LoadSpec(mqtt: mqttURL, topicRoot: "telemetry/\(sensor.name)", devicePrefix: devicePrefix, devices: devices, samples: samples,
                 fields: sensor.fields.count, rate: rate, messages: messages, connections: connections, window: window)
    }

    /// Empties the readings and rollups and checkpoints, so that every run starts from the same state.
    func reset() throws {
        try stats.execute("TRUNCATE \(tables.readings), \(tables.rollup1m), \(tables.rollup1h)")
        try stats.execute("CHECKPOINT")
    }

    /// How fast the pipeline empties a queue the broker holds for it: the ingest service is stopped, the
    /// backlog published, the service started again; rate = rows / span of their commit timestamps.
    func drainBacklog(messages: Int) throws -> (readingsPerSecond: Double, load: LoadReport, cpu: CPUSample, rows: Int) {
        try reset()
        ingestPeakMB = max(ingestPeakMB, rss.stop().1)
        ingest.stop()
        let load = try generateLoad(spec(rate: nil, messages: messages))
        if let failure = load.failure { throw BenchError("backlog: \(failure)") }
        log("\(samples)-sample backlog queued at the broker: \(load.summary)")
        ingest = try startIngest(database: database, tag: tag)
        rss = RSSWatcher(pid: ingest.pid)
        let cpu0 = watch.sample()
        guard try waitUntilStored(stats, table: tables.readings, sensor: sensor.name, load: load, readings: load.acknowledgedReadings, timeout: 900) != nil else {
            throw BenchError("backlog: \(try storedRows(stats, table: tables.readings)) of \(load.acknowledgedReadings) acknowledged readings stored")
        }
        let cpu = watch.sample() - cpu0
        let rows = try storedRows(stats, table: tables.readings)
        return (Double(rows) / (try commitSpan(stats, table: tables.readings)), load, cpu, rows)
    }

    /// A paced run at `readingsPerSecond` for `seconds`; passes when every published reading is stored,
    /// the generator achieved the requested rate, and latency stayed bounded.
    func run(readingsPerSecond: Double, seconds: Double) throws -> PipelineRun {
        try reset()
        let cpu0 = watch.sample()
        let start = Date()
        let messageRate = readingsPerSecond / Double(samples)
        let load = try generateLoad(spec(rate: messageRate, messages: Int(messageRate * seconds)))
        let published = load.published * samples
        let drain = try waitUntilStored(stats, table: tables.readings, sensor: sensor.name, load: load, readings: published, timeout: 300)
        let cpu = watch.sample() - cpu0
        let wall = Date().timeIntervalSince(start)
        let stored = try storedRows(stats, table: tables.readings)
        let middle = load.startMicros + Int64(load.publishSeconds * 500_000)
        let latency = try Latency.measure(stats, table: tables.readings, middleMicros: middle, every: max(1, stored / 2_000_000))
        var problems: [String] = []
        if let failure = load.failure { problems.append(failure) }
        if load.acknowledged < load.published { problems.append("\(load.published - load.acknowledged) publishes unacknowledged") }
        if stored != published { problems.append("\(published - stored) readings missing") }
        if load.achievedRate < 0.99 * messageRate { problems.append(String(format: "load generator reached only %.1f%% of the rate", 100 * load.achievedRate / messageRate)) }
        if !latency.isBounded { problems.append("latency not bounded") }
        let run = PipelineRun(
            samples: samples, requestedReadings: readingsPerSecond, load: load, published: published, stored: stored, drainSeconds: drain ?? -1,
            latency: latency, cpu: cpu, wallSeconds: wall, passed: problems.isEmpty,
            verdict: problems.isEmpty ? "PASS" : "FAIL: " + problems.joined(separator: ", "))
        log(run.line)
        return run
    }

    /// Stops the service and ends its persistent session: else the broker would queue every later
    /// message for it (and its autosave would write that growing queue every 60 s, stalling the broker).
    func stop() throws {
        ingestPeakMB = max(ingestPeakMB, rss.stop().1)
        ingest.stop()
        try endSession(url: mqttURL, clientID: "ingest-\(sensor.name)-\(tag)")
    }
}

struct FrameResult {
    var samples: Int
    var backlog: (readingsPerSecond: Double, load: LoadReport, cpu: CPUSample, rows: Int)
    var runs: [PipelineRun]
    var sustained: PipelineRun?
    var half: PipelineRun?
    var ingestPeakMB: Double
}

func roundedDown(_ rate: Double, to step: Double) -> Double { max(step, (rate / step).rounded(.down) * step) }

// (1) the broker alone, (2) PostgreSQL alone.
var brokerRates: [Int: (Double, LoadReport)] = [:]
for samples in frameSizes {
    brokerRates[samples] = try measureBrokerAlone(
        url: mqttURL, messages: Int(number("BENCH_BROKER_MESSAGES", 300_000)), samples: samples, devices: devices,
        connections: connections, window: window)
    log(String(format: "broker alone, %d-sample frames: %.0f msg/s delivered; %@", samples, brokerRates[samples]!.0, brokerRates[samples]!.1.summary))
}
let copyDatabase = try makeDatabase("bench_copy")
let postgresRows = try measurePostgresAlone(url: copyDatabase, sensor: sensor, rows: 2_000_000, batchRows: 20_000)
log(String(format: "PostgreSQL alone (binary COPY, 20k-row batches): %.0f rows/s", postgresRows))

// (3) the pipeline, per frame size: the backlog drain rate; from there down in steps of 10% (20% after a run
// whose p99 passed 2 s) to the first rate that a whole run sustains, then once halfway back up towards the
// lowest rate that failed; then half rate.
var results: [FrameResult] = []
for samples in frameSizes {
    let bench = try PipelineBench(samples: samples)
    let backlog = try bench.drainBacklog(messages: backlogMessages)
    log(String(format: "%d-sample backlog of %d readings drained at %.0f readings/s; %@", samples, backlog.rows, backlog.readingsPerSecond,
               backlog.cpu.perMillion(backlog.rows)))
    let step = samples == 1 ? 500.0 : 1000.0
    var rate = roundedDown(environment["BENCH_START_RATE_\(samples)"].flatMap(Double.init) ?? backlog.readingsPerSecond, to: step)
    var runs: [PipelineRun] = []
    var sustained: PipelineRun?
    var lowestFailure: Double?
    for _ in 0..<maxSteps {
        let run = try bench.run(readingsPerSecond: rate, seconds: sustainSeconds)
        runs.append(run)
        if run.passed { sustained = run; break }
        lowestFailure = rate
        rate = roundedDown(rate * (run.latency.p99 > 2000 ? 0.8 : 0.9), to: step)
    }
    if let passed = sustained {
        // One step finer: halfway to the lowest failing rate, or 10% up when the first rate passed.
        let next = roundedDown(lowestFailure.map { (passed.requestedReadings + $0) / 2 } ?? passed.requestedReadings * 1.1, to: step)
        if next > passed.requestedReadings {
            let run = try bench.run(readingsPerSecond: next, seconds: sustainSeconds)
            runs.append(run)
            if run.passed { sustained = run }
        }
    }
    var half: PipelineRun?
    if let sustained {
        half = try bench.run(readingsPerSecond: roundedDown(sustained.requestedReadings / 2, to: step), seconds: halfSeconds)
    } else {
        log("\(samples)-sample frames: no rate held for \(sustainSeconds) s with every reading stored and latency bounded")
    }
    try bench.stop()
    results.append(FrameResult(samples: samples, backlog: backlog, runs: runs, sustained: sustained, half: half, ingestPeakMB: bench.ingestPeakMB))
}

// The report.
let machine = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
    .first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
func thousands(_ value: Double) -> String {
    let formatter = NumberFormatter()
    formatter.numberStyle = .decimal
    formatter.maximumFractionDigits = 0
    return formatter.string(from: NSNumber(value: value.rounded())) ?? String(format: "%.0f", value)
}
print("End-to-end benchmark, \(ISO8601DateFormatter().string(from: Date())), \(ProcessInfo.processInfo.activeProcessorCount) cores (\(machine)), "
      + "\(devices) devices over \(connections) QoS 1 connections (window \(window)), tm float32 frames, \(Int(sustainSeconds)) s runs")
print("Sustained = the highest rate tried at which a whole run stored every published reading, the load generator achieved the requested rate, and latency stayed bounded (\(Latency.bound)).")
print("")
print(String(format: "PostgreSQL alone (binary COPY, 20k-row batches, one connection): %@ rows/s", thousands(postgresRows)))
for samples in frameSizes {
    let (rate, load) = brokerRates[samples]!
    print(String(format: "broker alone, %d-sample frames: %@ msg/s (%@ readings/s) delivered to one QoS 1 subscriber; load generator %@ msg/s, %.2f core",
                 samples, thousands(rate), thousands(rate * Double(samples)), thousands(load.achievedRate), load.cores))
}
print("")
print("| frames | backlog drain readings/s | sustained readings/s | msg/s | vs broker alone | p50 / p99 at sustained | p50 / p99 at half rate | ingest RSS peak |")
print("|---|---:|---:|---:|---|---|---|---:|")
for result in results {
    let broker = brokerRates[result.samples]!.0
    let sustained = result.sustained.map { thousands($0.requestedReadings) } ?? "none"
    let messages = result.sustained.map { $0.requestedReadings / Double(result.samples) }
    let share = messages.map { String(format: "%.2f of %@ msg/s", $0 / broker, thousands(broker)) } ?? "–"
    func percentiles(_ run: PipelineRun?) -> String { run.map { String(format: "%.1f / %.1f ms", $0.latency.p50, $0.latency.p99) } ?? "–" }
    let half = result.half.map { "\(percentiles($0)) at \(thousands($0.requestedReadings))" } ?? "–"
    print("| \(result.samples)-sample | \(thousands(result.backlog.readingsPerSecond)) | \(sustained) | \(messages.map(thousands) ?? "–") | \(share) "
          + "| \(percentiles(result.sustained)) | \(half) | \(String(format: "%.0f MB", result.ingestPeakMB)) |")
}
print("")
print("CPU seconds per million readings stored (over each run, from /proc/<pid>/stat; PostgreSQL = every process of its cluster):")
print("")
print("| frames | phase | ingest | broker | PostgreSQL | load generator |")
print("|---|---|---:|---:|---:|---:|")
for result in results {
    func row(_ phase: String, _ cpu: CPUSample, _ rows: Int) {
        let scale = rows > 0 ? 1e6 / Double(rows) : 0
        print(String(format: "| %d-sample | %@ | %.2f | %.2f | %.2f | %.2f |", result.samples, phase,
                     cpu.ingest * scale, cpu.broker * scale, cpu.postgres * scale, cpu.generator * scale))
    }
    row("backlog drain (no load generator running)", result.backlog.cpu, result.backlog.rows)
    if let run = result.sustained { row("sustained", run.cpu, run.stored) }
    if let run = result.half { row("half rate", run.cpu, run.stored) }
}
print("")
print("Every pipeline run (requested vs achieved rate and the load generator's own CPU):")
print("")
print("| frames | requested readings/s | achieved | load generator CPU | stored / published | p50 / p99 (1st, 2nd half) ms | verdict |")
print("|---|---:|---:|---:|---|---|---|")
for result in results {
    let labelled = result.runs.map { ($0, $0.verdict) } + (result.half.map { [($0, "half rate (\($0.verdict))")] } ?? [])
    for (run, verdict) in labelled {
        print(String(format: "| %d-sample | %@ | %@ | %.2f core | %d / %d | %.1f / %.1f (%.1f, %.1f) | %@ |", run.samples,
                     thousands(run.requestedReadings), thousands(run.achievedReadings), run.load.cores, run.stored, run.published,
                     run.latency.p50, run.latency.p99, run.latency.firstHalfP99, run.latency.secondHalfP99, verdict))
    }
    print(String(format: "| %d-sample | backlog (unpaced) | %@ | %.2f core | %d / %d | – | into the broker with the ingest service stopped |",
                 result.samples, thousands(result.backlog.load.achievedRate * Double(result.samples)), result.backlog.load.cores,
                 result.backlog.rows, result.backlog.load.acknowledgedReadings))
}
if let mosquittoPID { print(String(format: "\nmosquitto RSS peak: %.0f MB", residentMemory(pid: mosquittoPID).1)) }
