import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Postgres
import Prometheus
import QueryService
import SensorModel
import StorageCore
import StorageReader
import Testing

/// The platform end to end: a real broker, real PostgreSQL, the real ingest executable, and the REST API.
@Suite(.timeLimit(.minutes(5)))
struct EndToEndTests {
    @Test func publishedFramesComeBackOverRESTExactly() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature", "power"])
        let database = try servers.makeDatabase()
        let temperature = catalog.sensor("temperature"), power = catalog.sensor("power")
        let ingest = try servers.startIngest(sensors: [temperature.name, power.name], catalog: catalog, database: database)
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady(), "ingest did not subscribe: \(ingest.output)")

        // Several devices, several frames each, irregular times and exact float64 values.
        let base: Int64 = 1_767_225_600_000_000  // 2026-01-01T00:00:00Z
        var expected: [String: [(Int64, Int64, [Double])]] = [:]
        let publisher = try TestPublisher(url: servers.mqtt)
        for device in 0..<4 {
            let name = "dev-\(device)"
            for frame in 0..<3 {
                let frameBase = base + Int64(frame) * 86_400_000_000 / 2 + Int64(device) * 1_000  // crosses a day boundary
                let samples: [(UInt32, [Double])] = (0..<5).map { sample in
                    (UInt32(sample * 250_001), [-20.123456789 + Double(device) * 10.5 + Double(frame) + Double(sample) * 0.015625])
                }
                try publisher.publish("telemetry/\(temperature.name)/\(name)", HandFrame.float64(seq: UInt32(frame), base: frameBase, samples: samples))
                for (offset, values) in samples { expected[name, default: []].append((frameBase + Int64(offset), Int64(frame), values)) }
            }
        }
        // A power meter on an explicit format level.
        try publisher.publish("telemetry/\(power.name)/meter-1/tm", HandFrame.float64(seq: 9, base: base, samples: [(0, [230.5, 1.25, 288.125, 1234.5])]))
        try publisher.flush()
        if ProcessInfo.processInfo.environment["TELEMETRY_TEST_COMPACT"] == "1" {
            // Everything stored first, then compacted: the reads below all come from blocks.
            let connection = try PGConnection(url: database)
            let sent = expected.values.reduce(0) { $0 + $1.count }
            #expect(try await eventually {
                (try? storedReadings(temperature.name, on: connection)) == sent && (try? storedReadings(power.name, on: connection)) == 1
            })
            try compactClosedHoursIfAsked(database: database, sensors: [temperature, power])
        }

        let app = try QueryApp(database: database, catalog: catalog)
        let expectedReadings = expected
        try await app.application.test(.router) { client in
            for (device, readings) in expectedReadings {
                let path = "/v1/sensors/\(temperature.name)/devices/\(device)/readings?limit=10000"
                var body: [String: Any] = [:]
                var text = ""
                let deadline = ContinuousClock.now.advanced(by: .seconds(30))
                repeat {
                    text = try await client.execute(uri: path, method: .get) { String(buffer: $0.body) }
                    body = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
                    if (body["readings"] as? [Any])?.count == readings.count { break }
                    try await Task.sleep(for: .milliseconds(100))
                } while ContinuousClock.now < deadline
                let got = try #require(body["readings"] as? [[String: Any]], "no readings for \(device): \(body)")
                #expect(got.count == readings.count)
                // Foundation's JSON parser rounds some doubles on Linux: read the values' exact text instead.
                let values = exactNumbers(in: text, key: "celsius")
                for (index, (row, (time, seq, sent))) in zip(got, readings.sorted { $0.0 < $1.0 }).enumerated() {
                    #expect(row["time"] as? String == rfc3339(time))
                    #expect((row["seq"] as? NSNumber)?.int64Value == seq)
                    #expect(values[index] == sent[0])
                }
            }
            let latest = try await client.execute(uri: "/v1/sensors/\(power.name)/devices/meter-1/latest", method: .get) {
                try JSONSerialization.jsonObject(with: Data(buffer: $0.body)) as? [String: Any] ?? [:]
            }
            let reading = try #require(latest["reading"] as? [String: Any], "\(latest)")
            #expect((reading["voltage"] as? NSNumber)?.doubleValue == 230.5)
            #expect((reading["energy"] as? NSNumber)?.doubleValue == 1234.5)
            #expect(reading["time"] as? String == "2026-01-01T00:00:00.000000Z")

            // Aggregates over everything: count equals what was sent, min and max exact.
            let all = expectedReadings.values.flatMap { $0 }
            let aggregates = try await client.execute(
                uri: "/v1/sensors/\(temperature.name)/aggregates?bucket=1d&from=2025-12-31T00:00:00Z&to=2026-01-03T00:00:00Z&fn=count,min,max",
                method: .get) { try JSONSerialization.jsonObject(with: Data(buffer: $0.body)) as? [String: Any] ?? [:] }
            let series = try #require((aggregates["series"] as? [[String: Any]])?.first, "\(aggregates)")
            let points = try #require(series["points"] as? [[String: Any]])
            #expect(points.reduce(0) { $0 + (($1["count"] as? NSNumber)?.intValue ?? 0) } == all.count)
            #expect(points.compactMap { ($0["min"] as? NSNumber)?.doubleValue }.min() == all.map { $0.2[0] }.min())
            #expect(points.compactMap { ($0["max"] as? NSNumber)?.doubleValue }.max() == all.map { $0.2[0] }.max())
        }
    }

    @Test func badPayloadsAreDeadLetteredAndIngestGoesOn() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let database = try servers.makeDatabase()
        let sensor = catalog.sensor("temperature")
        let ingest = try servers.startIngest(sensors: [sensor.name], catalog: catalog, database: database)
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady())
        let publisher = try TestPublisher(url: servers.mqtt)
        let good = HandFrame.float64(seq: 1, base: 1_767_225_600_000_000, samples: [(0, [21.5])])
        var wrongMagic = good
        wrongMagic[0] = 0x00
        try publisher.publish("telemetry/\(sensor.name)/bad-1", Array(good.dropLast(2)))          // truncated
        try publisher.publish("telemetry/\(sensor.name)/bad-2", wrongMagic)                       // wrong magic
        try publisher.publish("telemetry/\(sensor.name)/bad-3", HandFrame.float64(seq: 1, base: 1_767_225_600_000_000, samples: [(0, [999])]))  // out of range
        try publisher.publish("telemetry/\(sensor.name)/bad-4/xml", good)                         // unknown format
        try publisher.publish("telemetry/\(sensor.name)/bad 5", good)                             // bad device id
        try publisher.publish("telemetry/\(sensor.name)/good-1", good)
        try publisher.flush()
        let connection = try PGConnection(url: database)
        #expect(try await eventually {
            (try? connection.query("SELECT count(*) FROM rejected"))?[0, 0] == "5"
                && (try? storedReadings(sensor.name, on: connection)) == 1
        }, "\(ingest.output)")
        let reasons = try connection.query("SELECT topic, reason FROM rejected ORDER BY topic").rows.map { "\($0[0]!) \($0[1]!)" }
        #expect(reasons.contains { $0.hasSuffix("bad-1 truncated: tm frame is 26 bytes, 1 samples need 32") || $0.contains("bad-1 truncated") })
        #expect(reasons.contains { $0.contains("bad-2 bad_magic") })
        #expect(reasons.contains { $0.contains("bad-3 out_of_range") })
        #expect(reasons.contains { $0.contains("bad-4/xml bad_topic") })
        #expect(reasons.contains { $0.contains("bad 5 bad_topic") })
        let payload = try connection.query("SELECT encode(payload, 'hex') FROM rejected WHERE topic LIKE '%bad-2'")[0, 0]
        #expect(payload == wrongMagic.map { String(format: "%02x", $0) }.joined())
        #expect(ingest.isRunning)
    }

    @Test func emulatorRunIsStoredInFull() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature", "accelerometer"])
        let database = try servers.makeDatabase()
        let names = catalog.catalog.sensors.map(\.name)
        let ingest = try servers.startIngest(sensors: names, catalog: catalog, database: database)
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady())
        let emulator = try ServiceProcess(
            "telemetry",
            arguments: ["emulate"] + names.flatMap { ["--sensor", $0] } + ["--devices", "5", "--samples", "4", "--rate", "500", "--count", "600", "--qos", "1",
                                                            "--device-prefix", "emu-test", "--verify", "--verify-timeout", "60"],
            environment: ["TELEMETRY_MQTT_URL": servers.mqttURL, "TELEMETRY_DATABASE_URL": database, "TELEMETRY_CATALOG": catalog.directory],
            servers: servers)
        let status = await emulator.waitForExit(timeout: .seconds(120))
        #expect(status == 0, "\(emulator.output)")
        #expect(emulator.output.contains("verify: OK"))
        // Check the database ourselves too: 600 messages × 4 readings, no more, no less.
        let connection = try PGConnection(url: database)
        let total = try names.reduce(0) { sum, name in sum + (try storedReadings(name, on: connection)) }
        #expect(total == 2400)
    }
}

