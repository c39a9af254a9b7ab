import DeviceIdentity
import Foundation
import MQTT
import Postgres
import SensorModel
import StorageCore
import TestSupport

/// `EndToEndBenchmark security` (scripts/bench-security.sh): what device identity costs on the data path.
/// The same load through an open broker (anonymous, no ACL, plaintext) and a secured one (each device logs
/// in with its own password over TLS and the ACL checks every publish; the ingest service reads on its
/// service account over plaintext loopback), one device per connection in both, as a fleet connects.
/// Per frame size and broker: an unpaced load's throughput, then a paced run at one rate for both:
/// publish→commit latency and CPU per million readings of the broker, ingest, PostgreSQL and the load generator.
struct SecurityBenchmark {
    /// One broker as the devices and the ingest service reach it.
    struct Broker {
        var label: String
        var devices: MQTTURL
        var service: MQTTURL
        var pid: Int32?
        var passwords: [String: String]?
    }

    struct Run {
        var broker: String
        var samples: Int
        var load: LoadReport
        var stored: Int
        var readingsPerSecond: Double
        var latency: Latency
        var cpu: CPUSample
        var verdict: String

        var published: Int { load.published * samples }
        func perMillion(_ seconds: Double) -> Double { stored > 0 ? seconds * 1e6 / Double(stored) : 0 }
    }

    let environment = ProcessInfo.processInfo.environment
    let adminURL: String
    let binary: String
    let logDirectory: String
    let postmasterPID: Int32?
    let sensor: SensorType
    let devices: Int
    let seconds: Double
    let window: Int
    let frames: [Int]
    let unpacedMessages: [Int: Int]
    let servicePassword: String
    /// The secured broker's plaintext devices' listener: where provisioning checks that the broker took the credentials.
    let plainDevicePort: Int
    var open: Broker
    var secured: Broker

    init() throws {
        let environment = ProcessInfo.processInfo.environment
        func setting(_ key: String) throws -> String {
            guard let value = environment[key] else { throw BenchError("\(key) is not set: run scripts/bench-security.sh") }
            return value
        }
        adminURL = try setting("BENCH_DATABASE_URL")
        binary = try setting("BENCH_BIN_DIR") + "/telemetry"
        logDirectory = environment["BENCH_LOG_DIR"] ?? "/tmp"
        postmasterPID = pidOfPostmaster(dataDirectory: environment["BENCH_PG_DATA"])
        sensor = try Catalog.load(directory: environment["BENCH_CATALOG"] ?? "config/sensors")["temperature"]!
        devices = Int(environment["BENCH_DEVICES"] ?? "") ?? 100
        seconds = Double(environment["BENCH_SECONDS"] ?? "") ?? 30
        window = Int(environment["BENCH_WINDOW"] ?? "") ?? 500
        frames = (environment["BENCH_FRAMES"] ?? "10,1").split(separator: ",").compactMap { Int($0) }
        unpacedMessages = Dictionary((environment["BENCH_UNPACED_MESSAGES"] ?? "10=200000,1=400000").split(separator: ",").compactMap { pair in
            let parts = pair.split(separator: "=").compactMap { Int($0) }
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }) { $1 }
        servicePassword = try setting("BENCH_SERVICE_PASSWORD")
        guard let plainDevicePort = Int(try setting("BENCH_SECURED_DEVICE_PORT")) else { throw BenchError("BENCH_SECURED_DEVICE_PORT is not a port") }
        self.plainDevicePort = plainDevicePort
        let openURL = try MQTTURL(parsing: try setting("BENCH_OPEN_MQTT_URL"))
        open = Broker(label: "open", devices: openURL, service: openURL, pid: environment["BENCH_OPEN_MOSQUITTO_PID"].flatMap { Int32($0) })
        var deviceURL = try MQTTURL(parsing: try setting("BENCH_SECURED_DEVICE_URL"))
        deviceURL.caFile = try setting("BENCH_CA_FILE")
        var serviceURL = try MQTTURL(parsing: try setting("BENCH_SECURED_MQTT_URL"))
        serviceURL.username = "ingest-\(sensor.name)"
        serviceURL.password = servicePassword
        secured = Broker(label: "secured", devices: deviceURL, service: serviceURL, pid: environment["BENCH_SECURED_MOSQUITTO_PID"].flatMap { Int32($0) })
    }

    func log(_ text: String) {
        FileHandle.standardError.write(Data("[security \(ISO8601DateFormatter().string(from: Date()))] \(text)\n".utf8))
    }

    var devicePrefix: String { "sec" }

