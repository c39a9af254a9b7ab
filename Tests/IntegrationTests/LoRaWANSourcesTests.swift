import Foundation
import Postgres
import SensorModel
import Testing
import WireFormats

/// LoRaWAN network servers' uplinks through the real broker and PostgreSQL: ChirpStack v4 and The Things
/// Stack v3, each with the node's LPP bytes and with a codec's object, stored once under the right device
/// even when delivered twice; bad envelopes dead-lettered with their reason; the emulator's profiles verified.
@Suite(.timeLimit(.minutes(4)))
struct LoRaWANSourcesTests {
    /// A copy of temperature with an RSSI field and one source per network server and payload kind.
    static var sources: [[String: Any]] { [
        ["topic": "application/app-1/device/{device}/event/up", "envelope": "chirpstack", "format": "lpp",
         "uplink": ["rssi": "rssi", "gateway_hi": "gateway_eui_high", "gateway_lo": "gateway_eui_low"]],
        ["topic": "application/app-2/device/{device}/event/up", "envelope": "chirpstack", "format": "json", "device": "name",
         "fields": ["celsius": ["temperature"]]],
        ["topic": "v3/app-3/devices/{device}/up", "envelope": "ttn", "format": "lpp", "uplink": ["rssi": "rssi"]],
        ["topic": "v3/app-4@tenant/devices/{device}/up", "envelope": "ttn", "format": "json", "device": "dev_eui",
         "fields": ["celsius": ["temperature"]]],
    ] }
    static var fields: [[String: Any]] { [
        ["name": "celsius", "unit": "Cel", "min": -90, "max": 150, "lpp": ["type": 103]],
        ["name": "rssi", "unit": "dBm", "min": -200, "max": 50],
        ["name": "gateway_hi", "unit": "1", "min": 0, "max": 4_294_967_295], ["name": "gateway_lo", "unit": "1", "min": 0, "max": 4_294_967_295],
    ] }

    struct Running {
        let servers: TestServers
        let catalog: TestCatalog
        let database: String
        let ingest: ServiceProcess
        var sensor: String { catalog.catalog.sensors[0].name }

        init() async throws {
            servers = try TestServers.require()
            catalog = try TestCatalog.make(from: ["temperature"], settings: ["fields": LoRaWANSourcesTests.fields, "sources": LoRaWANSourcesTests.sources])
            database = try servers.makeDatabase()
            ingest = try servers.startIngest(sensors: [catalog.catalog.sensors[0].name], catalog: catalog, database: database)
            #expect(try await ingest.waitUntilReady(), "\(ingest.output)")
        }

        /// The encoder and topic for source `index` (its application id from its topic).
        func encoder(_ index: Int) -> (UplinkEncoder, String) {
            let source = catalog.catalog.sensors[0].sources[index]
            return (UplinkEncoder(envelope: source.envelope!, application: String(source.topic.split(separator: "/")[2])), source.topic)
        }

        func topic(_ index: Int, _ frame: UplinkEncoder.Frame) -> String {
            let source = catalog.catalog.sensors[0].sources[index]
            let device = source.envelope == .chirpstack ? UplinkEncoder.hex(frame.devEUI) : frame.name
            return source.topic.replacingOccurrences(of: "{device}", with: device)
        }
    }

    static func lpp(_ celsius: Double) -> [UInt8] {
        // Channel 1, temperature (103), 0.1 °C big-endian.
        let raw = UInt16(bitPattern: Int16((celsius * 10).rounded()))
        return [1, 103, UInt8(raw >> 8), UInt8(raw & 0xFF)]
    }

