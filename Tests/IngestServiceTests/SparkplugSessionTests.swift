import Foundation
import Logging
import SensorModel
import StorageWriter
import Testing
import WireFormats
@testable import IngestService

/// An edge node's session in a sensor type's service, fed Eclipse Tahu's own payloads (the golden
/// vectors in WireFormatsTests/testcases/sparkplug): BIRTH aliases resolve later DATA, also in a new
/// session restored from what was stored; a seq gap or a DATA before BIRTH asks for a rebirth (once per
/// interval); DEATH with the BIRTH's bdSeq reports the node and its devices offline.
@Suite struct SparkplugSessionTests {
    static let t0: Int64 = 1_767_225_600_000_000
    static let sensor = SensorType(name: "plant", fields: [
        Field(name: "temperature", unit: "Cel", min: -90, max: 150), Field(name: "humidity", unit: "%RH", min: 0, max: 100),
        Field(name: "offset", unit: "1", min: -3e9, max: 3e9), Field(name: "count", unit: "1", min: -1e6, max: 1e6),
        Field(name: "running", unit: "1", min: 0, max: 1), Field(name: "level", unit: "1", min: 0, max: 70000),
    ], sources: [Source(topic: "spBv1.0/plant", format: .sparkplug, fields: [
        "temperature": ["Temperature", "Sensors/Temp1"], "humidity": ["Humidity"], "offset": ["Offset"], "count": ["Sensors/Count"],
        "running": ["Sensors/Running"], "level": ["Sensors/Level"],
    ])])

    static func vector(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("WireFormatsTests/testcases/sparkplug/tahu-\(name).hex")
        let hex = Array(try String(contentsOf: url, encoding: .utf8).filter(\.isHexDigit).utf8)
        return stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
    }

    final class Commands: @unchecked Sendable {
        var topics: [String] = []
    }

    struct Session {
        let sessions: SparkplugSessions
        let commands = Commands()
        var batch = IngestBatch(fieldCount: SparkplugSessionTests.sensor.fields.count)

        init() {
            let commands = self.commands
            sessions = SparkplugSessions(decoder: MessageDecoder(sensor: SparkplugSessionTests.sensor), logger: Logger(label: "test")) { topic, _ in
                commands.topics.append(topic)
            }
        }

        mutating func feed(_ topic: String, _ payload: [UInt8], counting: Bool = true) throws(DecodeError) {
            guard case .success(let route) = TopicRouting.route(topic, for: SparkplugSessionTests.sensor),
                  case .success(let parsed) = SparkplugTopic.parse(topic) else { preconditionFailure(topic) }
            var skipped = 0
            let start = batch.readings.count
            try sessions.assemble(payload, topic: parsed, device: route.device, source: 0, receivedAt: 0, counting: counting, into: &batch, skipped: &skipped)
            batch.closeSpan(device: route.device, from: start)
        }

        /// (device, time, values) of every row so far.
        var rows: [(String, Int64, [Double?])] {
            batch.spans.flatMap { span in
                span.rows.map { row in (span.device, batch.readings.times[row], (0..<batch.readings.fieldCount).map { batch.readings.value(field: $0, row: row) }) }
            }
        }
    }

    @Test func birthAliasesResolveDataAndSurviveARestart() throws {
        var session = Session()
        try session.feed("spBv1.0/plant/NBIRTH/edge1", Self.vector("nbirth"))
        try session.feed("spBv1.0/plant/DBIRTH/edge1/pump", Self.vector("dbirth"))
        try session.feed("spBv1.0/plant/DDATA/edge1/pump", Self.vector("ddata-aliases"))
        try session.feed("spBv1.0/plant/NDATA/edge1", Self.vector("ndata-historical"))
        let rows = session.rows
        #expect(rows.map(\.0) == ["edge1", "edge1.pump", "edge1.pump", "edge1", "edge1"])
        #expect(rows.map(\.1) == [Self.t0, Self.t0 + 1_000_000, Self.t0 + 2_000_000, Self.t0 + 3_000_000, Self.t0 + 2_500_000])
        // DDATA: alias 10 (Sensors/Temp1, Float) 20.5 and 11 (Sensors/Count, Int64) 5; NDATA: alias 1 (Temperature,
        // Double) -40.125 and 3 (Offset, Int32) -2^31, and the historical alias 2 (Humidity) 41.5 half a second earlier.
        #expect(rows[2].2 == [20.5, nil, nil, 5, nil, nil])
        #expect(rows[3].2 == [-40.125, nil, -2_147_483_648, nil, nil, nil])
        #expect(rows[4].2 == [nil, 41.5, nil, nil, nil, nil])
        #expect(session.batch.statusReports.map { "\($0.device) \($0.online)" } == ["edge1 true", "edge1.pump true"])
        #expect(session.commands.topics.isEmpty, "no gap, no unknown alias: no rebirth")

        // A new run of the service, before the edge node's next BIRTH: what the batch stored is read back.
        var restarted = Session()
        restarted.sessions.restore(session.batch.sparkplugAliases)
        try restarted.feed("spBv1.0/plant/DDATA/edge1/pump", Self.vector("ddata-aliases"))
        #expect(restarted.rows.map(\.2) == [[20.5, nil, nil, 5, nil, nil]])
        #expect(restarted.commands.topics.isEmpty)
    }

