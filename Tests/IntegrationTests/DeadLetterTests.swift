import Foundation
import Postgres
import SensorModel
import TestSupport
import Testing
@testable import StorageCore
@testable import StorageWriter

/// A message leaves the journal only stored, dead-lettered or quarantined: a dead letter that cannot be
/// written is tried a bounded number of times, then its message goes to the quarantine file beside the
/// journal (raw bytes kept) and the pipeline moves on; a dead letter written again is stored once.
@Suite(.timeLimit(.minutes(3)))
struct DeadLetterTests {
    @Test func aDeadLetterThatCannotBeWrittenIsQuarantinedAndThePipelineMovesOn() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature").name
        let database = try servers.makeDatabase()
        let connection = try PGConnection(url: database)
        try Schema.migrate(connection, catalog: catalog.catalog)
        // 42.5 °C decodes but cannot be stored (a permanent error), and its dead letter cannot be written
        // either (another permanent error, SQLSTATE P0001): nothing in the database can take it.
        try connection.execute("""
            ALTER TABLE "\(sensor)" ADD CONSTRAINT no_42_5 CHECK (celsius <> 42.5);
            CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.topic LIKE '%/poison' THEN RAISE EXCEPTION 'dead letters refused for the test'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON rejected FOR EACH ROW EXECUTE FUNCTION refuse_poison();
            """)
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString.prefix(8))").path
        let ingest = try servers.startIngest(sensors: [sensor], catalog: catalog, database: database, journal: journal)
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady())
        let publisher = try TestPublisher(url: servers.mqtt)
        let base = Int64(Date().timeIntervalSince1970) * 1_000_000
        let poison = HandFrame.float64(seq: 1, base: base, samples: [(0, [42.5])])
        try publisher.publish("telemetry/\(sensor)/poison", poison)
        // Behind it, good readings: stored, not held behind the poison for ever.
        try publisher.publish("telemetry/\(sensor)/good", HandFrame.float64(seq: 2, base: base + 1, samples: [(0, [20])]))
        try publisher.flush()
        #expect(try await eventually { (try? connection.query("SELECT count(*) FROM \"\(sensor)\""))?[0, 0] == "1" }, "\(ingest.output.suffix(1500))")
        #expect(try await eventually { (Self.counter("telemetry_ingest_quarantined_messages_total", at: ingest.metricsURL) ?? 0) == 1 })
        #expect(try connection.query("SELECT count(*) FROM rejected")[0, 0] == "0")
        // The quarantine holds the message's own bytes, its topic and why.
        // ingest-<sensor>-<instance>/ (the monolith's instance name differs)
        let folder = try #require(try FileManager.default.contentsOfDirectory(atPath: journal).first { $0.hasPrefix("ingest-\(sensor)-") })
        let file = "\(journal)/\(folder)/quarantine.jsonl"
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1)
        let entry = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(entry["topic"] as? String == "telemetry/\(sensor)/poison")
        #expect((entry["payload_base64"] as? String).flatMap { Data(base64Encoded: $0) }.map(Array.init) == poison)
        let reason = entry["reason"] as? String ?? ""
        #expect(reason.contains("23514") && reason.contains("P0001"), "\(reason)")
        // It left the journal: nothing is replayed at the next start, and the service is ready.
        #expect(try await eventually { (Self.counter("telemetry_ingest_queue_depth", at: ingest.metricsURL) ?? 1) == 0 })
        await #expect(try ingest.waitUntilReady())
    }

    @Test func aDeadLetterWrittenTwiceIsStoredOnce() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature")
        let database = try servers.makeDatabase()
        let connection = try PGConnection(url: database)
        try Schema.migrate(connection, catalog: catalog.catalog)
        let writer = BatchWriter(connection: connection, sensor: sensor)
        var batch = IngestBatch(fieldCount: 1)
        let letter = DeadLetter(sensor: sensor.name, topic: "telemetry/temperature/d1", receivedAt: 1_767_225_600_000_123, reason: "truncated", payload: [1, 2, 3])
        batch.deadLetters = [letter, DeadLetter(sensor: sensor.name, topic: "telemetry/temperature/d1", receivedAt: 1_767_225_600_000_124, reason: "truncated", payload: [1, 2, 3])]
        #expect(try writer.write(batch).deadLettered == 2)
        // The same messages again, as a replay of the journal after kill -9 between commit and journal commit.
        _ = try writer.write(batch)
        #expect(try connection.query("SELECT count(*) FROM rejected")[0, 0] == "2")
        // Another message with the same bytes at another time is its own dead letter.
        var other = IngestBatch(fieldCount: 1)
        other.deadLetters = [DeadLetter(sensor: sensor.name, topic: letter.topic, receivedAt: letter.receivedAt + 5, reason: "truncated", payload: letter.payload)]
        _ = try writer.write(other)
        #expect(try connection.query("SELECT count(*) FROM rejected")[0, 0] == "3")
    }

    /// A counter's value summed over its label sets, from the ingest service's /metrics.
    static func counter(_ name: String, at url: String) -> Double? {
        guard let reply = httpExchange("GET", url, timeout: 5), reply.status == 200 else { return nil }
        let lines = String(decoding: reply.body, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
        guard !lines.isEmpty else { return nil }
        return lines.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }
}
