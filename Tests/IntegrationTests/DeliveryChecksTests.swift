import Foundation
import Postgres
import Testing

/// Smaller delivery checks: the emulator's verify fails loudly, a permanent database error dead-letters
/// only the message that causes it, and the ingest service's Prometheus endpoint counts what it did.
@Suite(.timeLimit(.minutes(4)))
struct DeliveryChecksTests {
    @Test func verifyFailsWhenNothingWasStored() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature").name
        // No ingest service ever runs against this database.
        let emulator = try EmulatorRun(servers: servers, database: try servers.makeDatabase(), catalog: catalog, sensors: [sensor],
                                       devices: 3, samples: 2, rate: 200, duration: 10, verifyTimeout: 2, extra: ["--count", "30"])
        let status = await emulator.process.waitForExit(timeout: .seconds(60))
        #expect(status == 1, "\(emulator.output)")
        #expect(emulator.output.contains("verify: FAILED"))
        #expect(emulator.verifyRow(sensor) == [60, 0, 60, 0], "\(emulator.output)")
        print("verdict: verify with no ingest: exit \(String(describing: status)), row \(emulator.verifyRow(sensor) ?? [])")
    }

    @Test func aPermanentStorageErrorDeadLettersOnlyTheOffendingMessage() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature").name
        let database = try servers.makeDatabase()
        let ingest = try servers.startIngest(sensors: [sensor], catalog: catalog, database: database)
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady())
        // A constraint the decoder knows nothing of: 42.5 °C decodes fine but cannot be stored (SQLSTATE 23514).
        let connection = try PGConnection(url: database)
        try connection.execute("ALTER TABLE \"\(sensor)\" ADD CONSTRAINT no_42_5 CHECK (celsius <> 42.5)")
        let publisher = try TestPublisher(url: servers.mqtt)
        let base: Int64 = 1_767_225_600_000_000
        for n in 0..<50 {
            let value = n == 17 ? 42.5 : 20 + Double(n) / 8
            try publisher.publish("telemetry/\(sensor)/dev-\(n % 5)", HandFrame.float64(seq: UInt32(n), base: base + Int64(n) * 1_000_000, samples: [(0, [value])]))
        }
        try publisher.flush()
        #expect(try await eventually {
            (try? connection.query("SELECT count(*) FROM \"\(sensor)\""))?[0, 0] == "49"
                && (try? connection.query("SELECT count(*) FROM rejected"))?[0, 0] == "1"
        }, "\(ingest.output.suffix(1500))")
        let reason = try connection.query("SELECT topic, reason FROM rejected")
        #expect(reason[0, 0] == "telemetry/\(sensor)/dev-2")
        #expect(reason[0, 1]?.contains("23514") == true, "\(reason.rows)")
        let rolled = try storedAndRolledUp(database: database, sensor: sensor, field: "celsius")
        #expect(rolled.minute == 49 && rolled.hour == 49)
        print("verdict: permanent error in a batch of 50: stored 49, dead-lettered 1 (\(reason[0, 1] ?? ""))")
    }

    @Test func ingestServesPrometheusMetrics() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature").name
        let ingest = try servers.startIngest(sensors: [sensor], catalog: catalog, database: try servers.makeDatabase())
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady())
        let port = try #require(ingest.healthPort)
        let publisher = try TestPublisher(url: servers.mqtt)
        for n in 0..<3 {
            try publisher.publish("telemetry/\(sensor)/m-1", HandFrame.float64(seq: UInt32(n), base: 1_767_225_600_000_000 + Int64(n), samples: [(0, [1])]))
        }
        try publisher.publish("telemetry/\(sensor)/m-1", [0x00])
        try publisher.flush()
        var text = ""
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        repeat {
            text = await httpGet("http://127.0.0.1:\(port)/metrics")?.text ?? ""
            if text.contains("telemetry_ingest_committed_messages_total{sensor=\"\(sensor)\"} 4") { break }
            try await Task.sleep(for: .milliseconds(200))
        } while ContinuousClock.now < deadline
        for name in ["received_messages_total", "committed_messages_total", "committed_readings_total", "rejected_messages_total",
                     "journal_bytes", "queue_depth", "commit_seconds"] {
            #expect(text.contains("telemetry_ingest_\(name)"), "no \(name) in:\n\(text)")
        }
        #expect(text.contains("telemetry_ingest_received_messages_total{sensor=\"\(sensor)\"} 4"), "\(text)")
        #expect(text.contains("telemetry_ingest_committed_readings_total{sensor=\"\(sensor)\"} 3"), "\(text)")
        #expect(await httpGet("http://127.0.0.1:\(port)/other")?.status == 404)
    }

    @Test func skippedLPPEntriesAreCounted() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature").name
        let database = try servers.makeDatabase()
        let ingest = try servers.startIngest(sensors: [sensor], catalog: catalog, database: database)
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady())
        let metrics = ingest.metricsURL
        // A temperature (type 103) and a humidity (104) and a barometer (115) entry: this sensor type maps only the first.
        let publisher = try TestPublisher(url: servers.mqtt)
        try publisher.publish("telemetry/\(sensor)/multi/lpp", [0x03, 0x67, 0x01, 0x10, 0x05, 0x68, 0x50, 0x06, 0x73, 0x27, 0x10])
        try publisher.flush()
        let connection = try PGConnection(url: database)
        #expect(try await eventually { (try? connection.query("SELECT count(*) FROM \"\(sensor)\""))?[0, 0] == "1" })
        #expect(try await eventually { DeadLetterTests.counter("telemetry_ingest_skipped_entries_total", at: metrics) == 2 },
                "skipped entries: \(String(describing: DeadLetterTests.counter("telemetry_ingest_skipped_entries_total", at: metrics)))")
    }
}