    @Test func dataBeforeBirthAndSeqGapsAskForARebirthOncePerInterval() throws {
        var session = Session()
        #expect(throws: DecodeError.self) { try session.feed("spBv1.0/plant/DDATA/edge2/pump", Self.vector("ddata-aliases")) }
        #expect(throws: DecodeError.self) { try session.feed("spBv1.0/plant/DDATA/edge2/pump", Self.vector("ddata-aliases")) }
        #expect(session.commands.topics == ["spBv1.0/plant/NCMD/edge2"], "one request per interval")
        #expect(session.rows.isEmpty)

        var gap = Session()
        try gap.feed("spBv1.0/plant/NBIRTH/edge3", Self.vector("nbirth"))
        try gap.feed("spBv1.0/plant/DBIRTH/edge3/pump", Self.vector("dbirth"))
        try gap.feed("spBv1.0/plant/NDATA/edge3", Self.vector("ndata-historical"))  // seq 3 after 1: seq 2 was lost
        #expect(gap.commands.topics == ["spBv1.0/plant/NCMD/edge3"])
        #expect(gap.rows.count == 4, "what arrived is stored all the same")
        // A retry of the same messages (counting off) checks nothing again.
        try gap.feed("spBv1.0/plant/NDATA/edge3", Self.vector("ndata-historical"), counting: false)
        #expect(gap.commands.topics.count == 1)
    }

    @Test func deathWithTheBirthsBdSeqReportsTheNodeAndItsDevicesOffline() throws {
        var session = Session()
        try session.feed("spBv1.0/plant/NBIRTH/edge4", Self.vector("nbirth"))
        try session.feed("spBv1.0/plant/DBIRTH/edge4/pump", Self.vector("dbirth"))
        // An earlier session's will (bdSeq 7) arriving late changes nothing.
        let stale = SparkplugEncoder.encode(SparkplugPayload(metrics: [SparkplugMetric(name: "bdSeq", datatype: .int64, value: .long(7))]))
        try session.feed("spBv1.0/plant/NDEATH/edge4", stale)
        #expect(session.batch.statusReports.count == 2)
        try session.feed("spBv1.0/plant/NDEATH/edge4", Self.vector("ndeath"))  // bdSeq 0, the BIRTH's
        #expect(session.batch.statusReports.map { "\($0.device) \($0.online)" } == ["edge4 true", "edge4.pump true", "edge4 false", "edge4.pump false"])
    }

    /// What the adversary run of 2026-12-07 found: each message is refused whole, and nothing of it stays.
    @Test func refusedMessagesLeaveTheSessionAsItWas() throws {
        var session = Session()
        func payload(seq: UInt64?, _ metrics: [SparkplugMetric], timestamp: UInt64? = 1_767_225_600_000) -> [UInt8] {
            SparkplugEncoder.encode(SparkplugPayload(timestamp: timestamp, seq: seq, metrics: metrics))
        }
        let temperature = { (alias: UInt64, value: Double) in SparkplugMetric(name: "Temperature", alias: alias, datatype: .double, value: .double(value)) }
        // A BIRTH whose reading is out of range is dead-lettered, and its aliases are not the session's.
        #expect(throws: DecodeError.self) { try session.feed("spBv1.0/plant/NBIRTH/e1", payload(seq: 0, [temperature(1, 500)])) }
        #expect(session.batch.sparkplugAliases.isEmpty && session.batch.statusReports.isEmpty)
        #expect(throws: DecodeError.self) {
            try session.feed("spBv1.0/plant/NDATA/e1", payload(seq: 1, [SparkplugMetric(alias: 1, value: .double(20))]))
        }
        // seq past 255 (2^64 - 1 once overflowed the next seq's arithmetic): refused, the service goes on.
        try session.feed("spBv1.0/plant/NBIRTH/e2", payload(seq: 0, [temperature(1, 20)]))
        #expect(throws: DecodeError.self) { try session.feed("spBv1.0/plant/NDATA/e2", payload(seq: UInt64.max, [SparkplugMetric(alias: 1, value: .double(21))])) }
        try session.feed("spBv1.0/plant/NDATA/e2", payload(seq: 1, [SparkplugMetric(alias: 1, value: .double(22))], timestamp: 1_767_225_601_000))
        // A device that sent no DBIRTH is not read with another device's aliases.
        #expect(throws: DecodeError.self) { try session.feed("spBv1.0/plant/DDATA/e2/d9", payload(seq: 2, [SparkplugMetric(alias: 1, value: .double(23))])) }
        // NaN is an error, not "not carried"; an Int8 of 300 is no Int8.
        #expect(throws: DecodeError.self) { try session.feed("spBv1.0/plant/NDATA/e2", payload(seq: 3, [SparkplugMetric(alias: 1, value: .double(.nan))])) }
        #expect(throws: DecodeError.self) {
            try session.feed("spBv1.0/plant/NDATA/e2", payload(seq: 4, [SparkplugMetric(name: "Offset", datatype: .int8, value: .int(300))]))
        }
        #expect(session.rows.map(\.2[0]) == [20, 22])
        // Edge node `a` with device `b` and edge node `a.b` would be one device: an edge node id holds no `.`.
        #expect(SparkplugTopic(group: "g", kind: .ndata, edgeNode: "a.b", device: nil).storedDevice == nil)
        #expect(SparkplugTopic(group: "g", kind: .ddata, edgeNode: "a", device: "").storedDevice == nil)
        #expect(SparkplugTopic(group: "g", kind: .ddata, edgeNode: "a", device: "b").storedDevice == "a.b")
    }
}
