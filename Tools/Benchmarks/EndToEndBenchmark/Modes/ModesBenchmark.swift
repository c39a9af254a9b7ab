import Foundation
import MQTT
import Postgres
import SensorModel

/// `EndToEndBenchmark modes` (scripts/bench-modes.sh): microservices against the monolith on the same
/// machine, broker, PostgreSQL and mixed load of every sensor type, in one run:
/// 1. the highest sustained rate, CPU per million readings, RSS; 2. latency at half that rate;
/// 3. `kill -9` of the temperature service / the monolith; 4. temperature flooded at 10× its share;
/// 5. a redeploy of one service under load; 6. one against two replicas of a sensor type through a shared
/// subscription, and the readings a broker restart loses through `$share`.
struct ModesBenchmark {
    let environment = ProcessInfo.processInfo.environment
    let mqtt: MQTTURL
    let adminURL: String
    let binary: String
    let catalogPath: String
    let catalog: Catalog
    let logDirectory: String
    var mosquittoPID: Int32?
    let postmasterPID: Int32?
    let seconds: Double
    let maxSteps: Int
    /// The search starts at this share of the backlog drain rate (a backlog drains in bigger batches than
    /// a paced load can be stored at with p99 under a second).
    let startShare: Double
    let outage: Double
    let backlogPerType: Int
    let mixed: MixedLoad

    init() throws {
        let environment = ProcessInfo.processInfo.environment
        func setting(_ key: String) throws -> String {
            guard let value = environment[key] else { throw BenchError("\(key) is not set: run scripts/bench-modes.sh") }
            return value
        }
        func number(_ key: String, _ fallback: Double) -> Double { environment[key].flatMap(Double.init) ?? fallback }
        mqtt = try MQTTURL(parsing: try setting("BENCH_MQTT_URL"))
        adminURL = try setting("BENCH_DATABASE_URL")
        binary = try setting("BENCH_BIN_DIR") + "/telemetry"
        catalogPath = environment["BENCH_CATALOG"] ?? "config/sensors"
        catalog = try Catalog.load(directory: catalogPath)
        logDirectory = environment["BENCH_LOG_DIR"] ?? "/tmp"
        mosquittoPID = environment["BENCH_MOSQUITTO_PID"].flatMap { Int32($0) }
        postmasterPID = pidOfPostmaster(dataDirectory: environment["BENCH_PG_DATA"])
        seconds = number("BENCH_SECONDS", 30)
        maxSteps = Int(number("BENCH_MAX_STEPS", 7))
        startShare = number("BENCH_START_SHARE", 0.6)
        outage = number("BENCH_OUTAGE_SECONDS", 10)
        backlogPerType = Int(number("BENCH_BACKLOG_MESSAGES", 240_000)) / max(1, catalog.sensors.count)
        mixed = MixedLoad(
            sensors: catalog.sensors, mqtt: mqtt, samples: Int(number("BENCH_SAMPLES", 10)), devicesPerType: Int(number("BENCH_DEVICES", 200)),
            connectionsPerType: Int(number("BENCH_CONNECTIONS", 1)), window: Int(number("BENCH_WINDOW", 500)))
    }

    func log(_ text: String) {
        FileHandle.standardError.write(Data("[modes \(ISO8601DateFormatter().string(from: Date()))] \(text)\n".utf8))
    }

    private func makeDatabase(_ name: String) throws -> String { try freshDatabase(name, admin: adminURL) }

    /// A platform of `parts` on a database of its own, run through `body`, then stopped.
    private func withPlatform<T>(_ label: String, parts: [PartSpec], load: MixedLoad? = nil, _ body: (ModeRunner) throws -> T) throws -> T {
        let database = try makeDatabase("bench_modes_\(label.replacingOccurrences(of: "-", with: "_"))")
        let platform = try DeployedPlatform(
            label: label, binary: binary, parts: parts, mqttURL: mqtt.description.replacingOccurrences(of: "***", with: ""), database: database,
            catalogPath: catalogPath, logDirectory: logDirectory)
        defer { platform.stop(url: mqtt) }
        let load = load ?? mixed
        let stored = StoredReadings(connection: try PGConnection(url: database), sensors: load.sensors)
        return try body(ModeRunner(platform: platform, load: load, stored: stored, mosquittoPID: mosquittoPID, postmasterPID: postmasterPID, log: log))
    }

