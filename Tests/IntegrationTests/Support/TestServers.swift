import Foundation
import MQTT
import Postgres
import SensorModel
import StorageCore
import StorageOperations
import StorageWriter
import TestSupport
import Testing

/// The real broker and PostgreSQL that scripts/test.sh starts. Integration tests fail (never skip)
/// when they are missing, with a message saying how to start them.
struct TestServers {
    let mqttURL: String
    let databaseURL: String
    let binDirectory: String

    static let howToRun = "integration tests need a real mosquitto and PostgreSQL: run them with scripts/test.sh (it starts throwaway servers and sets TELEMETRY_TEST_MQTT_URL, TELEMETRY_TEST_DATABASE_URL and TELEMETRY_BIN_DIR)"

    static func require() throws -> TestServers {
        let environment = ProcessInfo.processInfo.environment
        guard let mqtt = environment["TELEMETRY_TEST_MQTT_URL"], let database = environment["TELEMETRY_TEST_DATABASE_URL"],
              let bin = environment["TELEMETRY_BIN_DIR"] else {
            throw TestSetupError(message: howToRun)
        }
        return TestServers(mqttURL: mqtt, databaseURL: database, binDirectory: bin)
    }

    var mqtt: MQTTURL { get throws { try MQTTURL(parsing: mqttURL) } }

    /// A database of its own for one test, so counts are exact whatever else runs.
    func makeDatabase() throws -> String {
        let name = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let admin = try PGConnection(url: databaseURL)
        try admin.execute("CREATE DATABASE \(name)")
        guard let slash = databaseURL.lastIndex(of: "/") else { throw TestSetupError(message: "bad database URL \(databaseURL)") }
        return databaseURL[..<slash] + "/" + name
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A catalog folder with sensor types named uniquely for one test, so that its ingest services and
/// topics never meet another test's on the shared broker.
struct TestCatalog {
    let directory: String
    let catalog: Catalog
    /// What source topics are put under: `<suffix>/`.
    var topicPrefix: String { "\(URL(fileURLWithPath: directory).lastPathComponent.dropFirst("catalog-".count))/" }

    /// Copies the given default sensor types, each renamed `<name>_<suffix>`, their source topics put
    /// under `<suffix>/` (`<suffix>/tele/{device}/SENSOR`; a Sparkplug group `spBv1.0/<suffix>-<group>`)
    /// so that tests never receive each other's.
    /// `settings`: top-level keys put in every copied file (`["expected_interval": "2s"]`).
    static func make(from names: [String], settings: [String: Any] = [:]) throws -> TestCatalog {
        let suffix = String(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(8))
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("config/sensors")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(suffix)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in names {
            let data = try Data(contentsOf: source.appendingPathComponent("\(name).json"))
            var object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            object["name"] = "\(name)_\(suffix)"
            object.merge(settings) { $1 }
            if let sources = object["sources"] as? [[String: Any]] {
                object["sources"] = sources.map { source in
                    let topic = source["topic"] as! String
                    let isolated = topic.hasPrefix("spBv1.0/") ? "spBv1.0/\(suffix)-\(topic.dropFirst("spBv1.0/".count))" : "\(suffix)/\(topic)"
                    return source.merging(["topic": isolated]) { $1 }
                }
            }
            try JSONSerialization.data(withJSONObject: object).write(to: directory.appendingPathComponent("\(name)_\(suffix).json"))
        }
        return TestCatalog(directory: directory.path, catalog: try Catalog.load(directory: directory.path))
    }

    func sensor(_ prefix: String) -> SensorType {
        catalog.sensors.first { $0.name.hasPrefix(prefix + "_") }!
    }
}

/// Waits for a condition with a deadline instead of sleeping a fixed time, blocking: for code on a thread of
/// its own (`Blocking.run`); async code awaits `eventually`.
@available(*, noasync, message: "await eventually: a blocking wait holds one of the cooperative pool's threads")
func blockingEventually(timeout: Duration = .seconds(30), poll: Duration = .milliseconds(100), _ condition: () throws -> Bool) throws -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: Double(poll.components.attoseconds) / 1e18 + Double(poll.components.seconds))
    }
    return try condition()
}

