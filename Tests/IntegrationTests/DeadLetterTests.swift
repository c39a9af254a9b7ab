import Foundation
import Postgres
import SensorModel
@testable import TelemetryStore
import Testing

/// A message leaves the journal only stored or dead-lettered: a dead letter that cannot be written is
/// retried, not dropped; and a dead letter written again (a replay after a crash) is stored once.
@Suite(.timeLimit(.minutes(3)))
struct DeadLetterTests {
    @Test func aDeadLetterThatCannotBeWrittenIsRetriedUntilItIsStored() throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature").name
        let database = try servers.makeDatabase()
        let connection = try PGConnection(url: database)
        try Schema.migrate(connection, catalog: catalog.catalog)
        // 42.5 °C decodes but cannot be stored (a permanent error), and while `hold` has a row the dead
        // letter for it cannot be written either (another permanent error, SQLSTATE P0001).
        try connection.execute("""
            ALTER TABLE "\(sensor)" ADD CONSTRAINT no_42_5 CHECK (celsius <> 42.5);
            CREATE TABLE hold (reason text);
            INSERT INTO hold VALUES ('dead letters refused');
            CREATE FUNCTION refuse_while_held() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF EXISTS (SELECT 1 FROM hold) THEN RAISE EXCEPTION 'dead letters refused for the test'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON rejected FOR EACH ROW EXECUTE FUNCTION refuse_while_held();
            """)
        let ingest = try servers.startIngest(sensors: [sensor], catalog: catalog, database: database)
        defer { ingest.stop() }
        #expect(try ingest.waitUntilReady())
        let publisher = try TestPublisher(url: servers.mqtt)
        let base: Int64 = 1_767_225_600_000_000
        try publisher.publish("telemetry/\(sensor)/poison", HandFrame.float64(seq: 1, base: base, samples: [(0, [42.5])]))
        try publisher.flush()
        // The service keeps trying: its retry counter climbs while nothing reaches `rejected`.
        let metrics = ingest.metricsURL
        #expect(try eventually { (Self.counter("telemetry_ingest_write_retries_total", at: metrics) ?? 0) >= 3 }, "\(ingest.output.suffix(1500))")
        #expect(try connection.query("SELECT count(*) FROM rejected")[0, 0] == "0")
        // Once the dead letter can be written, it is: the message was never dropped.
        try connection.execute("DELETE FROM hold")
        #expect(try eventually(timeout: .seconds(30)) {
            (try? connection.query("SELECT count(*) FROM rejected WHERE topic = 'telemetry/\(sensor)/poison'"))?[0, 0] == "1"
        }, "\(ingest.output.suffix(1500))")
        let reason = try connection.query("SELECT reason FROM rejected")[0, 0] ?? ""
        #expect(reason.contains("23514"), "\(reason)")
        // And the pipeline goes on: a good reading after it is stored.
        try publisher.publish("telemetry/\(sensor)/good", HandFrame.float64(seq: 2, base: base + 1, samples: [(0, [20])]))
        try publisher.flush()
        #expect(try eventually { (try? connection.query("SELECT count(*) FROM \"\(sensor)\""))?[0, 0] == "1" })
    }

    @Test func aDeadLetterWrittenTwiceIsStoredOnce() throws {
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
        guard let url = URL(string: url), let data = try? Data(contentsOf: url) else { return nil }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
        guard !lines.isEmpty else { return nil }
        return lines.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }
}