    private func parts(_ mode: DeployMode, instance: String) -> [PartSpec] {
        let names = catalog.sensors.map(\.name)
        switch mode {
        case .microservices: return DeployedPlatform.microservicesParts(sensors: names, instance: instance)
        case .monolith: return DeployedPlatform.monolithParts(sensors: names, instance: instance)
        }
    }

    /// BENCH_PHASES (default all): `rate` (1, 2), `targets` (fixed rates, BENCH_TARGET_RATES readings/s,
    /// default 30000,60000,120000: the write path's targets), `faults` (3-5), `scaling` (6), `loss` (the
    /// `$share` loss window). Without `rate`, `faults` runs at BENCH_RATE readings/s.
    func run() throws {
        let phases = Set((environment["BENCH_PHASES"] ?? "rate,targets,faults,scaling,loss").split(separator: ",").map(String.init))
        let flooded = "temperature"
        var results = Dictionary(uniqueKeysWithValues: DeployMode.allCases.map {
            ($0, ModeResult(mode: $0, processes: parts($0, instance: "x").count))
        })
        // (1) Each mode's sustained rate, its CPU and memory.
        if phases.contains("rate") {
            for mode in DeployMode.allCases {
                try withPlatform("\(mode.rawValue)-rate", parts: parts(mode, instance: "\(mode.rawValue.prefix(5))r")) { runner in
                    results[mode]!.backlogRate = try runner.drainBacklog(messagesPerType: backlogPerType)
                    (results[mode]!.sustained, results[mode]!.runs) = try runner.sustained(from: startShare * results[mode]!.backlogRate, seconds: seconds, maxSteps: maxSteps)
                    results[mode]!.peakRSSMB = runner.platform.peakRSSMB
                }
            }
        }
        if phases.contains("targets") {
            let rates = (environment["BENCH_TARGET_RATES"] ?? "30000,60000,120000").split(separator: ",").compactMap { Double($0) }
            for mode in DeployMode.allCases {
                try withPlatform("\(mode.rawValue)-targets", parts: parts(mode, instance: "\(mode.rawValue.prefix(5))t")) { runner in
                    results[mode]!.targets = try rates.map { try runner.run(readingsPerSecond: $0, seconds: seconds) }
                }
            }
        }
        // (2)-(5) Half each mode's own rate for latency; the faults at one load for both: half the lower rate.
        let sustained = DeployMode.allCases.compactMap { results[$0]!.highest?.load.requestedReadings }
        let lower = sustained.min() ?? 2 * (environment["BENCH_RATE"].flatMap(Double.init) ?? 0)
        let common = roundedDown(lower / 2, to: 1000)
        if phases.contains("faults") {
            guard lower > 0 else { throw BenchError("no common rate: a mode sustained none (see the log above), or set BENCH_RATE without the rate phase") }
            let next = binary + "-next"
            try? FileManager.default.removeItem(atPath: next)
            try FileManager.default.copyItem(atPath: binary, toPath: next)
            defer { try? FileManager.default.removeItem(atPath: next) }
            for mode in DeployMode.allCases {
                try withPlatform("\(mode.rawValue)-faults", parts: parts(mode, instance: "\(mode.rawValue.prefix(5))f")) { runner in
                    let half = results[mode]!.highest.map { roundedDown($0.load.requestedReadings / 2, to: 1000) } ?? common
                    results[mode]!.half = try runner.run(readingsPerSecond: half, seconds: seconds)
                    results[mode]!.baseline = try runner.run(readingsPerSecond: common, seconds: seconds, others: otherThan(flooded))
                    results[mode]!.kill = try runner.disrupt(flooded, readingsPerSecond: common, seconds: seconds + outage, outage: outage)
                    let others = Double(catalog.sensors.count - 1)
                    results[mode]!.flood = try runner.run(
                        readingsPerSecond: common / (others + 1) * (others + 10), seconds: seconds, flooded: flooded, flood: 10,
                        others: otherThan(flooded), timeout: 900)
                    results[mode]!.redeploy = try runner.disrupt(flooded, readingsPerSecond: common, seconds: seconds, outage: 0, redeploy: next)
                }
            }
        }
        // (6) Per-part scaling: the flooded type alone, one replica against two through `$share`.
        var scaling: [ScalingResult] = []
        if phases.contains("scaling") {
            let single = MixedLoad(sensors: [catalog[flooded]!], mqtt: mqtt, samples: mixed.samples, devicesPerType: mixed.devicesPerType * 3,
                                   connectionsPerType: 2, window: mixed.window)
            for replicas in [1, 2] {
                let parts = DeployedPlatform.replicaParts(sensor: flooded, count: replicas, instance: "rep\(replicas)-")
                scaling.append(try withPlatform("replicas-\(replicas)", parts: parts, load: single) { runner in
                    let backlog = try runner.drainBacklog(messagesPerType: backlogPerType * 2)
                    let (best, runs) = try runner.sustained(from: startShare * backlog, seconds: seconds, maxSteps: maxSteps)
                    return ScalingResult(replicas: replicas, backlogRate: backlog, sustained: best, keptUp: ModeResult.highestKeptUp(runs))
                })
            }
        }
        let loss = phases.contains("loss") ? try SharedSubscriptionLoss(benchmark: self).measure(sensor: flooded) : []
        ModesReport(results: DeployMode.allCases.map { results[$0]! }, common: common, flooded: flooded, outage: outage, seconds: seconds,
                    samples: mixed.samples, devices: mixed.devicesPerType * catalog.sensors.count, scaling: scaling, loss: loss).print()
    }

