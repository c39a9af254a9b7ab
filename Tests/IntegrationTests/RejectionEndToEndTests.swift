import Foundation
import Postgres
import Testing

/// Every kind of bad input, published to the real broker, lands in `rejected` with its own reason,
/// and nothing of it is stored as readings; the service keeps ingesting.
@Suite(.timeLimit(.minutes(3)))
struct RejectionEndToEndTests {
    @Test func eachBadPayloadIsDeadLetteredWithADistinctReason() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let database = try servers.makeDatabase()
        let sensor = catalog.sensor("temperature")
        let ingest = try servers.startIngest(sensors: [sensor.name], catalog: catalog, database: database)
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady(), "\(ingest.output)")

        let base: Int64 = 1_767_225_600_000_000
        let good = HandFrame.float64(seq: 1, base: base, samples: [(0, [21.5])])
        func patched(_ frame: [UInt8], _ change: (inout [UInt8]) -> Void) -> [UInt8] {
            var copy = frame
            change(&copy)
            return copy
        }
        var withBadCRC = patched(good) { $0[3] |= 1 }
        withBadCRC += [0xDE, 0xAD, 0xBE, 0xEF]
        let cases: [(device: String, format: String?, payload: [UInt8], code: String)] = [
            ("truncated", nil, Array(good.dropLast(2)), "truncated"),
            ("over-long", nil, good + [0], "over_long"),
            ("wrong-magic", nil, patched(good) { $0[1] = 0x00 }, "bad_magic"),
            ("wrong-version", nil, patched(good) { $0[2] = 9 }, "bad_version"),
            ("wrong-field-count", nil, patched(good) { $0[4] = 2 }, "field_count"),
            ("bad-crc", nil, withBadCRC, "bad_crc"),
            ("nan", nil, HandFrame.float64(seq: 1, base: base, samples: [(0, [.nan])]), "non_finite"),
            ("out-of-range", nil, HandFrame.float64(seq: 1, base: base, samples: [(0, [151])]), "out_of_range"),
            ("duplicate-time", nil, HandFrame.float64(seq: 1, base: base, samples: [(5, [20]), (5, [21])]), "duplicate_time"),
            ("unknown-lpp-type", "lpp", [0x03, 0xFE, 0x01, 0x10], "unknown_lpp_type"),
            ("malformed-cbor", "senml-cbor", [0x81, 0xA2, 0x00], "malformed_cbor"),
            ("malformed-json", "senml-json", Array(#"[{"n":"celsius","v":"#.utf8), "malformed_json"),
        ]
        let publisher = try TestPublisher(url: servers.mqtt)
        for entry in cases {
            let topic = "telemetry/\(sensor.name)/\(entry.device)" + (entry.format.map { "/\($0)" } ?? "")
            try publisher.publish(topic, entry.payload)
        }
        try publisher.publish("telemetry/\(sensor.name)/control", good)
        try publisher.flush()

        let connection = try PGConnection(url: database)
        let arrived = try await eventually {
            (try? connection.query("SELECT count(*) FROM rejected"))?[0, 0] == String(cases.count)
                && (try? connection.query("SELECT count(*) FROM \"\(sensor.name)\""))?[0, 0] == "1"
        }
        #expect(arrived, "\(ingest.output)")
        let rows = try connection.query("SELECT topic, reason, encode(payload, 'hex') FROM rejected").rows
        var codes: [String: String] = [:]
        for row in rows {
            let device = row[0]!.split(separator: "/")[2]
            codes[String(device)] = String(row[1]!.prefix { $0 != ":" })
            let sent = cases.first { $0.device == device }!.payload
            #expect(row[2] == sent.map { String(format: "%02x", $0) }.joined(), "raw bytes of \(device) kept")
        }
        for entry in cases {
            #expect(codes[entry.device] == entry.code, "\(entry.device): \(rows.first { $0[0]!.contains(entry.device) }?[1] ?? "not dead-lettered")")
        }
        #expect(Set(codes.values).count == cases.count, "every reason is distinct")
        let stored = try connection.query("SELECT d.device FROM \"\(sensor.name)\" r JOIN devices d ON d.id = r.device_id").rows.map { $0[0]! }
        #expect(stored == ["control"])
        #expect(ingest.isRunning)
    }
}
