import Foundation
import Postgres
import StorageCore
import StorageWriter
import TestSupport
import Testing

/// `standby_reads`: with a database URL that lists a primary and its streaming standby, the query service
/// reads readings, aggregates and dead letters from the standby and everything else from the primary. Shown
/// by pausing the standby's replay: what the primary stored after that is in the device list (primary),
/// not yet in the readings or aggregates (standby), and there once replay goes on.
@Suite(.timeLimit(.minutes(3)))
struct StandbyReadsTests {
    @Test func historyComesFromTheStandbyAndTheRestFromThePrimary() async throws {
        let servers = try TestServers.require()
        let primary = try await PrivatePostgres.make()
        let catalog = try TestCatalog.make(from: ["power"])
        let sensor = catalog.catalog.sensors[0]
        let connection = try PGConnection(url: primary.url)
        try Schema.migrate(connection, catalog: catalog.catalog)
        let writer = BatchWriter(connection: connection, sensor: sensor)
        let base = (Int64(Date().timeIntervalSince1970) - 600) * 1_000_000
        func batch(_ device: String, from second: Int) -> IngestBatch {
            secondlyBatch(sensor, device: device, base: base, from: second, value: 5)
        }
        #expect(try writer.write(batch("meter-1", from: 0)).inserted == 3)

        let standby = try await PrivatePostgres.make(standbyOf: primary)
        let replica = try PGConnection(url: standby.url)
        let tables = SensorTables(sensor)
        await #expect(try eventually(timeout: .seconds(30)) { (try? replica.query("SELECT count(*) FROM \(tables.readings)")[0, 0]) == "3" })
        try replica.execute("SELECT pg_wal_replay_pause()")
        #expect(try writer.write(batch("meter-1", from: 10)).inserted == 3)
        #expect(try writer.write(batch("meter-2", from: 10)).inserted == 3)

        // The standby's host listed first: read-write must still find the primary for everything else.
        let port = try freeLoopbackPort()
        let url = "postgresql://postgres@127.0.0.1:\(standby.port),127.0.0.1:\(primary.port)/telemetry?target_session_attrs=read-write"
        let query = try QueryRun(servers, port: port, environment: [
            "TELEMETRY_DATABASE_URL": url, "TELEMETRY_HTTP_PORT": String(port), "TELEMETRY_CATALOG": catalog.directory,
            "TELEMETRY_STANDBY_READS": "true",
        ])
        defer { query.stop() }
        try await query.waitUntilReady()
        let api = "http://127.0.0.1:\(port)/v1/sensors/\(sensor.name)"
        func readings() async throws -> Int {
            (try await httpJSON("\(api)/devices/meter-1/readings?from=\(base / 1000)&to=\(base / 1000 + 60_000)", token: nil)["readings"] as? [Any])?.count ?? -1
        }
        func aggregated() async throws -> Int {
            try await aggregatedCount("\(api)/aggregates?bucket=1d&fn=count&from=0&to=4102444800000")
        }
        #expect(try await query.deviceNames(of: sensor.name, token: nil).sorted() == ["meter-1", "meter-2"], "the device list is not the primary's")
        #expect(try await readings() == 3, "readings did not come from the paused standby")
        #expect(try await aggregated() == 3, "aggregates did not come from the paused standby")

        try replica.execute("SELECT pg_wal_replay_resume()")
        #expect(try await within(.seconds(30)) { (try? await readings()) == 6 }, "the standby's readings did not catch up")
        #expect(try await aggregated() == 9)
    }
}
