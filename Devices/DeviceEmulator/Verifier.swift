import Foundation
import Postgres
import SensorModel

/// Checks what an emulator run stored: per sensor type, acknowledged readings against rows in
/// PostgreSQL, and rollup counts against raw counts (a reading counted twice shows up there).
public struct Verifier: Sendable {
    public struct Line: Sendable {
        public var sensor: String
        public var sent: Int
        public var stored: Int
        public var missing: Int
        public var duplicated: Int
    }

    public let databaseURL: String

    public init(databaseURL: String) { self.databaseURL = databaseURL }

    /// Polls until every acknowledged reading is stored or `timeout` passes, then reports.
    public func verify(report: EmulatorReport, devices: [EmulatedDevice], timeout: Duration) throws -> [Line] {
        let connection = try PGConnection(url: databaseURL)
        let deadline = Date().addingTimeInterval(timeout.seconds)
        var lines: [Line] = []
        while true {
            lines = try count(report: report, devices: devices, on: connection)
            if lines.allSatisfy({ $0.missing == 0 }) || Date() >= deadline { return lines }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    func count(report: EmulatorReport, devices: [EmulatedDevice], on connection: PGConnection) throws -> [Line] {
        var lines: [Line] = []
        let bySensor = Dictionary(grouping: devices, by: { $0.sensor.name })
        for sensorName in bySensor.keys.sorted() {
            let group = bySensor[sensorName]!
            let sensor = group[0].sensor
            let names = "{" + group.map { "\"\($0.name)\"" }.joined(separator: ",") + "}"
            let table = "\"\(sensor.name)\""
            let presentRaw = sensor.fields.map { "count(r.\"\($0.name)\")" }.joined(separator: " + ")
            let presentRollup = sensor.fields.map { "coalesce(sum(m.\"\($0.name)_count\"), 0)" }.joined(separator: " + ")
            // No tables yet (no ingest service ever ran on this database): nothing is stored.
            guard try tableExists(sensor.name, on: connection) else {
                let sent = group.reduce(0) { $0 + (report.ackedReadingsPerDevice[$1.name] ?? 0) }
                lines.append(Line(sensor: sensorName, sent: sent, stored: 0, missing: sent, duplicated: 0))
                continue
            }
            let raw = try connection.query("""
                SELECT d.device, count(r.time), \(presentRaw) FROM devices d LEFT JOIN \(table) r ON r.device_id = d.id
                WHERE d.sensor = $1 AND d.device = ANY($2::text[]) GROUP BY d.device
                """, [sensor.name, names])
            let rollup = try connection.query("""
                SELECT d.device, \(presentRollup) FROM devices d LEFT JOIN "\(sensor.name)_1m" m ON m.device_id = d.id
                WHERE d.sensor = $1 AND d.device = ANY($2::text[]) GROUP BY d.device
                """, [sensor.name, names])
            var stored: [String: Int] = [:]
            var presentValues: [String: Int] = [:]
            for row in raw.rows {
                stored[row[0]!] = Int(row[1]!) ?? 0
                presentValues[row[0]!] = Int(row[2]!) ?? 0
            }
            var line = Line(sensor: sensorName, sent: 0, stored: 0, missing: 0, duplicated: 0)
            for row in rollup.rows {
                let rolled = Int(row[1]!) ?? 0
                line.duplicated += max(0, rolled - (presentValues[row[0]!] ?? 0))
            }
            for device in group {
                let acked = report.ackedReadingsPerDevice[device.name] ?? 0
                let have = stored[device.name] ?? 0
                line.sent += acked
                line.stored += have
                line.missing += max(0, acked - have)
            }
            lines.append(line)
        }
        return lines
    }

    private func tableExists(_ name: String, on connection: PGConnection) throws -> Bool {
        let result = try connection.query("SELECT to_regclass($1) IS NOT NULL AND to_regclass('devices') IS NOT NULL", ["\"\(name)\""])
        return result[0, 0] == "t"
    }
}
