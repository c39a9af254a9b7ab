import Foundation
import Postgres
import SensorModel
import Testing
import WireFormats

/// Random and mutated payloads of every format, the firmware topics, NUL, invalid UTF-8, huge and tiny
/// messages, odd topics: published through the real broker into the real services. Every message must
/// be stored or dead-lettered (none quarantined, none left in the journal), no service may stall or die,
/// and a valid reading sent after them is stored. Seeded: `TELEMETRY_FUZZ_SEED` replays a failure,
/// `TELEMETRY_FUZZ_MESSAGES` makes a longer run (default 2,000).
@Suite(.timeLimit(.minutes(10)))
struct PipelineFuzzTests {
    @Test func everyMessageIsStoredOrDeadLetteredAndTheServicesGoOn() async throws {
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["TELEMETRY_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64(Date().timeIntervalSince1970)
        let count = environment["TELEMETRY_FUZZ_MESSAGES"].flatMap(Int.init) ?? 2000
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature", "humidity", "power", "location"])
        let database = try servers.makeDatabase()
        let connection = try PGConnection(url: database)
        let ingest = try servers.startIngest(sensors: catalog.catalog.sensors.map(\.name), catalog: catalog, database: database)
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady())
        let publisher = try TestPublisher(url: servers.mqtt)
        var fuzz = PayloadFuzzer(seed: seed, catalog: catalog)
        var published = 0
        for _ in 0..<count {
            let (topic, payload) = fuzz.next()
            // A topic the client library refuses (not valid MQTT) never reaches the broker.
            guard (try? publisher.publish(topic, payload)) != nil else { continue }
            published += 1
            if published % 200 == 0 { try publisher.flush() }
        }
        try publisher.flush()
        // Behind them, one good reading per sensor type: each pipeline is first in, first out, so once
        // these are stored everything before them was handled.
        let now = Int64(Date().timeIntervalSince1970) * 1_000_000
        for sensor in catalog.catalog.sensors {
            let values = sensor.fields.map { field in (field.min + field.max) / 2 }
            try publisher.publish("telemetry/\(sensor.name)/sentinel", HandFrame.float64(seq: 1, base: now, samples: [(0, values)]))
        }
        try publisher.flush()
        let replay = "replay with TELEMETRY_FUZZ_SEED=\(seed) TELEMETRY_FUZZ_MESSAGES=\(count)"
        for sensor in catalog.catalog.sensors {
            let stored = try await eventually(timeout: .seconds(120)) {
                (try? connection.query(
                    "SELECT count(*) FROM \"\(sensor.name)\" r JOIN devices d ON d.id = r.device_id WHERE d.device = 'sentinel' AND d.sensor = $1",
                    [sensor.name]))?[0, 0] == "1"
            }
            #expect(stored, "\(sensor.name): the reading after the fuzz was not stored; \(replay)\n\(ingest.output.suffix(2000))")
        }
        #expect(ingest.isRunning, "\(replay)")
        await #expect(try ingest.waitUntilReady(timeout: .seconds(10)), "\(replay)")
        let metrics = ingest.metricsURL
        #expect(try await eventually { (DeadLetterTests.counter("telemetry_ingest_queue_depth", at: metrics) ?? 1) == 0 }, "\(replay)")
        #expect((DeadLetterTests.counter("telemetry_ingest_quarantined_messages_total", at: metrics) ?? 0) == 0, "\(replay)")
        let received = DeadLetterTests.counter("telemetry_ingest_received_messages_total", at: metrics) ?? 0
        let committed = DeadLetterTests.counter("telemetry_ingest_committed_messages_total", at: metrics) ?? -1
        #expect(received == committed, "received \(received), out of the journal \(committed); \(replay)")
        let rejected = Int(try connection.query("SELECT count(*) FROM rejected")[0, 0] ?? "0") ?? 0
        #expect(rejected > published / 10, "only \(rejected) dead letters of \(published) mostly broken messages; \(replay)")
        print("fuzz: seed \(seed), \(published) messages published, \(rejected) dead-lettered, every one handled")
    }
}

/// Deterministic payloads and topics from a seed (SplitMix64).
struct PayloadFuzzer {
    var state: UInt64
    let catalog: TestCatalog

