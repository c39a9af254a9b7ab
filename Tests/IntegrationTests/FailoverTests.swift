import Foundation
import Postgres
import StorageCore
import StorageWriter
import TestSupport
import Testing

/// The query service across a failover: its database URL lists a primary and its streaming standby; the
/// primary dies (immediate stop), the standby is promoted (as Patroni does) and takes readings the old
/// primary never announced to anybody. The live stream that was open goes on and sends them (its listener
/// connects to the new primary and catches up), and the aggregates count them (the rollup cache reads the
/// hours whose versions changed), without a restart of the query service.
@Suite(.timeLimit(.minutes(3)))
struct FailoverTests {
    @Test func liveStreamsAndTheRollupCacheFollowAPromotedStandby() async throws {
        let servers = try TestServers.require()
        let primary = try await PrivatePostgres.make()
        let catalog = try TestCatalog.make(from: ["power"])
        let sensor = catalog.catalog.sensors[0]
        let base = (Int64(Date().timeIntervalSince1970) - 600) * 1_000_000
        func batch(from second: Int, value: Double) -> IngestBatch {
            secondlyBatch(sensor, device: "meter-1", base: base, from: second, value: value)
        }
        do {
            let connection = try PGConnection(url: primary.url)
            try Schema.migrate(connection, catalog: catalog.catalog)
            #expect(try BatchWriter(connection: connection, sensor: sensor).write(batch(from: 0, value: 5)).inserted == 3)
        }
        let standby = try await PrivatePostgres.make(standbyOf: primary)

        let port = try freeLoopbackPort()
        let url = "postgresql://postgres@127.0.0.1:\(primary.port),127.0.0.1:\(standby.port)/telemetry?target_session_attrs=read-write&connect_timeout=3"
        let query = try QueryRun(servers, port: port, environment: [
            "TELEMETRY_DATABASE_URL": url, "TELEMETRY_HTTP_PORT": String(port), "TELEMETRY_CATALOG": catalog.directory,
        ])
        defer { query.stop() }
        try await query.waitUntilReady()
        let hour = base / 3_600_000_000 * 3_600_000  // ms, whole hours: what the rollup cache serves
        func counted() async throws -> Int {
            try await aggregatedCount("http://127.0.0.1:\(port)/v1/sensors/\(sensor.name)/aggregates?bucket=1h&fn=count&from=\(hour - 3_600_000)&to=\(hour + 7_200_000)")
        }
        #expect(try await counted() == 3)
        #expect(try await counted() == 3)
        let metrics = await query.get("/metrics")?.text ?? ""
        #expect(metrics.firstMatch(of: #/rollup_cache_hours_total\{result="hit"\} [1-9]/#) != nil, "the hours are not served from the cache: \(metrics.prefix(2000))")
        let stream = try StreamClient(port: port, path: "/v1/sensors/\(sensor.name)/devices/meter-1/stream")
        #expect(try await Blocking.run { stream.read(until: "retry:", timeout: .seconds(10)) }, "the stream did not open: \(stream.received)")
        let tables = SensorTables(sensor)
        let replica = try PGConnection(url: standby.url)
        // Written on the primary once the stream listens: sent to the stream, replicated.
        #expect(try BatchWriter(connection: try PGConnection(url: primary.url), sensor: sensor).write(batch(from: 10, value: 7.25)).inserted == 3)
        #expect(try await Blocking.run { stream.read(until: "7.25", timeout: .seconds(20)) }, "the stream did not send a reading before the failover: \(stream.received.suffix(500))")
        await #expect(try eventually { (try? replica.query("SELECT count(*) FROM \(tables.readings)")[0, 0]) == "6" }, "the standby did not catch up")

        try await primary.stop(immediate: true)
        try await standby.promote()
        // Stored on the new primary; nobody was listening there when it was announced.
        #expect(try BatchWriter(connection: try PGConnection(url: standby.url), sensor: sensor).write(batch(from: 20, value: 9.5)).inserted == 3)

        #expect(try await Blocking.run { stream.read(until: "9.5", timeout: .seconds(30)) }, "the stream missed the new primary's reading: \(stream.received.suffix(500))")
        #expect(try await within(.seconds(30)) { (try? await counted()) == 9 }, "the aggregates did not count the new primary's readings")
    }
}