    /// Credentials for the load's devices, and the wait until the secured broker takes the last of them.
    mutating func provision() throws {
        let connection = try StoreConnection(url: adminURL)
        try DeviceCredentials.prepare(on: connection)
        let names = (0..<devices).map { (device: "\(devicePrefix)-\(String(format: "%04ld", $0))", sensors: SensorRights.all) }
        let issued = try DeviceCredentials.issue(names, on: connection)
        secured.passwords = Dictionary(uniqueKeysWithValues: issued.map { ($0.credential.device, $0.password) })
        let last = issued[issued.count - 1]
        let deadline = Date().addingTimeInterval(60)
        while !CredentialsBenchmark.accepts(port: plainDevicePort, username: last.credential.device, password: last.password) {
            guard Date() < deadline else { throw BenchError("the secured broker did not take the devices' credentials within 60 s") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        log("\(devices) devices provisioned and taken by the secured broker")
    }

    private func makeDatabase(_ name: String) throws -> String { try freshDatabase(name, admin: adminURL) }

    private func startIngest(_ broker: Broker, database: String, instance: String) throws -> BenchProcess {
        let port = try freeLoopbackPort()
        var environment = [
            "TELEMETRY_MQTT_URL": "mqtt://\(broker.service.host):\(broker.service.port)", "TELEMETRY_DATABASE_URL": database,
            "TELEMETRY_CATALOG": self.environment["BENCH_CATALOG"] ?? "config/sensors", "TELEMETRY_JOURNAL_DIR": "\(logDirectory)/journal-\(instance)",
            "TELEMETRY_LOG_LEVEL": "notice", "TELEMETRY_METRICS_PORT": String(port),
        ]
        if broker.service.username != nil { environment["TELEMETRY_SERVICE_PASSWORD"] = servicePassword }
        let process = try BenchProcess(binary, arguments: ["ingest", "--sensor", sensor.name, "--instance", instance], environment: environment,
                                       log: "\(logDirectory)/ingest-\(instance).log")
        let deadline = Date().addingTimeInterval(60)
        while httpStatus("http://127.0.0.1:\(port)/readyz") != 200 {
            guard Date() < deadline, process.process.isRunning else { throw BenchError("ingest for the \(broker.label) broker did not get ready; see \(logDirectory)/ingest-\(instance).log") }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return process
    }

    private func spec(_ broker: Broker, samples: Int, rate: Double?, messages: Int) -> LoadSpec {
        LoadSpec(mqtt: broker.devices, topicRoot: "telemetry/\(sensor.name)", devicePrefix: devicePrefix, devices: devices, samples: samples,
                 fields: sensor.fields.count, rate: rate, messages: messages, connections: devices, window: window, passwords: broker.passwords)
    }

    /// One load through `broker` and its ingest service: everything stored, then measured.
    private func measure(_ broker: Broker, ingest: BenchProcess, stats: PGConnection, samples: Int, rate: Double?, messages: Int) throws -> Run {
        let tables = SensorTables(sensor)
        try stats.execute("TRUNCATE \(tables.readings), \(tables.rollup1m), \(tables.rollup1h)")
        try stats.execute("CHECKPOINT")
        let watch = CPUWatch(ingest: ingest.pid, broker: broker.pid, postmaster: postmasterPID)
        let before = watch.sample()
        let load = try generateLoad(spec(broker, samples: samples, rate: rate, messages: messages))
        let published = load.published * samples
        let drained = try waitUntilStored(stats, table: tables.readings, sensor: sensor.name, load: load, readings: published, timeout: 300)
        let cpu = watch.sample() - before
        let stored = try storedRows(stats, table: tables.readings)
        let lastCommit = Double(try stats.query("SELECT extract(epoch FROM max(pg_xact_commit_timestamp(xmin))) * 1e6 FROM \(tables.readings)")[0, 0] ?? "0") ?? 0
        let span = (lastCommit - Double(load.startMicros)) / 1e6
        let latency = try Latency.measure(stats, table: tables.readings, middleMicros: load.startMicros + Int64(load.publishSeconds * 500_000),
                                          every: max(1, stored / 2_000_000))
        var problems: [String] = []
        if let failure = load.failure { problems.append(failure) }
        if drained == nil || stored != published { problems.append("\(published - stored) of \(published) readings not stored") }
        if let rate, load.achievedRate < 0.99 * rate { problems.append(String(format: "load generator reached only %.1f%% of the rate", 100 * load.achievedRate / rate)) }
        if rate != nil && !latency.isBounded { problems.append("latency not bounded") }
        let run = Run(broker: broker.label, samples: samples, load: load, stored: stored, readingsPerSecond: span > 0 ? Double(stored) / span : 0,
                      latency: latency, cpu: cpu, verdict: problems.isEmpty ? "PASS" : "FAIL: " + problems.joined(separator: ", "))
        log(String(format: "%@ broker, %d-sample, %@: %@; stored %d at %.0f readings/s; %@; %@; %@", broker.label, samples,
                   rate.map { String(format: "paced %.0f msg/s", $0) } ?? "unpaced", load.summary, stored, run.readingsPerSecond,
                   latency.summary, cpu.perMillion(stored), run.verdict))
        return run
    }

    mutating func run() throws {
        try provision()
        var unpaced: [Run] = [], paced: [Run] = []
        for samples in frames {
            let brokers = [open, secured]
            let setups = try brokers.map { broker -> (Broker, BenchProcess, PGConnection) in
                let database = try makeDatabase("bench_security_\(broker.label)_\(samples)")
                let ingest = try startIngest(broker, database: database, instance: "\(broker.label)\(samples)")
                return (broker, ingest, try PGConnection(url: database))
            }
            defer {
                for (broker, ingest, _) in setups {
                    ingest.stop()
                    try? endSession(url: broker.service, clientID: "ingest-\(sensor.name)-\(broker.label)\(samples)")
                }
            }
            // Only one broker's pipeline busy at a time; the other's ingest service idles.
            let messages = unpacedMessages[samples] ?? 200_000
            let fastest = try setups.map { try measure($0.0, ingest: $0.1, stats: $0.2, samples: samples, rate: nil, messages: messages) }
            unpaced += fastest
            let rate = environment["BENCH_RATE_\(samples)"].flatMap(Double.init)
                ?? roundedDown((fastest.map(\.readingsPerSecond).min() ?? 0) / 2, to: samples == 1 ? 500 : 1000)
            let messageRate = rate / Double(samples)
            paced += try setups.map { try measure($0.0, ingest: $0.1, stats: $0.2, samples: samples, rate: messageRate, messages: Int(messageRate * seconds)) }
        }
        report(unpaced: unpaced, paced: paced)
    }

    func report(unpaced: [Run], paced: [Run]) {
        let machine = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
            .first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        print("Security benchmark, \(ISO8601DateFormatter().string(from: Date())), \(ProcessInfo.processInfo.activeProcessorCount) cores (\(machine)); "
              + "\(devices) devices, one QoS 1 connection each (window \(window)), tm float32 frames, one `telemetry ingest`")
        print("open = anonymous, no ACL, plaintext; secured = each device's own password (PBKDF2-SHA512, mosquitto password_file), the ACL "
              + "(broker-sync's pattern lines) on every publish, TLS 1.3 from the devices; the ingest service on its account over loopback plaintext.")
        print("")
        print("Throughput, unpaced (every connection publishes as fast as its window allows; stored readings over first publish → last commit):")
        print("")
        print("| frames | broker | stored readings/s | msg/s | load generator | broker CPU s / M readings | ingest | PostgreSQL | load generator | verdict |")
        print("|---|---|---:|---:|---|---:|---:|---:|---:|---|")
        for run in unpaced { print(row(run, rate: String(format: "%.0f | %.0f", run.readingsPerSecond, run.readingsPerSecond / Double(run.samples)))) }
        print("")
        print("Paced, the same rate through both (half the lower unpaced throughput unless BENCH_RATE_<samples> is set), \(Int(seconds)) s:")
        print("")
        print("| frames | broker | requested readings/s | achieved | load generator | broker CPU s / M readings | ingest | PostgreSQL | load generator | p50 / p99 / max publish→commit | verdict |")
        print("|---|---|---:|---:|---|---:|---:|---:|---:|---|---|")
        for run in paced {
            let requested = (run.load.requestedRate ?? 0) * Double(run.samples)
            print(row(run, rate: String(format: "%.0f | %.0f", requested, run.load.achievedRate * Double(run.samples)),
                      latency: String(format: "%.1f / %.1f / %.1f ms", run.latency.p50, run.latency.p99, run.latency.max)))
        }
    }

    private func row(_ run: Run, rate: String, latency: String? = nil) -> String {
        let generator = String(format: "%.0f msg/s achieved, %.2f core", run.load.achievedRate, run.load.cores)
        return String(format: "| %d-sample | %@ | %@ | %@ | %.2f | %.2f | %.2f | %.2f |%@ %@ |", run.samples, run.broker, rate, generator,
                      run.perMillion(run.cpu.broker), run.perMillion(run.cpu.ingest), run.perMillion(run.cpu.postgres), run.perMillion(run.cpu.generator),
                      latency.map { " \($0) |" } ?? "", run.verdict)
    }
}