    init(seed: UInt64, catalog: TestCatalog) {
        state = seed
        self.catalog = catalog
    }

    mutating func random() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(random() % UInt64(bound)) }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    mutating func next() -> (String, [UInt8]) {
        let sensor = pick(catalog.catalog.sensors)
        let device = pick(["d1", "d-2", "dev_3", "x.y", String(repeating: "z", count: 64)])
        let format = pick(PayloadFormat.onTelemetryTopics)
        var payload = valid(sensor: sensor, format: format)
        switch below(10) {
        case 0, 1: break  // valid, or valid bytes under another format
        case 2: payload = mutate(payload, flips: 1 + below(4))
        case 3: payload = Array(payload.prefix(below(payload.count + 1)))
        case 4: payload.insert(0, at: below(payload.count + 1))
        case 5: payload.insert(contentsOf: pick([[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC0, 0x80]]), at: below(payload.count + 1))
        case 6: payload = (0..<below(64)).map { _ in UInt8(truncatingIfNeeded: random()) }
        case 7: payload = pick([[], [0], Array("nan".utf8), Array("1e999".utf8), Array("-0".utf8), Array("{}".utf8), Array("[]".utf8), Array("null".utf8)])
        case 8: payload = Array(repeating: UInt8(truncatingIfNeeded: random()), count: pick([4096, 4096, 65_536, 1_000_000]))  // under the broker's max_packet_size (1 MiB)
        default: payload = payload + payload
        }
        let topics = [
            "telemetry/\(sensor.name)/\(device)/\(format.rawValue)", "telemetry/\(sensor.name)/\(device)",
            "telemetry/\(sensor.name)/\(device)/\(pick(["TM", "xml", "", "text/extra", "json/"]))",
            "telemetry/\(sensor.name)/\(pick(["", "bad id", "é", "a+b", String(repeating: "q", count: 65), "d\u{1}"]))",
            "\(catalog.topicPrefix)tele/\(device)/SENSOR", "\(catalog.topicPrefix)\(device)/events/rpc",
            "\(catalog.topicPrefix)\(device)/sensor/temperature/state", "\(catalog.topicPrefix)tele/\(pick(["", "é", "a b"]))/SENSOR",
        ]
        return (pick(topics), payload)
    }

    mutating func mutate(_ bytes: [UInt8], flips: Int) -> [UInt8] {
        guard !bytes.isEmpty else { return [UInt8(truncatingIfNeeded: random())] }
        var out = bytes
        for _ in 0..<flips { out[below(out.count)] ^= UInt8(truncatingIfNeeded: 1 << below(8)) }
        return out
    }

    /// A message a device of `sensor` could send in `format`, with times around now.
    mutating func valid(sensor: SensorType, format: PayloadFormat) -> [UInt8] {
        var batch = ReadingBatch(fieldCount: sensor.fields.count)
        let now = Int64(Date().timeIntervalSince1970) * 1_000_000
        let rows = 1 + below(5)
        for index in 0..<rows {
            let row = batch.appendRow(time: now - Int64(index) * 1_000_000 - Int64(below(1_000_000)), seq: 1)
            for (field, spec) in sensor.fields.enumerated() {
                let fraction = Double(below(1001)) / 1000
                batch.set(field: field, row: row, spec.min + (spec.max - spec.min) * fraction)
            }
        }
        let seq = UInt32(truncatingIfNeeded: random())
        switch format {
        case .tm: return TMEncoder(sensor: sensor).encode(batch, rows: 0..<rows, seq: seq)
        case .lpp: return LPPEncoder(sensor: sensor).encode(batch, rows: 0..<1, seq: seq)  // one reading per payload
        case .senmlJSON: return SenMLJSONEncoder(sensor: sensor).encode(batch, rows: 0..<rows, seq: seq)
        case .senmlCBOR: return SenMLCBOREncoder(sensor: sensor).encode(batch, rows: 0..<rows, seq: seq)
        case .json: return JSONTelemetryEncoder(sensor: sensor).encode(batch, rows: 0..<rows, seq: seq)
        case .text: return Array(String(batch.values[0][0]).utf8)
        case .sparkplug: preconditionFailure("not a telemetry/ topic's format")
        }
    }
}