/// Waits for a condition with a deadline instead of sleeping a fixed time, without holding a thread of the
/// cooperative pool between tries: the pool has as many threads as cores (two here), and tests that blocked
/// them in waits stalled every other test of the parallel run past its deadlines.
func eventually(timeout: Duration = .seconds(30), poll: Duration = .milliseconds(100), _ condition: () async throws -> Bool) async throws -> Bool {
    try await within(timeout, poll: poll, condition)
}

/// A database of its own, migrated for a catalog of copies of the given default sensor types, with a
/// connection to it: what the writer's and the readers' tests start from.
struct TestStore {
    let database: String
    let catalog: TestCatalog
    let connection: PGConnection
    /// The first sensor type.
    var sensor: SensorType { catalog.catalog.sensors[0] }

    init(sensors names: [String] = ["power"]) throws {
        database = try TestServers.require().makeDatabase()
        catalog = try TestCatalog.make(from: names)
        connection = try PGConnection(url: database)
        try Schema.migrate(connection, catalog: catalog.catalog)
    }
}

/// `count` readings of `device`, a second apart from `second` seconds after `base` (µs), each with its
/// second as seq and `value` in the first field.
func secondlyBatch(_ sensor: SensorType, device: String, base: Int64, from second: Int, count: Int = 3, value: Double) -> IngestBatch {
    var batch = IngestBatch(fieldCount: sensor.fields.count)
    for index in second..<(second + count) {
        batch.readings.set(field: 0, row: batch.readings.appendRow(time: base + Int64(index) * 1_000_000, seq: Int64(index)), value)
    }
    batch.closeSpan(device: device, from: 0)
    return batch
}

/// How many readings a sensor type's table holds, heap rows and compacted blocks alike (docs/storage.md):
/// what a test counts when the platform may have compacted them (TELEMETRY_TEST_COMPACT=1).
func storedReadings(_ table: String, on connection: PGConnection) throws -> Int {
    let heap = "\"\(table.replacingOccurrences(of: "\"", with: "\"\""))\""
    let blocks = "\"\(table.replacingOccurrences(of: "\"", with: "\"\""))_blocks\""
    return Int(try connection.query("SELECT (SELECT count(*) FROM \(heap)) + coalesce((SELECT sum(count) FROM \(blocks)), 0)")[0, 0] ?? "0") ?? 0
}

/// scripts/test.sh's compacted pass (TELEMETRY_TEST_COMPACT=1): every closed hour of `sensors` compacted now,
/// so what the test reads next comes from blocks, and the readings moved noted in
/// TELEMETRY_TEST_COMPACT_REPORT. Otherwise nothing. A test calls it once what it wrote is stored.
func compactClosedHoursIfAsked(
    database: String, sensors: [SensorType], test: String = #function, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let environment = ProcessInfo.processInfo.environment
    guard environment["TELEMETRY_TEST_COMPACT"] == "1" else { return }
    let connection = try PGConnection(url: database)
    let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
    var moved = 0
    for sensor in sensors {
        // A query service of the test may be compacting this sensor type (one compactor at a time): again
        // until this pass ran itself.
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        var outcome = try Compaction.run(sensor: sensor, now: now, after: .zero, on: connection)
        while outcome.skipped && ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            outcome = try Compaction.run(sensor: sensor, now: now, after: .zero, on: connection)
        }
        #expect(!outcome.skipped && outcome.damaged.isEmpty, "compaction of \(sensor.name): \(outcome)", sourceLocation: sourceLocation)
        moved += outcome.readings
    }
    // Readings another compactor moved first are in blocks all the same: count what blocks hold.
    let inBlocks = try sensors.reduce(0) { total, sensor in
        total + Int(try connection.query("SELECT coalesce(sum(count), 0) FROM \(SensorTables(sensor).blocks)")[0, 0] ?? "0")!
    }
    #expect(inBlocks > 0, "\(test): nothing compacted; the test would read heap rows only", sourceLocation: sourceLocation)
    if let path = environment["TELEMETRY_TEST_COMPACT_REPORT"], let report = FileHandle(forWritingAtPath: path) {
        report.seekToEndOfFile()
        report.write(Data("\(test): \(moved) readings compacted by the test, \(inBlocks) in blocks\n".utf8))
        try? report.close()
    }
}
