import Foundation
import Postgres
import Testing

/// Devices with firmware of their own, through the real broker and PostgreSQL: Tasmota, Shelly Gen2 and
/// ESPHome on their default topics (under the test catalog's prefix), and ThingsBoard's JSON shapes and
/// plain numbers on `telemetry/<sensor>/<device>/json|text`. Every reading stored with its exact value and
/// time; each bad message dead-lettered with its own reason and nothing of it stored.
@Suite(.timeLimit(.minutes(4)))
struct DeviceSourcesTests {
    /// (device, µs since the epoch, value) of every row of `sensor`'s table.
    static func rows(_ connection: PGConnection, _ sensor: String, _ field: String) throws -> [(String, Int64, Double)] {
        try connection.query("""
            SELECT d.device, (extract(epoch FROM r.time) * 1000000)::bigint, r.\"\(field)\"::text
            FROM \"\(sensor)\" r JOIN devices d ON d.id = r.device_id ORDER BY 1, 2
            """).rows.map { ($0[0]!, Int64($0[1]!)!, Double($0[2]!)!) }
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }

    /// One ingest process for the test copies of `names` (a catalog and a database of its own), subscribed.
    struct Ingesting {
        let servers: TestServers
        let catalog: TestCatalog
        let database: String
        let ingest: ServiceProcess

        init(_ names: [String]) async throws {
            servers = try TestServers.require()
            catalog = try TestCatalog.make(from: names)
            database = try servers.makeDatabase()
            ingest = try servers.startIngest(sensors: catalog.catalog.sensors.map(\.name), catalog: catalog, database: database)
            #expect(try await ingest.waitUntilReady(), "\(ingest.output)")
        }

        func name(_ sensor: String) -> String { catalog.sensor(sensor).name }
    }

