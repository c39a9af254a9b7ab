import Foundation
import MQTT
import Postgres
import SensorModel
import Synchronization
import Testing
import WireFormats

/// A Sparkplug B edge node through the real broker and PostgreSQL: BIRTH, DATA with aliases, a restart of
/// the ingest service, DATA again (read with the aliases stored before), a seq gap (a rebirth command on
/// NCMD), DEATH (the node and its device offline); bad messages dead-lettered with their reason; the
/// emulator's profile verified.
@Suite(.timeLimit(.minutes(4)))
struct SparkplugSourcesTests {
    static var sources: [[String: Any]] { [["topic": "spBv1.0/plant", "format": "sparkplug", "fields": ["celsius": ["Temperature", "Sensors/Temp1"]]]] }

    /// What the broker delivers on a filter.
    final class Listener: Sendable {
        final class Messages: Sendable {
            let list = Mutex<[(topic: String, payload: [UInt8])]>([])
        }

        let client: MQTTClient
        let messages = Messages()

        init(url: MQTTURL, filter: String) throws {
            let messages = self.messages
            client = try MQTTClient(
                url: url, options: .init(clientID: "ncmd-\(UUID().uuidString.prefix(8))", subscriptions: [filter], subscriptionQoS: 1),
                onMessage: { message in messages.list.withLock { $0.append((message.topic, message.payload)) } })
            try client.start()
            guard client.waitUntilReady(timeout: .seconds(10)) else { throw TestSetupError(message: "no subscription: \(client.lastError)") }
        }
    }

    static func metric(_ name: String?, alias: UInt64, _ value: Double, at milliseconds: UInt64) -> SparkplugMetric {
        SparkplugMetric(name: name, alias: alias, timestamp: milliseconds, datatype: name == nil ? nil : .double, value: .double(value))
    }

