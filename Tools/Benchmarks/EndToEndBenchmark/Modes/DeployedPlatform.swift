import Foundation
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MQTT
import SensorModel

/// The two ways the platform runs from the same executable.
enum DeployMode: String, CaseIterable {
    /// One `telemetry ingest` per sensor type, the catch-all and `telemetry query`: eight processes.
    case microservices
    /// `telemetry all`: one process.
    case monolith
}

/// How to start one part of the platform, and the MQTT sessions it holds at the broker.
struct PartSpec {
    var name: String
    var arguments: [String]
    var environment: [String: String] = [:]
    var clientIDs: [String]
    /// The sensor types whose messages it ingests (empty: none, e.g. the query service).
    var sensors: [String]
}

/// One running part: its process, and where it answers /readyz.
final class PlatformPart {
    let spec: PartSpec
    let healthPort: Int
    private(set) var process: BenchProcess
    private var started = 0

    init(spec: PartSpec, healthPort: Int, start: (PartSpec, Int, Int) throws -> BenchProcess) throws {
        self.spec = spec
        self.healthPort = healthPort
        process = try start(spec, healthPort, 0)
    }

    var name: String { spec.name }
    var pid: Int32 { process.pid }

    func replace(with start: (PartSpec, Int, Int) throws -> BenchProcess) throws {
        started += 1
        process = try start(spec, healthPort, started)
    }
}

/// The platform as one deploy mode runs it, every part a real `telemetry` process against the given
/// broker and database; parts can be killed, restarted and redeployed while the load runs.
final class DeployedPlatform {
    let label: String
    private(set) var parts: [PlatformPart] = []
    private let mqttURL: String
    let databaseURL: String
    private let catalogPath: String
    private let logDirectory: String
    private let binary: String

    init(label: String, binary: String, parts specs: [PartSpec], mqttURL: String, database: String, catalogPath: String, logDirectory: String) throws {
        self.label = label
        self.binary = binary
        self.mqttURL = mqttURL
        self.databaseURL = database
        self.catalogPath = catalogPath
        self.logDirectory = logDirectory
        for spec in specs {
            parts.append(try PlatformPart(spec: spec, healthPort: try freeLoopbackPort()) { try self.launch($0, port: $1, generation: $2, binary: binary) })
        }
        for part in parts { try waitUntilReady(part) }
    }

    /// Six sensor types' services, the catch-all and the query service, each a process of its own.
    static func microservicesParts(sensors: [String], instance: String) -> [PartSpec] {
        sensors.map {
            PartSpec(name: $0, arguments: ["ingest", "--sensor", $0, "--instance", instance], clientIDs: ["ingest-\($0)-\(instance)"], sensors: [$0])
        } + [
            PartSpec(name: "unrouted", arguments: ["ingest", "--unrouted", "--instance", instance], clientIDs: ["ingest-unrouted-\(instance)"], sensors: []),
            PartSpec(name: "query", arguments: ["query"], clientIDs: [], sensors: []),
        ]
    }

    /// `telemetry all`: everything in one process.
    static func monolithParts(sensors: [String], instance: String) -> [PartSpec] {
        [PartSpec(name: "all", arguments: ["all"], environment: ["TELEMETRY_INSTANCE": instance],
                  clientIDs: sensors.map { "ingest-\($0)-\(instance)" } + ["ingest-unrouted-\(instance)"], sensors: sensors)]
    }

    /// `count` replicas of one sensor type's service, sharing its messages through `$share` when more than one.
    static func replicaParts(sensor: String, count: Int, instance: String) -> [PartSpec] {
        (1...count).map { replica in
            PartSpec(name: "\(sensor)-\(replica)", arguments: ["ingest", "--sensor", sensor, "--instance", "\(instance)\(replica)"],
                     environment: ["TELEMETRY_SHARED_SUBSCRIPTION": count > 1 ? "true" : "false"],
                     clientIDs: ["ingest-\(sensor)-\(instance)\(replica)"], sensors: [sensor])
        }
    }

    private func launch(_ spec: PartSpec, port: Int, generation: Int, binary: String) throws -> BenchProcess {
        var environment = [
            "TELEMETRY_MQTT_URL": mqttURL, "TELEMETRY_DATABASE_URL": databaseURL, "TELEMETRY_CATALOG": catalogPath,
            "TELEMETRY_JOURNAL_DIR": "\(logDirectory)/journal-\(label)", "TELEMETRY_LOG_LEVEL": "notice",
        ]
        var arguments = spec.arguments
        // The query service and the monolith serve /readyz on their HTTP port, an ingest service on its metrics port.
        if arguments.first == "ingest" { environment["TELEMETRY_METRICS_PORT"] = String(port) } else { arguments += ["--port", String(port)] }
        environment.merge(spec.environment) { $1 }
        return try BenchProcess(binary, arguments: arguments, environment: environment, log: "\(logDirectory)/\(label)-\(spec.name)-\(generation).log")
    }

    func part(_ name: String) -> PlatformPart { parts.first { $0.name == name }! }

    /// The part that ingests `sensor` (the monolith's one part for every sensor type).
    func part(ingesting sensor: String) -> PlatformPart { parts.first { $0.spec.sensors.contains(sensor) }! }

    func waitUntilReady(_ part: PlatformPart, timeout: Double = 60) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if httpStatus("http://127.0.0.1:\(part.healthPort)/readyz") == 200 { return }
            if !part.process.process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw BenchError("\(label) \(part.name) did not become ready; see \(logDirectory)/\(label)-\(part.name)-*.log")
    }

    /// `kill -9`; the part stays down until `restart`.
    func kill(_ part: PlatformPart) {
        Foundation.kill(part.pid, SIGKILL)
        part.process.process.waitUntilExit()
    }

    /// Starts the part again (from `binary` when given: a redeploy) and waits until it is ready.
    func restart(_ part: PlatformPart, binary newBinary: String? = nil) throws {
        try part.replace { try self.launch($0, port: $1, generation: $2, binary: newBinary ?? self.binary) }
        try waitUntilReady(part)
    }

    /// A graceful stop (SIGTERM, as systemd does) and a start from `binary`: a deployment.
    func redeploy(_ part: PlatformPart, binary newBinary: String) throws {
        part.process.stop()
        try restart(part, binary: newBinary)
    }

    /// CPU seconds the platform's processes have used so far.
    var cpuSeconds: Double { parts.reduce(0) { $0 + processCPU($1.pid) } }

    /// The parts' resident memory peaks (VmHWM) summed, in MB: what the host must have for them.
    var peakRSSMB: Double { parts.reduce(0) { $0 + residentMemory(pid: $1.pid).1 } }

    /// Stops every part and ends their persistent sessions, so the broker stops queueing for them.
    func stop(url: MQTTURL) {
        for part in parts { part.process.stop() }
        for part in parts { for id in part.spec.clientIDs { try? endSession(url: url, clientID: id) } }
    }
}

