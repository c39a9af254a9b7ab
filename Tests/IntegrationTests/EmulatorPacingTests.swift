import Foundation
import Postgres
import Testing

/// The emulator that feeds the demo sends what it is asked for: slow devices, each on a connection of its
/// own and below one message a second, are not sent once a second each (it slept at most a second, then
/// sent whether the message was due or not: twice the rate here), and a reading's time is the time of
/// sending, not a frame's span ahead of the clock with every message.
@Suite(.timeLimit(.minutes(4)))
struct EmulatorPacingTests {
    @Test func slowDevicesSendTheRequestedRateStampedWithTheTimeOfSending() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature").name
        let database = try servers.makeDatabase()
        let ingest = try servers.startIngest(sensors: [sensor], catalog: catalog, database: database)
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady())
        // 4 devices at 2 messages/s in all: one message every 2 s per device, 2 samples a frame.
        let emulator = try EmulatorRun(servers: servers, database: database, catalog: catalog, sensors: [sensor],
                                       devices: 4, samples: 2, rate: 2, duration: 8, extra: ["--connections", "0"])
        let status = await emulator.process.waitForExit(timeout: .seconds(90))
        let finished = Date()
        #expect(status == 0, "\(emulator.output)")
        // 2 messages/s × 8 s × 2 samples = 32 readings (give or take the first and last message).
        let row = try #require(emulator.verifyRow(sensor), "\(emulator.output)")
        #expect((28...36).contains(row[0]), "readings sent: \(row); before the fix, 64")
        #expect(row[1] == row[0] && row[2] == 0 && row[3] == 0, "\(row)")
        let connection = try PGConnection(url: database)
        let newest = try #require(Double(try connection.query("SELECT extract(epoch FROM max(time)) FROM \"\(sensor)\"")[0, 0] ?? ""))
        #expect(newest <= finished.timeIntervalSince1970 + 1, "the newest reading is \(newest - finished.timeIntervalSince1970) s ahead of the clock")
    }
}