    @Test func eachNetworkServerAndPayloadKindIsStoredOnceEvenWhenDeliveredTwice() async throws {
        let running = try await Running()
        defer { running.ingest.stop() }
        let base = Int64(Date().timeIntervalSince1970) * 1_000_000 - 60_000_000
        let frames: [(source: Int, frame: UplinkEncoder.Frame)] = [
            (0, .init(devEUI: 0x0101_0101_0101_0101, name: "cs-lpp", time: base + 1, fCnt: 0, fPort: 1, data: Self.lpp(21.5),
                      receptions: [(-101, 2.5), (-64, 9.0)])),
            (1, .init(devEUI: 0x0202_0202_0202_0202, name: "cs-codec", time: base + 2, fCnt: 17, fPort: 2, data: [0xAA],
                      object: Array(#"{"temperature":22.25,"battery":3.0}"#.utf8))),
            (2, .init(devEUI: 0x0303_0303_0303_0303, name: "tts-lpp", time: base + 3, fCnt: 42, fPort: 1, data: Self.lpp(-3.4),
                      receptions: [(-90, 1.0)])),
            (3, .init(devEUI: 0x0004_A30B_001C_0530, name: "dev1", time: base + 4, fCnt: 1, fPort: 1, data: [0x82, 0x41, 0xDE],
                      object: Array(#"{"temperature":1.0,"luminosity":0.64}"#.utf8))),
        ]
        let publisher = try TestPublisher(url: running.servers.mqtt)
        // Each uplink twice, as a broker redelivers it or a network server publishes it again.
        for _ in 0..<2 {
            for (source, frame) in frames { try publisher.publish(running.topic(source, frame), running.encoder(source).0.encode(frame)) }
        }
        // Then one more: once it is stored, the duplicates before it have been through the pipeline.
        let last = UplinkEncoder.Frame(devEUI: 0x0909_0909_0909_0909, name: "late", time: base + 5, fCnt: 5, fPort: 1, data: Self.lpp(30))
        try publisher.publish(running.topic(0, last), running.encoder(0).0.encode(last))
        try publisher.flush()

        let connection = try PGConnection(url: running.database)
        let query = """
            SELECT d.device, (extract(epoch FROM r.time) * 1000000)::bigint, r.seq, r.celsius::text, r.rssi::text
            FROM "\(running.sensor)" r JOIN devices d ON d.id = r.device_id ORDER BY 2
            """
        // The last uplink stored: every one before it (the duplicates too) has been through the pipeline.
        #expect(try await eventually { (try? connection.query(query).rows.contains { $0[0] == "0909090909090909" }) == true }, "\(running.ingest.output)")
        let rows = try connection.query(query).rows.map { $0.map { $0 ?? "null" } }
        #expect(rows == [
            ["0101010101010101", "\(base + 1)", "0", "21.5", "-64"],  // ChirpStack, LPP, stored by DevEUI, best RSSI of two gateways
            ["cs-codec", "\(base + 2)", "17", "22.25", "null"],       // ChirpStack, the codec's object, stored by name
            ["tts-lpp", "\(base + 3)", "42", "-3.4", "-90"],          // The Things Stack, frm_payload, by device id
            ["0004a30b001c0530", "\(base + 4)", "1", "1", "null"],    // The Things Stack, decoded_payload, by DevEUI (lowercase)
            ["0909090909090909", "\(base + 5)", "5", "30", "-80"],
        ], "\(running.ingest.output)")
        // The gateway that heard it best (-64 dBm, the second: UplinkEncoder numbers them in the EUI's last byte).
        let gateway = try connection.query("""
            SELECT (r.gateway_hi::int8 << 32 | r.gateway_lo::int8)::text FROM "\(running.sensor)" r JOIN devices d ON d.id = r.device_id
            WHERE d.device = '0101010101010101'
            """)[0, 0]
        #expect(gateway == String(Int64(0x0016_C001_F153_A101)))
        // Rollups counted each reading once.
        let rollup = try connection.query("SELECT sum(celsius_count)::text FROM \"\(running.sensor)_1m\"")[0, 0]
        #expect(rollup == "5")
        #expect(try connection.query("SELECT count(*) FROM rejected")[0, 0] == "0")
    }

    @Test func badEnvelopesAreDeadLetteredEachWithItsReason() async throws {
        let running = try await Running()
        defer { running.ingest.stop() }
        let now = Int64(Date().timeIntervalSince1970) * 1_000_000
        let (chirpstack, _) = running.encoder(0)
        let good = UplinkEncoder.Frame(devEUI: 0x0A0A_0A0A_0A0A_0A0A, name: "node", time: now, fCnt: 3, fPort: 1, data: Self.lpp(20))
        let text = String(decoding: chirpstack.encode(good), as: UTF8.self)
        let topic = running.topic(0, good)
        let prefix = running.catalog.topicPrefix
        let cases: [(topic: String, payload: [UInt8], code: String)] = [
            (topic, Array(text.replacingOccurrences(of: "\"data\":\"", with: "\"data\":\"*").utf8), "bad_envelope"),
            ("\(prefix)application/app-1/device/0b0b0b0b0b0b0b0b/event/up", Array(text.utf8), "bad_envelope"),  // topic names another DevEUI
            (topic, Array(text.replacingOccurrences(of: #""time":"#, with: #""when":"#).utf8), "bad_envelope"),
            (topic, Array(text.prefix(120).utf8), "malformed_json"),
            (topic, chirpstack.encode(.init(devEUI: good.devEUI, name: "node", time: now + 86_400_000_000 * 400, fCnt: 4, fPort: 1, data: Self.lpp(20))),
             "time_out_of_window"),
            (topic, Array(text.replacingOccurrences(of: "\"data\":\"AWcAyA==\"", with: "\"data\":\"AWcH0A==\"").utf8), "out_of_range"),  // 200.0 °C
            // By name: a NUL byte in the name, and invalid UTF-8, are no device id.
            (running.topic(1, good), Array(text.replacingOccurrences(of: "\"deviceName\":\"node\"", with: "\"deviceName\":\"no\\u0000de\"")
                .replacingOccurrences(of: "\"data\"", with: "\"object\":{\"temperature\":1},\"data\"").utf8), "bad_envelope"),
            (running.topic(1, good), Array(text.replacingOccurrences(of: "\"data\"", with: "\"object\":{\"temperature\":1},\"data\"").utf8)
                .replacing(Array("\"node\"".utf8), with: [0x22, 0x6E, 0xC3, 0x28, 0x22]), "bad_envelope"),
            (running.topic(1, good), Array(text.utf8), "bad_envelope"),  // no object: no codec ran
        ]
        let publisher = try TestPublisher(url: running.servers.mqtt)
        for entry in cases { try publisher.publish(entry.topic, entry.payload) }
        try publisher.publish(topic, Array(text.utf8))  // the good one, after
        try publisher.flush()

        let connection = try PGConnection(url: running.database)
        #expect(try await eventually {
            (try? connection.query("SELECT count(*) FROM rejected"))?[0, 0] == String(cases.count)
                && (try? connection.query("SELECT count(*) FROM \"\(running.sensor)\""))?[0, 0] == "1"
        }, "\(running.ingest.output)")
        let rejected = try connection.query("SELECT topic, reason, payload FROM rejected ORDER BY id").rows
        for (entry, row) in zip(cases, rejected) {
            #expect(row[0] == entry.topic)
            #expect(row[1]?.hasPrefix(entry.code + ":") == true, "\(row[1] ?? "")")
        }
        let stored = try connection.query("SELECT d.device FROM \"\(running.sensor)\" r JOIN devices d ON d.id = r.device_id").rows
        #expect(stored.map { $0[0] } == ["0a0a0a0a0a0a0a0a"])
        #expect(running.ingest.isRunning)
    }

    /// `telemetry emulate --profile chirpstack|ttn` publishes a node's uplinks as the network server does;
    /// --verify finds every reading stored once, under the id the source stores by.
    @Test(arguments: ["chirpstack", "ttn"])
    func emulatedNetworkServerIsVerified(profile: String) async throws {
        let running = try await Running()
        defer { running.ingest.stop() }
        let run = try EmulatorRun(servers: running.servers, database: running.database, catalog: running.catalog, sensors: [running.sensor],
                                  devices: 5, samples: 1, rate: 100, duration: 2, extra: ["--profile", profile])
        await #expect(run.process.waitForExit(timeout: .seconds(120)) == 0, "\(run.output)")
        let row = run.verifyRow(running.sensor)
        #expect(row != nil && row![0] > 0 && row![1] == row![0] && row![2] == 0 && row![3] == 0, "\(run.output.suffix(800))")
        #expect((try PGConnection(url: running.database).query("SELECT count(*) FROM rejected"))[0, 0] == "0", "\(running.ingest.output)")
    }
}
