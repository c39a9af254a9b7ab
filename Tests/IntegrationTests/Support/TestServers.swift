import Foundation
import MQTT
import Postgres
import SensorModel
import StorageCore
import StorageWriter
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

/// Waits for a condition with a deadline instead of sleeping a fixed time.
func eventually(timeout: Duration = .seconds(30), poll: Duration = .milliseconds(100), _ condition: () throws -> Bool) throws -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: Double(poll.components.attoseconds) / 1e18 + Double(poll.components.seconds))
    }
    return try condition()
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
