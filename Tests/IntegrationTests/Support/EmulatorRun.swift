import Foundation
import Postgres

/// The real `telemetry emulate` as a process, publishing QoS 1 and verifying at the end, with what its
/// output says read back: acknowledgements so far, the final totals, the verify table.
final class EmulatorRun: @unchecked Sendable {
    let process: ServiceProcess

    /// - Parameters: rate in messages per second over all devices; duration in seconds; prefix: the device
    ///   ids' (`<prefix>-<sensor>-0000`), random when nil.
    init(servers: TestServers, mqttURL: String? = nil, database: String, catalog: TestCatalog, sensors: [String],
         devices: Int = 20, samples: Int = 4, rate: Int, duration: Double, verifyTimeout: Int = 90, extra: [String] = [],
         environment: [String: String] = [:], prefix: String? = nil) throws {
        let prefix = prefix ?? "emu" + UUID().uuidString.lowercased().prefix(6)
        process = try ServiceProcess(
            "telemetry",
            arguments: ["emulate"] + sensors.flatMap { ["--sensor", $0] } + [
                "--devices", "\(devices)", "--samples", "\(samples)", "--rate", "\(rate)", "--duration", "\(duration)",
                "--qos", "1", "--device-prefix", prefix, "--verify", "--verify-timeout", "\(verifyTimeout)",
            ] + extra,
            environment: ["TELEMETRY_MQTT_URL": mqttURL ?? servers.mqttURL, "TELEMETRY_DATABASE_URL": database,
                          "TELEMETRY_CATALOG": catalog.directory].merging(environment) { $1 },
            servers: servers)
    }

    var output: String { process.output }

    /// Messages the broker acknowledged so far, from the latest progress line ("acked N,").
    var ackedMessages: Int {
        guard let range = output.range(of: "acked ", options: .backwards) else { return 0 }
        return Int(output[range.upperBound...].prefix { $0.isNumber }) ?? 0
    }

    /// Waits until the broker acknowledged at least `count` messages in all.
    func waitForAcked(_ count: Int, timeout: Duration = .seconds(60)) async throws {
        guard try await eventually(timeout: timeout, poll: .milliseconds(50), { ackedMessages >= count || !process.isRunning }),
              ackedMessages >= count else {
            throw TestSetupError(message: "emulator did not reach \(count) acknowledged messages: \(output.suffix(2000))")
        }
    }

    /// (acknowledged messages, acknowledged readings) from the "done in" line.
    var acknowledged: (messages: Int, readings: Int)? {
        guard let range = output.range(of: "acknowledged ") else { return nil }
        let numbers = output[range.upperBound...].prefix { $0 != ")" }.split { !$0.isNumber }.compactMap { Int($0) }
        return numbers.count >= 2 ? (numbers[0], numbers[1]) : nil
    }

    /// The verify table's row of a sensor type: sent, stored, missing, duplicated. (The table cuts
    /// names to 14 characters, so the row is found by that prefix.)
    func verifyRow(_ sensor: String) -> [Int]? { verifyRows[String(sensor.prefix(14))] }

    var verifyRows: [String: [Int]] {
        var rows: [String: [Int]] = [:]
        guard let header = output.range(of: "sensor          sent") else { return rows }
        for line in output[header.upperBound...].split(separator: "\n").dropFirst() {
            let parts = line.split(separator: " ")
            guard parts.count == 5, let numbers = Optional(parts.dropFirst().compactMap { Int($0) }), numbers.count == 4 else { continue }
            rows[String(parts[0])] = numbers
        }
        return rows
    }
}

/// Readings stored for a sensor type, and the counts its 1-minute and 1-hour rollups hold for `field`:
/// all three equal when no reading was lost from or counted twice in a rollup.
func storedAndRolledUp(database: String, sensor: String, field: String) throws -> (stored: Int, minute: Int, hour: Int) {
    let connection = try PGConnection(url: database)
    func number(_ sql: String) throws -> Int { Int(try connection.query(sql)[0, 0] ?? "") ?? -1 }
    return (try number("SELECT count(\"\(field)\") FROM \"\(sensor)\""),
            try number("SELECT coalesce(sum(\"\(field)_count\"), 0) FROM \"\(sensor)_1m\""),
            try number("SELECT coalesce(sum(\"\(field)_count\"), 0) FROM \"\(sensor)_1h\""))
}
