import Foundation
import MQTT
import Postgres
import Testing

/// Topics that no `telemetry/<sensor>/+[/+]` subscription takes — extra levels of a known sensor type, a
/// sensor type not in the catalog, too few levels — are dead-lettered on the real broker, once each, with
/// their raw bytes, by the sensor type's service or by the catch-all (`telemetry ingest --unrouted`);
/// valid messages are still stored and both services keep running.
@Suite(.timeLimit(.minutes(3)))
struct UnroutedTopicsTests {
    @Test func unroutableTopicsAreDeadLetteredOnceWithTheirBytes() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let database = try servers.makeDatabase()
        let sensor = catalog.sensor("temperature").name
        let suffix = String(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(8))
        let instance = "t\(suffix)"

        let ingest = try servers.startIngest(sensors: [sensor], catalog: catalog, database: database)
        defer { ingest.stop() }
        // Both subscribed before anything is published: a new persistent session gets nothing published earlier.
        await #expect(try ingest.waitUntilReady(), "\(ingest.output)")
        let catchAll = try servers.startIngest(
            sensors: [], catalog: catalog, database: database,
            arguments: ["--unrouted", "--instance", instance])
        defer {
            catchAll.stop()
            // Its persistent session subscribes to telemetry/#: end it, or the broker queues every later message for it.
            Self.endSession(clientID: "ingest-unrouted-\(instance)", servers: servers)
        }
        await #expect(try catchAll.waitUntilReady(), "\(catchAll.output)")

        let base: Int64 = 1_767_225_600_000_000
        let good = HandFrame.float64(seq: 1, base: base, samples: [(0, [21.5])])
        let unknown = "nosuch_\(suffix)"
        // (topic, payload, reason code, `rejected.sensor`): the catch-all's rows belong to no sensor type.
        let cases: [(topic: String, payload: [UInt8], code: String, sensor: String?)] = [
            ("telemetry/\(sensor)/dev-1/tm/extra", good, "bad_topic", sensor),
            ("telemetry/\(sensor)/dev-1/tm/extra/more/levels", Array("five-plus".utf8), "bad_topic", sensor),
            ("telemetry/\(sensor)", Array("two levels".utf8), "bad_topic", sensor),
            ("telemetry/\(unknown)/dev-1", good + [0x00, 0xFF], "unknown_sensor", nil),
            ("telemetry/\(unknown)/dev-1/lpp/extra", [0x03, 0x67, 0x01, 0x10], "unknown_sensor", nil),
            ("telemetry/\(unknown)/dev-2", [], "unknown_sensor", nil),
            ("telemetry/x", Array("too few \(suffix)".utf8), "bad_topic", nil),
            ("telemetry", Array("one level \(suffix)".utf8), "bad_topic", nil),
        ]
        let publisher = try TestPublisher(url: servers.mqtt)
        for entry in cases { try publisher.publish(entry.topic, entry.payload) }
        try publisher.publish("telemetry/\(sensor)/control", good)
        // Last on each path: once these are in, anything delivered twice would be too (one publisher, FIFO per subscriber).
        let sentinels = ["telemetry/\(sensor)/sentinel/tm/extra", "telemetry/\(unknown)/sentinel"]
        for topic in sentinels { try publisher.publish(topic, Array(suffix.utf8)) }
        try publisher.flush()

        let connection = try PGConnection(url: database)
        func rows(_ topic: String) throws -> [[String?]] {
            try connection.query("SELECT sensor, reason, encode(payload, 'hex') FROM rejected WHERE topic = $1", [topic]).rows
        }
        let arrived = try await eventually {
            try sentinels.allSatisfy { try !rows($0).isEmpty }
                && (try? connection.query("SELECT count(*) FROM \"\(sensor)\""))?[0, 0] == "1"
        }
        #expect(arrived, "ingest:\n\(ingest.output)\ncatch-all:\n\(catchAll.output)")

        for entry in cases {
            let found = try rows(entry.topic)
            #expect(found.count == 1, "\(entry.topic): \(found.count) dead letters")
            guard let row = found.first else { continue }
            #expect(row[0] == entry.sensor, "\(entry.topic): sensor \(row[0] ?? "NULL")")
            #expect(row[1]?.hasPrefix(entry.code + ": ") == true, "\(entry.topic): \(row[1] ?? "")")
            #expect(row[2] == entry.payload.map { String(format: "%02x", $0) }.joined(), "\(entry.topic): raw bytes kept")
        }
        #expect(try rows("telemetry/\(sensor)/dev-1/tm/extra").first?[1]
            == "bad_topic: topic must be telemetry/{sensor}/{device}[/{format}], got 5 levels")
        #expect(try rows("telemetry/\(unknown)/dev-1").first?[1] == "unknown_sensor: no sensor type '\(unknown)' in the catalog")
        // The catch-all left the known sensor type's topics alone: they are its service's, and dead-lettered once.
        let ours = try connection.query(
            "SELECT topic FROM rejected WHERE topic = $1 OR starts_with(topic, $1 || '/') ORDER BY topic", ["telemetry/\(sensor)"]).rows.map { $0[0]! }
        #expect(ours == (cases.map(\.topic).filter { $0.hasPrefix("telemetry/\(sensor)") } + [sentinels[0]]).sorted())
        let stored = try connection.query("SELECT d.device FROM \"\(sensor)\" r JOIN devices d ON d.id = r.device_id").rows.map { $0[0]! }
        #expect(stored == ["control"])

        // Counted like other rejections, under sensor="unrouted" (at least ours: other tests publish on this broker too).
        let text = try #require(await httpGet(catchAll.metricsURL), "no answer from \(catchAll.metricsURL)").text
        func counted(_ reason: String) -> Int {
            text.split(separator: "\n").first { line in
                line.hasPrefix("telemetry_ingest_rejected_messages_total{") && line.contains("sensor=\"unrouted\"") && line.contains("reason=\"\(reason)\"")
            }.flatMap { Int($0.split(separator: " ").last!) } ?? 0
        }
        #expect(counted("unknown_sensor") >= 4 && counted("bad_topic") >= 2, "\(text)")

        #expect(ingest.isRunning && catchAll.isRunning)
    }

    /// Connects with the client id and a clean session, which discards the broker's session of that id.
    static func endSession(clientID: String, servers: TestServers) {
        guard let url = try? servers.mqtt,
              let client = try? MQTTClient(url: url, options: .init(clientID: clientID, cleanSession: true)) else { return }
        try? client.start()
        client.waitUntilReady(timeout: .seconds(10))
        client.stop()
    }
}