    @Test func birthDataRestartDataGapDeathIsStoredExactly() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"], settings: ["sources": Self.sources])
        let sensor = catalog.catalog.sensors[0]
        let group = String(sensor.sources[0].topic.dropFirst("spBv1.0/".count))
        let database = try servers.makeDatabase()
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString.prefix(8))").path
        var ingest = try servers.startIngest(sensors: [sensor.name], catalog: catalog, database: database, journal: journal)
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady(), "\(ingest.output)")
        let listener = try Listener(url: try MQTTURL(parsing: servers.mqttURL), filter: "spBv1.0/\(group)/NCMD/+")
        let publisher = try TestPublisher(url: servers.mqtt)
        let base = UInt64(Date().timeIntervalSince1970 - 60) * 1000
        let topic = { (kind: String, device: String?) in "spBv1.0/\(group)/\(kind)/edge1" + (device.map { "/\($0)" } ?? "") }
        func send(_ kind: String, _ device: String? = nil, seq: UInt64?, _ metrics: [SparkplugMetric], at milliseconds: UInt64) throws {
            try publisher.publish(topic(kind, device), SparkplugEncoder.encode(SparkplugPayload(timestamp: milliseconds, seq: seq, metrics: metrics)))
        }
        try send("NBIRTH", seq: 0, [SparkplugMetric(name: "bdSeq", datatype: .int64, value: .long(3)), Self.metric("Temperature", alias: 1, 20, at: base)], at: base)
        try send("DBIRTH", "pump", seq: 1, [Self.metric("Sensors/Temp1", alias: 10, 21, at: base + 1000)], at: base + 1000)
        try send("DDATA", "pump", seq: 2, [Self.metric(nil, alias: 10, 22, at: base + 2000)], at: base + 2000)
        try send("NDATA", seq: 3, [Self.metric(nil, alias: 1, 19.5, at: base + 2500)], at: base + 2500)
        try publisher.flush()

        let connection = try PGConnection(url: database)
        let query = """
            SELECT d.device, (extract(epoch FROM r.time) * 1000)::bigint, r.seq, r.celsius::text
            FROM "\(sensor.name)" r JOIN devices d ON d.id = r.device_id ORDER BY 2
            """
        func rows() -> [[String]] { ((try? connection.query(query).rows) ?? []).map { $0.map { $0 ?? "null" } } }
        #expect(try await eventually { rows().count == 4 }, "\(ingest.output)")

        // The service restarts; the edge node goes on with DATA (aliases only), no new BIRTH.
        ingest.stop()
        ingest = try servers.startIngest(sensors: [sensor.name], catalog: catalog, database: database, journal: journal)
        await #expect(try ingest.waitUntilReady(), "\(ingest.output)")
        try send("DDATA", "pump", seq: 4, [Self.metric(nil, alias: 10, 23, at: base + 3000)], at: base + 3000)
        // seq 6 after 4: one message lost. Stored all the same, and the edge node is asked for a rebirth.
        try send("DDATA", "pump", seq: 6, [Self.metric(nil, alias: 10, 24, at: base + 4000)], at: base + 4000)
        try publisher.flush()
        #expect(try await eventually { rows().count == 6 }, "\(ingest.output)")
        #expect(rows() == [
            ["edge1", "\(base)", "0", "20"], ["edge1.pump", "\(base + 1000)", "1", "21"], ["edge1.pump", "\(base + 2000)", "2", "22"],
            ["edge1", "\(base + 2500)", "3", "19.5"], ["edge1.pump", "\(base + 3000)", "4", "23"], ["edge1.pump", "\(base + 4000)", "6", "24"],
        ])
        #expect(try await eventually { listener.messages.list.withLock { !$0.isEmpty } }, "no rebirth command: \(ingest.output)")
        let command = try #require(listener.messages.list.withLock { $0.first })
        #expect(command.topic == "spBv1.0/\(group)/NCMD/edge1")
        let rebirth = try SparkplugPayload.decode(command.payload).metrics.first
        #expect(rebirth?.name.map { String(decoding: $0, as: UTF8.self) } == "Node Control/Rebirth" && rebirth?.value == .bool(true))

        // DEATH with the BIRTH's bdSeq: the node and its device are offline.
        try publisher.publish(topic("NDEATH", nil), SparkplugEncoder.encode(SparkplugPayload(metrics: [SparkplugMetric(name: "bdSeq", datatype: .int64, value: .long(3))])))
        try publisher.flush()
        let states = "SELECT device, reported FROM devices WHERE sensor = '\(sensor.name)' ORDER BY 1"
        #expect(try await eventually { (try? connection.query(states).rows.map { $0[1] }) == ["offline", "offline"] }, "\(ingest.output)")
        #expect(try connection.query("SELECT count(*) FROM rejected")[0, 0] == "0")
        #expect(try connection.query("SELECT sum(celsius_count)::text FROM \"\(sensor.name)_1m\"")[0, 0] == "6")
    }

    @Test func badSparkplugMessagesAreDeadLetteredEachWithItsReason() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"], settings: ["sources": Self.sources])
        let sensor = catalog.catalog.sensors[0]
        let group = String(sensor.sources[0].topic.dropFirst("spBv1.0/".count))
        let database = try servers.makeDatabase()
        let ingest = try servers.startIngest(sensors: [sensor.name], catalog: catalog, database: database)
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady(), "\(ingest.output)")
        let now = UInt64(Date().timeIntervalSince1970) * 1000
        let birth = SparkplugEncoder.encode(SparkplugPayload(timestamp: now, seq: 0, metrics: [Self.metric("Temperature", alias: 1, 20, at: now)]))
        let cases: [(topic: String, payload: [UInt8], code: String)] = [
            ("spBv1.0/\(group)/DDATA/stranger/pump", SparkplugEncoder.encode(SparkplugPayload(timestamp: now, seq: 1, metrics: [Self.metric(nil, alias: 1, 1, at: now)])),
             "bad_sparkplug"),  // no BIRTH
            ("spBv1.0/\(group)/NDATA/edge9", SparkplugEncoder.encode(SparkplugPayload(timestamp: now, seq: 1, metrics: [Self.metric(nil, alias: 99, 1, at: now)])),
             "bad_sparkplug"),  // an alias the BIRTH did not define
            ("spBv1.0/\(group)/NDATA/edge9", Array(birth.dropLast(5)), "malformed_protobuf"),
            ("spBv1.0/\(group)/NDATA/edge9", SparkplugEncoder.encode(SparkplugPayload(seq: 2, metrics: [Self.metric("Temperature", alias: 1, 1000, at: now)])), "out_of_range"),
            ("spBv1.0/\(group)/NDATA/edge9", SparkplugEncoder.encode(SparkplugPayload(timestamp: now + 86_400_000 * 400, seq: 3, metrics: [
                SparkplugMetric(name: "Temperature", value: .double(1))])), "time_out_of_window"),
            ("spBv1.0/\(group)/NDATA/edge9", SparkplugEncoder.encode(SparkplugPayload(seq: 4, metrics: [SparkplugMetric(name: "Temperature", value: .double(1))])), "bad_time"),
            ("spBv1.0/\(group)/NDATA/edge 9", birth, "bad_topic"),
            ("spBv1.0/\(group)/NDATA/edge9/extra", birth, "bad_sparkplug"),
            ("spBv1.0/\(group)/NDATA/edge9", SparkplugEncoder.encode(SparkplugPayload(timestamp: now, seq: 5, metrics: [
                SparkplugMetric(name: "Temp\u{0}erature\u{FFFD}", value: .double(1)), SparkplugMetric(name: "Temperature", value: .string([0xC3, 0x28, 0x00]))])),
             "bad_value"),
        ]
        let publisher = try TestPublisher(url: servers.mqtt)
        try publisher.publish("spBv1.0/\(group)/NBIRTH/edge9", birth)
        for entry in cases { try publisher.publish(entry.topic, entry.payload) }
        try publisher.publish("spBv1.0/\(group)/NDATA/edge9", SparkplugEncoder.encode(SparkplugPayload(timestamp: now + 1000, seq: 6, metrics: [Self.metric(nil, alias: 1, 21, at: now + 1000)])))
        try publisher.flush()

        let connection = try PGConnection(url: database)
        #expect(try await eventually {
            (try? connection.query("SELECT count(*) FROM rejected"))?[0, 0] == String(cases.count)
                && (try? connection.query("SELECT count(*) FROM \"\(sensor.name)\""))?[0, 0] == "2"
        }, "\(ingest.output)")
        let rejected = try connection.query("SELECT topic, reason FROM rejected ORDER BY id").rows
        for (entry, row) in zip(cases, rejected) {
            #expect(row[0] == entry.topic)
            #expect(row[1]?.hasPrefix(entry.code + ":") == true, "\(entry.topic): \(row[1] ?? "")")
        }
        #expect(ingest.isRunning)
    }

    /// `telemetry emulate --profile sparkplug`: edge nodes with a device each (BIRTH, DATA with aliases,
    /// DEATH); --verify finds every reading stored once, under `<edge node>.sensor`.
    @Test func emulatedEdgeNodesAreVerified() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"], settings: ["sources": Self.sources])
        let sensor = catalog.catalog.sensors[0].name
        let database = try servers.makeDatabase()
        let ingest = try servers.startIngest(sensors: [sensor], catalog: catalog, database: database)
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady(), "\(ingest.output)")
        let run = try EmulatorRun(servers: servers, database: database, catalog: catalog, sensors: [sensor], devices: 5, samples: 1, rate: 100, duration: 2,
                                  extra: ["--profile", "sparkplug"])
        await #expect(run.process.waitForExit(timeout: .seconds(120)) == 0, "\(run.output)")
        let row = run.verifyRow(sensor)
        #expect(row != nil && row![0] > 0 && row![1] == row![0] && row![2] == 0 && row![3] == 0, "\(run.output.suffix(800))")
        let connection = try PGConnection(url: database)
        #expect(try connection.query("SELECT count(*) FROM rejected")[0, 0] == "0", "\(ingest.output)")
        // Their NDEATH at the end: every edge node's device is offline.
        #expect(try await eventually { (try? connection.query("SELECT count(*) FROM devices WHERE reported = 'offline'"))?[0, 0] == "5" }, "\(ingest.output)")
    }
}