    private func otherThan(_ sensor: String) -> [String] { catalog.sensors.map(\.name).filter { $0 != sensor } }

    /// A platform for a sensor type's replicas, for SharedSubscriptionLoss. `label` names its logs, journal and
    /// database: one per case, so a later case does not overwrite an earlier one's logs.
    func replicas<T>(_ sensor: String, count: Int, label: String, _ body: (ModeRunner) throws -> T) throws -> T {
        try withPlatform(label, parts: DeployedPlatform.replicaParts(sensor: sensor, count: count, instance: "loss\(count)-"),
                         load: MixedLoad(sensors: [catalog[sensor]!], mqtt: mqtt, samples: 1, devicesPerType: 100, connectionsPerType: 1, window: 100), body)
    }
}

struct ModeResult {
    var mode: DeployMode
    var processes: Int
    var backlogRate = 0.0
    var runs: [ModeRun] = []
    /// The highest rate that passed: kept up with latency bounded.
    var sustained: ModeRun?
    var peakRSSMB = 0.0
    var half: ModeRun?
    /// Runs at fixed rates (the `targets` phase).
    var targets: [ModeRun] = []
    var baseline: ModeRun?
    var kill: DisruptionRun?
    var flood: ModeRun?
    var redeploy: DisruptionRun?

    /// The highest rate stored in full at the requested pace, latency aside.
    var keptUp: ModeRun? { Self.highestKeptUp(runs) }
    /// What the later phases' rates derive from: the sustained rate, else the highest kept up.
    var highest: ModeRun? { sustained ?? keptUp }

    static func highestKeptUp(_ runs: [ModeRun]) -> ModeRun? {
        runs.filter(\.keptUp).max { $0.load.requestedReadings < $1.load.requestedReadings }
    }
}

struct ScalingResult {
    var replicas: Int
    var backlogRate: Double
    var sustained: ModeRun?
    var keptUp: ModeRun?
}