/// Every number written as `"key":<number>` in a JSON text, parsed by Swift's exact Double(String).
func exactNumbers(in text: String, key: String) -> [Double] {
    var numbers: [Double] = []
    var rest = Substring(text)
    let marker = "\"\(key)\":"
    while let range = rest.range(of: marker) {
        rest = rest[range.upperBound...]
        let number = rest.prefix { "+-.eE0123456789".contains($0) }
        numbers.append(Double(number) ?? .nan)
    }
    return numbers
}

func rfc3339(_ micros: Int64) -> String {
    let date = Date(timeIntervalSince1970: Double(micros / 1_000_000))
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
    let fraction = String(micros % 1_000_000)
    return formatter.string(from: date) + "." + String(repeating: "0", count: 6 - fraction.count) + fraction + "Z"
}

/// The query service's router against a test database, driven in process.
struct QueryApp {
    let router: Router<BasicRequestContext>
    let store: QueryStore

    /// With the rollup cache on, as the service runs by default.
    init(database: String, catalog: TestCatalog, tokens: [String] = []) throws {
        store = QueryStore(
            catalog: catalog.catalog, pool: ReadPool(url: database, size: 2),
            rollupCache: RollupCache(capacityBytes: 64 << 20), logger: Logger(label: "test"))
        router = buildRouter(store: store, tokens: tokens, registry: PrometheusCollectorRegistry())
    }

    /// The router in an application that runs the store's services (read pool, cache and stream
    /// listeners) like the service does.
    var application: some ApplicationProtocol { Application(router: router, services: store.services) }
}
