import Foundation
import SensorModel
import StorageCore
import StorageOperations
import StorageReader

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

    /// Where each sensor type's tables are.
    public let placement: DatabasePlacement

    public init(placement: DatabasePlacement) { self.placement = placement }

    public init(databaseURL: String) { self.init(placement: DatabasePlacement(defaultURL: databaseURL)) }

    /// Polls until every acknowledged reading is stored or `timeout` passes, then reports.
    /// `since` (µs): count only readings from the start of the minute it falls in (a run's own, as long
    /// as no earlier run of the same device ids ended in that minute). A database that can't be reached
    /// (restarting, or a cluster between primaries) is tried again until the deadline; `waiting` hears of
    /// the first such failure, so a wrong URL does not leave the user looking at nothing.
    public func verify(report: EmulatorReport, devices: [EmulatedDevice], since: Int64 = 0, timeout: Duration,
                       waiting: (any Error) -> Void = { _ in }) throws -> [Line] {
        var connections: [String: StoreConnection] = [:]
        let urls = Set(devices.flatMap { $0.feeds.map { placement.url(for: $0.name) } })
        let deadline = Date().addingTimeInterval(timeout.seconds)
        var lines: [Line] = []
        var told = false
        while true {
            do {
                for url in urls where connections[url] == nil { connections[url] = try StoreConnection(url: url) }
                lines = try count(report: report, devices: devices, since: since, on: connections)
                if lines.allSatisfy({ $0.missing == 0 }) || Date() >= deadline { return lines }
            } catch {
                // A query that failed on a connection that is still up is no outage: report it now.
                let lost = connections.filter { !$0.value.pg.isHealthy }
                guard Date() < deadline, connections.count < urls.count || !lost.isEmpty else { throw error }
                for url in lost.keys { connections[url] = nil }
                if !told { waiting(error) }
                told = true
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    func count(report: EmulatorReport, devices: [EmulatedDevice], since: Int64 = 0, on connections: [String: StoreConnection]) throws -> [Line] {
        var lines: [Line] = []
        // A device imitating firmware feeds several sensor types: one reading in each per message.
        var bySensor: [String: (sensor: SensorType, devices: [EmulatedDevice])] = [:]
        for device in devices {
            for sensor in device.feeds { bySensor[sensor.name, default: (sensor, [])].devices.append(device) }
        }
        for sensorName in bySensor.keys.sorted() {
            let (sensor, group) = bySensor[sensorName]!
            // Nil: no tables yet (no ingest service ever ran on this database), so nothing is stored.
            let connection = connections[placement.url(for: sensorName)]!
            let counts = try ReadingQueries(sensor: sensor).deliveryCounts(devices: group.map(\.name), since: since, on: connection) ?? [:]
            var line = Line(sensor: sensorName, sent: 0, stored: 0, missing: 0, duplicated: 0)
            for device in group {
                let acked = report.ackedReadingsPerDevice[device.name] ?? 0
                let have = counts[device.name] ?? DeliveryCounts()
                line.sent += acked
                line.stored += have.stored
                line.missing += max(0, acked - have.stored)
                line.duplicated += max(0, have.rolledUpValues - have.presentValues)
            }
            lines.append(line)
        }
        return lines
    }
}
