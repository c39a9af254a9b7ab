import Foundation
import Postgres
import Testing

/// "Nothing acknowledged is ever lost" (docs/architecture.md, Delivery), against the real servers with the
/// real `telemetry ingest` and `telemetry emulate`. The emulator publishes QoS 1, counts the
/// broker's acknowledgements per device, and `--verify` compares them with the stored rows and the
/// rollup counts (exit 1 on anything missing or counted twice). Each test prints a `verdict:` line.
/// Serialized: they load a 2-core machine and measure memory and shutdown times.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct DeliveryTests {
    /// Ingest with a journal and instance name that survive restarts.
    struct Ingest {
        let servers: TestServers
        let catalog: TestCatalog
        let sensor: String
        let database: String
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString.prefix(8))").path
        var extra: [String: String] = [:]

        func start() async throws -> ServiceProcess {
            let process = try servers.startIngest(
                sensors: [sensor], catalog: catalog, database: database, journal: journal,
                extra: ["TELEMETRY_INSTANCE": "delivery"].merging(extra) { $1 })
            guard try await process.waitUntilReady() else {
                throw TestSetupError(message: "ingest did not start: \(process.output)")
            }
            return process
        }

        /// Segment files left in the journal (none after a clean stop with everything stored).
        var journalSegments: [String] {
            let directory = journal + "/ingest-\(sensor)-delivery"
            return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix("segment-") }
        }
    }

    /// Waits for the emulator's verify and checks it and the database: every acknowledged reading stored
    /// once, rollups equal to raw counts. Returns the verdict's numbers.
    func expectExactlyOnce(_ emulator: EmulatorRun, database: String, sensor: String, context: String) async throws -> String {
        let status = await emulator.process.waitForExit(timeout: .seconds(150))
        let row = emulator.verifyRow(sensor) ?? [-1, -1, -1, -1]
        let acked = emulator.acknowledged?.readings ?? -1
        let counts = try storedAndRolledUp(database: database, sensor: sensor, field: "celsius")
        #expect(status == 0, "\(context): emulator \(String(describing: status)): \(emulator.output.suffix(1500))")
        #expect(emulator.output.contains("verify: OK"))
        #expect(row[0] == acked && row[2] == 0 && row[3] == 0, "\(context): \(row)")
        #expect(counts.stored == acked, "\(context): stored \(counts.stored), acknowledged \(acked)")
        #expect(counts.minute == counts.stored && counts.hour == counts.stored, "\(context): rollups \(counts)")
        return "sent \(acked) stored \(counts.stored) missing \(max(0, acked - counts.stored)) duplicated \(max(0, counts.minute - counts.stored))"
    }

    @Test func killNineFiveTimesUnderLoadLosesNothing() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature").name
        let setup = Ingest(servers: servers, catalog: catalog, sensor: sensor, database: try servers.makeDatabase())
        var ingest = try await setup.start()
        let emulator = try EmulatorRun(servers: servers, database: setup.database, catalog: catalog, sensors: [sensor], rate: 1000, duration: 20)
        var replayed: [String] = []
        // Kill k (0...4) after 1,000 + 3,000 k to 3,499 + 3,000 k acknowledged messages, all well inside the
        // run's 20,000: counted from each restart instead, slow restarts under load once put the fifth kill
        // beyond the run's last message.
        for kill in 0..<5 {
            try await emulator.waitForAcked(1_000 + kill * 3_000 + Int.random(in: 0..<2_500))
            ingest.signal(SIGKILL)
            await #expect(ingest.waitForExit(timeout: .seconds(10)) != nil)
            ingest = try await setup.start()
            replayed.append(ingest.output.firstMatch(of: /replaying (\d+) journaled/).map { String($0.1) } ?? "0")
        }
        defer { ingest.stop() }
        let verdict = try await expectExactlyOnce(emulator, database: setup.database, sensor: sensor, context: "kill -9")
        print("verdict: kill -9 ×5 under load (journal replays \(replayed.joined(separator: ", ")) messages): \(verdict)")
    }

    @Test func postgresOutageOfThirtySecondsLosesNothingAndMemoryStaysBounded() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature").name
        let postgres = try await PrivatePostgres.make()
        let setup = Ingest(servers: servers, catalog: catalog, sensor: sensor, database: postgres.url)
        let ingest = try await setup.start()
        defer { ingest.stop() }
        let emulator = try EmulatorRun(servers: servers, database: postgres.url, catalog: catalog, sensors: [sensor], rate: 1000, duration: 38)
        try await emulator.waitForAcked(2500)
        let rssBoundMiB = 150
        let before = residentKiB(pid: ingest.process.processIdentifier) ?? 0
        try await postgres.stop()
        let outageStart = ContinuousClock.now
        let ackedAtStop = emulator.ackedMessages
        var peak = before
        // The outage itself is the load's duration; sample memory through it.
        while ContinuousClock.now - outageStart < .seconds(30) {
            peak = max(peak, residentKiB(pid: ingest.process.processIdentifier) ?? 0)
            try await Task.sleep(for: .milliseconds(250))
        }
        let ackedDuringOutage = emulator.ackedMessages - ackedAtStop
        try await postgres.start()
        #expect(ingest.isRunning, "\(ingest.output.suffix(2000))")
        #expect(ackedDuringOutage > 10_000, "the outage was not under load: \(ackedDuringOutage) acknowledged")
        #expect(peak < rssBoundMiB * 1024, "ingest RSS peaked at \(peak / 1024) MiB")
        #expect(ingest.output.contains("PostgreSQL unavailable, retrying"))
        let verdict = try await expectExactlyOnce(emulator, database: postgres.url, sensor: sensor, context: "PostgreSQL outage")
        print("verdict: PostgreSQL stopped 30 s under load (\(ackedDuringOutage) messages published meanwhile): \(verdict); ingest RSS \(before / 1024) MiB before, peak \(peak / 1024) MiB during (bound \(rssBoundMiB) MiB)")
    }

    @Test func brokerRestartUnderLoadLosesNothingAcknowledged() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature").name
        // mosquitto writes its persistence file on autosave and on shutdown: SIGTERM (graceful) here.
        let broker = try await PrivateBroker.make()
        var setup = Ingest(servers: servers, catalog: catalog, sensor: sensor, database: try servers.makeDatabase())
        setup.extra["TELEMETRY_MQTT_URL"] = broker.url
        let ingest = try await setup.start()
        defer { ingest.stop() }
        let emulator = try EmulatorRun(servers: servers, mqttURL: broker.url, database: setup.database, catalog: catalog, sensors: [sensor],
                                       rate: 1000, duration: 12)
        try await emulator.waitForAcked(3000)
        let down = ContinuousClock.now
        try await broker.restart()
        let downtime = ContinuousClock.now - down
        #expect(try await eventually(timeout: .seconds(30)) { ingest.output.components(separatedBy: "connected to").count > 2 },
                "ingest did not reconnect: \(ingest.output.suffix(1500))")
        let verdict = try await expectExactlyOnce(emulator, database: setup.database, sensor: sensor, context: "broker restart")
        print("verdict: broker SIGTERM + restart under load (down \(formatSeconds(downtime))): \(verdict)")
    }

    @Test func sigtermUnderLoadExitsCleanlyAndStoresEverythingAcknowledged() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature").name
        let setup = Ingest(servers: servers, catalog: catalog, sensor: sensor, database: try servers.makeDatabase())
        var ingest = try await setup.start()
        let emulator = try EmulatorRun(servers: servers, database: setup.database, catalog: catalog, sensors: [sensor], rate: 1000, duration: 8)
        try await emulator.waitForAcked(3000)
        let signalled = ContinuousClock.now
        ingest.signal(SIGTERM)
        let status = await ingest.waitForExit(timeout: .seconds(10))
        let exitTime = ContinuousClock.now - signalled
        #expect(status == 0, "exit status \(String(describing: status)) after \(exitTime): \(ingest.output.suffix(1500))")
        // Everything it acknowledged to the broker is stored: its journal holds nothing to replay.
        #expect(setup.journalSegments.isEmpty, "journal left \(setup.journalSegments)")
        #expect(ingest.output.contains("0 journaled messages left to replay"))
        // What the broker kept queued meanwhile arrives after a restart.
        ingest = try await setup.start()
        defer { ingest.stop() }
        let verdict = try await expectExactlyOnce(emulator, database: setup.database, sensor: sensor, context: "SIGTERM")
        print("verdict: SIGTERM under load: exit \(String(describing: status)) in \(formatSeconds(exitTime)), journal empty; after restart \(verdict)")
    }
}

func formatSeconds(_ duration: Duration) -> String { String(format: "%.2f s", duration / .seconds(1)) }