    @Test func eachFirmwareAndJSONShapeIsStoredExactly() async throws {
        let running = try await Ingesting(["temperature", "humidity", "pressure"])
        let (servers, catalog, database, ingest) = (running.servers, running.catalog, running.database, running.ingest)
        defer { ingest.stop() }
        let (t, h, p) = (running.name("temperature"), running.name("humidity"), running.name("pressure"))

        let prefix = catalog.topicPrefix
        let publisher = try TestPublisher(url: servers.mqtt)
        let before = Self.now()
        let messages: [(String, String)] = [
            // Tasmota, BME280 (https://tasmota.github.io/docs/BME280/): one message, three sensor types.
            ("\(prefix)tele/tasmota-bme/SENSOR",
             #"{"Time":"2026-01-01T12:00:00","BME280":{"Temperature":24.1,"Humidity":42.6,"DewPoint":10.6,"Pressure":1013.2},"PressureUnit":"hPa","TempUnit":"C"}"#),
            // Tasmota, AM2301 (https://tasmota.github.io/docs/AM2301/): temperature and humidity (pressure: no_fields).
            ("\(prefix)tele/tasmota-am/SENSOR",
             #"{"Time":"2026-01-01T12:00:00","AM2301":{"Temperature":22.5,"Humidity":38.3,"DewPoint":7.6},"TempUnit":"C"}"#),
            // Shelly Plus H&T NotifyStatus (https://shelly-api-docs.shelly.cloud/gen2/General/Notifications), its own time.
            ("\(prefix)shellyplusht-08b61fcb7f3c/events/rpc",
             #"{"src":"shellyplusht-08b61fcb7f3c","dst":"shellyplusht-08b61fcb7f3c/events","method":"NotifyStatus","params":{"ts":1767225600.25,"temperature:0":{"id":0,"tC":19.8,"tF":67.6},"humidity:0":{"id":0,"rh":42.2}}}"#),
            // ESPHome (https://esphome.io/components/mqtt.html): the state as text.
            ("\(prefix)esp-node/sensor/temperature/state", "21.5"),
            // ThingsBoard's shapes (https://thingsboard.io/docs/reference/mqtt-api/telemetry/).
            ("telemetry/\(t)/tb-flat/json", #"{"temperature": 22.5, "humidity": 61}"#),
            ("telemetry/\(h)/tb-flat/json", #"{"temperature": 22.5, "humidity": 61}"#),
            ("telemetry/\(t)/tb-ts/json", #"{"ts": 1767225600512, "values": {"temperature": 22.5, "humidity": 61}}"#),
            ("telemetry/\(t)/tb-array/json",
             #"[{"ts": 1767225601000, "values": {"temperature": 22.5}}, {"ts": 1767225602000, "values": {"temperature": 22.7}}]"#),
            ("telemetry/\(t)/plain/text", "-3.5\n"),
        ]
        for (topic, payload) in messages { try publisher.publish(topic, Array(payload.utf8)) }
        try publisher.flush()

        let connection = try PGConnection(url: database)
        let arrived = try await eventually {
            (try? Self.rows(connection, t, "celsius").count) == 9 && (try? Self.rows(connection, h, "relative_humidity").count) == 4
                && (try? Self.rows(connection, p, "pressure").count) == 1
                && (try? connection.query("SELECT count(*) FROM rejected"))?[0, 0] == "1"
        }
        #expect(arrived, "\(ingest.output)")
        let after = Self.now()
        /// nil time: the receive time (the payload carries none).
        func check(_ got: [(String, Int64, Double)], _ want: [(String, Int64?, Double)]) {
            #expect(got.map(\.0) == want.map(\.0))
            for ((device, time, value), (wantDevice, wantTime, wantValue)) in zip(got, want) {
                #expect(device == wantDevice && value == wantValue, "\(device): \(value)")
                if let wantTime { #expect(time == wantTime, "\(device)") } else { #expect((before...after).contains(time), "\(device): receive time") }
            }
        }
        let shelly = "shellyplusht-08b61fcb7f3c"
        check(try Self.rows(connection, t, "celsius"), [
            ("esp-node", nil, 21.5), ("plain", nil, -3.5), (shelly, 1_767_225_600_250_000, 19.8), ("tasmota-am", nil, 22.5),
            ("tasmota-bme", nil, 24.1), ("tb-array", 1_767_225_601_000_000, 22.5), ("tb-array", 1_767_225_602_000_000, 22.7),
            ("tb-flat", nil, 22.5), ("tb-ts", 1_767_225_600_512_000, 22.5),
        ])
        check(try Self.rows(connection, h, "relative_humidity"), [
            (shelly, 1_767_225_600_250_000, 42.2), ("tasmota-am", nil, 38.3), ("tasmota-bme", nil, 42.6), ("tb-flat", nil, 61),
        ])
        check(try Self.rows(connection, p, "pressure"), [("tasmota-bme", nil, 1013.2)])
        let rejected = try connection.query("SELECT sensor, topic, reason FROM rejected").rows
        #expect(rejected.first?[0] == p && rejected.first?[1] == "\(prefix)tele/tasmota-am/SENSOR")
        #expect(rejected.first?[2]?.hasPrefix("no_fields:") == true, "\(rejected)")
    }

    @Test func badMessagesOnSourceTopicsAreDeadLetteredEachWithItsReason() async throws {
        let running = try await Ingesting(["temperature"])
        let (servers, catalog, database, ingest) = (running.servers, running.catalog, running.database, running.ingest)
        defer { ingest.stop() }
        let t = running.name("temperature")

        let prefix = catalog.topicPrefix
        let cases: [(topic: String, payload: String, code: String)] = [
            ("\(prefix)tele/truncated/SENSOR", #"{"Time":"2026-01-01T00:00:00","AM2301":{"Temperature":"#, "malformed_json"),
            ("\(prefix)tele/string-value/SENSOR", #"{"AM2301":{"Temperature":"hot"}}"#, "bad_value"),
            ("\(prefix)tele/other-sensor/SENSOR", #"{"Time":"2026-01-01T00:00:00","SI7021":{"Humidity":40.0}}"#, "no_fields"),
            ("\(prefix)tele/too-hot/SENSOR", #"{"AM2301":{"Temperature":151}}"#, "out_of_range"),
            ("\(prefix)bad!device/sensor/temperature/state", "21.5", "bad_topic"),
            ("\(prefix)esp-nan/sensor/temperature/state", "nan", "non_finite"),
            ("\(prefix)esp-unit/sensor/temperature/state", "21.5 C", "bad_text"),
            ("telemetry/\(t)/tb-shape/json", "[1, 2]", "bad_shape"),
            ("telemetry/\(t)/tb-time/json", #"{"ts": "yesterday", "temperature": 1}"#, "bad_time"),
        ]
        let publisher = try TestPublisher(url: servers.mqtt)
        for entry in cases { try publisher.publish(entry.topic, Array(entry.payload.utf8)) }
        try publisher.publish("\(prefix)esp-control/sensor/temperature/state", Array("20.5".utf8))
        try publisher.flush()

        let connection = try PGConnection(url: database)
        let arrived = try await eventually {
            (try? connection.query("SELECT count(*) FROM rejected"))?[0, 0] == String(cases.count)
                && (try? Self.rows(connection, t, "celsius").count) == 1
        }
        #expect(arrived, "\(ingest.output)")
        let rows = try connection.query("SELECT topic, reason, convert_from(payload, 'UTF8') FROM rejected").rows
        for entry in cases {
            let row = rows.first { $0[0] == entry.topic }
            #expect(row?[1]?.hasPrefix(entry.code + ":") == true, "\(entry.topic): \(row?[1] ?? "not dead-lettered")")
            #expect(row?[2] == entry.payload, "raw bytes kept")
        }
        #expect(try Self.rows(connection, t, "celsius").map(\.0) == ["esp-control"])
        #expect(ingest.isRunning)
    }

    /// `telemetry emulate --profile` publishes as the firmware does; --verify finds every reading stored once.
    @Test(arguments: ["tasmota", "shelly", "esphome"])
    func emulatedFirmwareIsVerified(profile: String) async throws {
        let running = try await Ingesting(["temperature", "humidity", "pressure"])
        let (servers, catalog, database, ingest) = (running.servers, running.catalog, running.database, running.ingest)
        defer { ingest.stop() }
        let fed = ["tasmota": ["temperature", "humidity", "pressure"], "shelly": ["temperature", "humidity"], "esphome": ["temperature"]][profile]!
        // The test catalog's names for what the firmware measures, in the profile's order.
        let run = try EmulatorRun(servers: servers, database: database, catalog: catalog, sensors: fed.map { catalog.sensor($0).name },
                                  devices: 5, samples: 1, rate: 100, duration: 2, extra: ["--profile", profile])
        await #expect(run.process.waitForExit(timeout: .seconds(120)) == 0, "\(run.output)")
        #expect(run.verifyRows.count == fed.count, "\(run.output)")
        for sensor in fed {
            let row = run.verifyRow(catalog.sensor(sensor).name)
            #expect(row != nil && row![0] > 0 && row![1] == row![0] && row![2] == 0 && row![3] == 0, "\(sensor): \(run.output.suffix(800))")
        }
        #expect((try PGConnection(url: database).query("SELECT count(*) FROM rejected"))[0, 0] == "0", "\(ingest.output)")
    }

    @Test(arguments: ["json", "text"])
    func emulatedJSONAndTextAreVerified(format: String) async throws {
        let running = try await Ingesting(["temperature"])
        let (servers, catalog, database, ingest) = (running.servers, running.catalog, running.database, running.ingest)
        defer { ingest.stop() }
        let t = running.name("temperature")
        let run = try EmulatorRun(servers: servers, database: database, catalog: catalog, sensors: [t], devices: 5, samples: format == "json" ? 4 : 1,
                                  rate: 100, duration: 2, extra: ["--format", format])
        await #expect(run.process.waitForExit(timeout: .seconds(120)) == 0, "\(run.output)")
        let row = run.verifyRow(t)
        #expect(row != nil && row![0] > 0 && row![1] == row![0] && row![2] == 0 && row![3] == 0, "\(run.output.suffix(800))")
    }
}
