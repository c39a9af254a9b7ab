import Foundation
import Postgres
import TestSupport
import Testing

/// One device's bad message must not hold a sensor type: a NUL in a payload is dead-lettered (its bytes
/// intact) and the readings behind it are stored; a pipeline whose head does not move is not ready and
/// says why; readings dated far from their receipt are dead-lettered without making partitions.
@Suite(.timeLimit(.minutes(3)))
struct PoisonMessageTests {
    @Test func aNULInATextPayloadIsDeadLetteredAndTheReadingsBehindItAreStored() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature").name
        let database = try servers.makeDatabase()
        let connection = try PGConnection(url: database)
        let ingest = try servers.startIngest(sensors: [sensor], catalog: catalog, database: database)
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady())
        let publisher = try TestPublisher(url: servers.mqtt)
        let poison: [[UInt8]] = [Array("21.5\0".utf8), [0x32, 0x31, 0xFF, 0xFE, 0x00], [0x00], Array("{\"t\0\": 1}".utf8)]
        for (index, payload) in poison.enumerated() {
            try publisher.publish("telemetry/\(sensor)/nul-\(index)/text", payload)
        }
        // A name that tries to start a log line of its own, with a terminal escape.
        try publisher.publish("telemetry/\(sensor)/forger/senml-json", Array(#"[{"n":"x\nFORGED-LINE\u001b[31m","v":1}]"#.utf8))
        try publisher.publish("telemetry/\(sensor)/after/text", Array("19.25".utf8))
        try publisher.flush()
        #expect(try await eventually { (try? connection.query("SELECT count(*) FROM \"\(sensor)\""))?[0, 0] == "1" }, "\(ingest.output.suffix(2000))")
        #expect(try await eventually { (try? connection.query("SELECT count(*) FROM rejected"))?[0, 0] == "\(poison.count + 1)" })
        // The log quotes them escaped: no NUL, no line a device wrote, no escape sequence.
        let log = ingest.output
        #expect(!log.contains("\0") && !log.contains("\u{1B}"))
        #expect(!log.split(separator: "\n").contains { $0.hasPrefix("FORGED-LINE") }, "\(log.suffix(2000))")
        #expect(log.contains("FORGED-LINE"), "the rejection was not logged at all: \(log.suffix(2000))")
        // Raw bytes kept exactly; the reason is valid text without NUL.
        let rows = try connection.query("SELECT topic, encode(payload, 'hex'), reason FROM rejected WHERE topic LIKE '%/text' ORDER BY topic").rows
        for (row, payload) in zip(rows, poison) {
            #expect(row[1] == payload.map { String(format: "%02x", $0) }.joined(), "\(row)")
            #expect(row[2]?.contains("\0") == false)
            #expect(row[2]?.hasPrefix("bad_text") == true, "\(row)")
        }
        await #expect(try ingest.waitUntilReady())
    }

    /// The writer cannot get its batch in (the table is locked by someone else): after `stall_seconds`
    /// the pipeline is not ready, its metric and `ingest_status` say stalled and why; once the lock goes,
    /// the batch is stored and it is ready again.
    @Test func aPipelineWhoseHeadDoesNotMoveIsNotReadyAndSaysWhy() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature").name
        let database = try servers.makeDatabase()
        let connection = try PGConnection(url: database)
        let ingest = try servers.startIngest(sensors: [sensor], catalog: catalog, database: database, extra: ["TELEMETRY_STALL_SECONDS": "2"])
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady())
        let publisher = try TestPublisher(url: servers.mqtt)
        let base = Int64(Date().timeIntervalSince1970) * 1_000_000
        let holder = try PGConnection(url: database)
        try holder.execute("BEGIN")
        try holder.execute("LOCK TABLE \"\(sensor)\" IN ACCESS EXCLUSIVE MODE")
        try publisher.publish("telemetry/\(sensor)/held", HandFrame.float64(seq: 1, base: base, samples: [(0, [21])]))
        try publisher.flush()
        let health = "http://127.0.0.1:\(ingest.healthPort ?? 0)"
        #expect(try await eventually(timeout: .seconds(30)) { httpStatus("\(health)/readyz") == 503 }, "\(ingest.output.suffix(1500))")
        #expect(try await eventually { (DeadLetterTests.counter("telemetry_ingest_stalled", at: ingest.metricsURL) ?? 0) == 1 })
        #expect(try await eventually {
            (try? connection.query("SELECT stalled FROM ingest_status WHERE sensor = $1", [sensor]))?[0, 0]?.contains("has not advanced") == true
        })
        // The message is counted as waiting, not as gone.
        #expect((DeadLetterTests.counter("telemetry_ingest_queue_depth", at: ingest.metricsURL) ?? 0) >= 1)
        try holder.execute("ROLLBACK")
        #expect(try await eventually { (try? connection.query("SELECT count(*) FROM \"\(sensor)\""))?[0, 0] == "1" })
        await #expect(try ingest.waitUntilReady())
        #expect(try await eventually { (try? connection.query("SELECT stalled IS NULL FROM ingest_status WHERE sensor = $1", [sensor]))?[0, 0] == "t" })
    }

    /// Readings dated outside the window around their receipt (`reading_max_age_days`, five minutes ahead)
    /// are dead-lettered with a clear reason: no partition for them, no `last_seen` in 9999.
    @Test func readingsFarFromTheirReceiptAreDeadLetteredWithoutPartitions() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature").name
        let database = try servers.makeDatabase()
        let connection = try PGConnection(url: database)
        let ingest = try servers.startIngest(
            sensors: [sensor], catalog: catalog, database: database, extra: ["TELEMETRY_READING_MAX_AGE_DAYS": "30"])
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady())
        let partitionsBefore = try Self.partitions(of: sensor, connection)
        let publisher = try TestPublisher(url: servers.mqtt)
        let now = Int64(Date().timeIntervalSince1970) * 1_000_000
        let day: Int64 = 86_400_000_000
        let far: [(String, Int64)] = [
            ("y9999", 253_402_214_400_000_000), ("y2106", 4_291_747_200_000_000), ("y1971", 31_536_000_000_000),
            ("old40d", now - 40 * day), ("ahead1h", now + 3_600_000_000),
        ]
        for (device, time) in far {
            try publisher.publish("telemetry/\(sensor)/\(device)", HandFrame.float64(seq: 1, base: time, samples: [(0, [20])]))
        }
        try publisher.publish("telemetry/\(sensor)/jsondev/json", Array(#"{"celsius": 20, "time": "9999-12-31T00:00:00Z"}"#.utf8))
        try publisher.publish("telemetry/\(sensor)/recent", HandFrame.float64(seq: 1, base: now - day, samples: [(0, [22])]))
        try publisher.flush()
        #expect(try await eventually { (try? connection.query("SELECT count(*) FROM \"\(sensor)\""))?[0, 0] == "1" }, "\(ingest.output.suffix(1500))")
        #expect(try await eventually { (try? connection.query("SELECT count(*) FROM rejected"))?[0, 0] == "\(far.count + 1)" })
        let reasons = try connection.query("SELECT topic, reason FROM rejected ORDER BY topic").rows
        for row in reasons {
            #expect(row[1]?.hasPrefix("time_out_of_window: reading time") == true, "\(row)")
        }
        // Only the stored reading's day may have been added.
        let added = try Self.partitions(of: sensor, connection).subtracting(partitionsBefore)
        #expect(added.isSubset(of: ["\(sensor)_p\(Self.dayName(now - day))"]), "\(added)")
        let lastSeen = try connection.query("SELECT max(last_seen) <= now() + interval '5 minutes' FROM devices WHERE sensor = $1", [sensor])[0, 0]
        #expect(lastSeen == "t")
    }

    /// The broker sends a retained message again at every subscription (the services subscribe at every
    /// connect): it is stored once, when it was published.
    @Test func aRetainedReadingIsStoredOnceHoweverOftenTheServiceSubscribes() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature").name
        let database = try servers.makeDatabase()
        let connection = try PGConnection(url: database)
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString.prefix(8))").path
        var ingest = try servers.startIngest(sensors: [sensor], catalog: catalog, database: database, journal: journal)
        await #expect(try ingest.waitUntilReady())
        let publisher = try TestPublisher(url: servers.mqtt)
        let topic = "telemetry/\(sensor)/kept/text"
        try publisher.publish(topic, Array("18.5".utf8), retain: true)
        defer { try? publisher.publish(topic, [], retain: true) }  // clears it at the broker
        try publisher.flush()
        let rows = "SELECT count(*) FROM \"\(sensor)\" r JOIN devices d ON d.id = r.device_id WHERE d.device = $1"
        #expect(try await eventually { (try? connection.query(rows, ["kept"]))?[0, 0] == "1" }, "\(ingest.output.suffix(1500))")
        for _ in 0..<2 {
            // Same client id and session: it subscribes again, and the broker sends the retained reading.
            _ = ingest.stop()
            ingest = try servers.startIngest(sensors: [sensor], catalog: catalog, database: database, journal: journal)
            await #expect(try ingest.waitUntilReady())
            #expect(try await eventually { (DeadLetterTests.counter("telemetry_ingest_retained_messages_skipped_total", at: ingest.metricsURL) ?? 0) >= 1 },
                    "\(ingest.output.suffix(1500))")
        }
        // A reading after them is stored: everything before it was handled.
        try publisher.publish("telemetry/\(sensor)/after/text", Array("19.5".utf8))
        try publisher.flush()
        #expect(try await eventually { (try? connection.query(rows, ["after"]))?[0, 0] == "1" })
        #expect(try connection.query(rows, ["kept"])[0, 0] == "1")
        _ = ingest.stop()
    }

    static func partitions(of table: String, _ connection: PGConnection) throws -> Set<String> {
        let rows = try connection.query("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1", [table]).rows
        return Set(rows.compactMap { $0[0] })
    }

    /// A day partition's name holds its date as YYYYMMDD.
    static func dayName(_ micros: Int64) -> String {
        let date = Date(timeIntervalSince1970: Double(micros) / 1e6)
        let formatter = DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd"
        return formatter.string(from: date)
    }
}
