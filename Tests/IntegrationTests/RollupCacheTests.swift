import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Postgres
import Prometheus
import QueryService
import SensorModel
import StorageCore
import Testing
@testable import StorageCore
@testable import StorageEvents
@testable import StorageOperations
@testable import StorageWriter

/// The query service's rollup cache answers from memory and is never stale: a write committed before a
/// request shows in its answer, also for days already cached, after retention, and after the cache's
/// listening connection was killed.
@Suite(.timeLimit(.minutes(5)))
struct RollupCacheTests {
    static let day0: Int64 = Micros.day(of: 1_767_225_600_000_000)  // 2026-01-01
    static let hour: Int64 = 3_600_000_000

    @Test func answersFromMemoryAndSeesEveryCommittedWrite() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let database = try servers.makeDatabase()
        let sensor = catalog.sensor("temperature")
        let connection = try PGConnection(url: database)
        try Schema.migrate(connection, catalog: catalog.catalog)
        let writer = BatchWriter(connection: connection, sensor: sensor)
        let app = try QueryApp(database: database, catalog: catalog)
        let cache = try #require(app.store.rollupCache)

        // Three devices, readings every 20 minutes over two days.
        _ = try writer.write(Self.batch(devices: ["dev-a", "dev-b", "dev-c"], from: Self.day0 * Micros.perDay, hours: 48, value: 10))
        let from = Self.day0 * Micros.perDay, to = (Self.day0 + 3) * Micros.perDay

        try await app.application.test(.router) { client in
            func check(_ label: String, bucket: String = "1h") async throws {
                for groupBy in [true, false] {
                    let uri = "/v1/sensors/\(sensor.name)/aggregates?bucket=\(bucket)&from=\(from / 1000)&to=\(to / 1000)&fn=count,sum,min,max"
                        + (groupBy ? "&group_by=device" : "")
                    let response = try await client.execute(uri: uri, method: .get) { ($0.status, Data(buffer: $0.body)) }
                    #expect(response.0 == .ok, "\(label): \(String(decoding: response.1, as: UTF8.self))")
                    let api = try JSONDecoder().decode(AggregateResponse.self, from: response.1)
                    var got: [String: AggregateResponse.Point] = [:]
                    for series in api.series {
                        for point in series.points { got["\(series.device ?? "-") \(series.field) \(point.time)"] = point }
                    }
                    let step = DurationText.parse(bucket)!.components.seconds * 1_000_000
                    let expected = try AggregatePropertyTests.groupBy(
                        sensor, fields: ["celsius"], bucket: step, from: from, to: to, devices: [], groupBy: groupBy, on: connection)
                    #expect(Set(got.keys) == Set(expected.keys), "\(label), group_by \(groupBy)")
                    for (key, want) in expected {
                        guard let point = got[key] else { continue }
                        let context = "\(label), group_by \(groupBy), \(key): API \(point) SQL \(want)"
                        #expect(point.count == want.count && point.min == want.min && point.max == want.max, "\(context)")
                        #expect(AggregatePropertyTests.close(point.sum, want.sum), "\(context)")
                    }
                }
            }

            try await check("first read")
            let afterFirst = cache.statistics
            #expect(afterFirst.misses == 72, "the 72 hours of days 0, 1, 2 read from PostgreSQL once: \(afterFirst)")
            try await check("second read")
            try await check("second read, daily buckets", bucket: "1d")
            #expect(cache.statistics.misses == afterFirst.misses, "nothing read again: \(cache.statistics)")
            #expect(cache.statistics.hits == afterFirst.hits + 4 * 72)

            // A late reading for a cached hour and a new device: visible at once, only that hour read again.
            _ = try writer.write(Self.batch(devices: ["dev-a", "dev-new"], from: Self.day0 * Micros.perDay + 5 * Self.hour + 7, hours: 1, value: 99))
            try await check("after a late write")
            #expect(cache.statistics.misses == afterFirst.misses + 1, "only the changed hour read again: \(cache.statistics)")

            // A rolled-back write says nothing and changes nothing.
            try? connection.transaction { (connection) throws(PGError) in
                try RollupChanges.notify(sensor: sensor.name, hours: Self.day0 * 24...Self.day0 * 24 + 23, on: connection)
                throw PGError(sqlState: nil, message: "roll back")
            }
            try await check("after a rollback")

            // Retention drops day 0 (raw partition and hourly rollups): the cache forgets the sensor's days.
            var retained = sensor
            retained.retention = Retention(raw: .seconds(86_400), rollup1m: nil, rollup1h: .seconds(90_000))
            _ = try RetentionPolicy.apply(sensor: retained, now: (Self.day0 + 2) * Micros.perDay + Self.hour, on: connection)
            try await check("after retention")

            // The listening connection dies; a write lands while it is gone: still exact.
            let killed = try connection.query(
                """
                SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND query IN ('SELECT 1', 'LISTEN telemetry_rollups')
                """)
            #expect(killed[0, 0] == "1", "the listening connection was found and terminated")
            _ = try writer.write(Self.batch(devices: ["dev-b"], from: (Self.day0 + 1) * Micros.perDay + 30 * 60_000_000, hours: 1, value: -5))
            try await check("after the listener was killed")

            // /metrics shows the same counts.
            let statistics = cache.statistics
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains("rollup_cache_hours_total{result=\"hit\"} \(statistics.hits)"), "\(metrics)")
            #expect(metrics.contains("rollup_cache_hours_total{result=\"miss\"} \(statistics.misses)"), "\(metrics)")
        }
        cache.stop()
    }

    /// The listener's connection stalls (its server process stopped): other callers are not held up
    /// behind it (no lock is held across its round trip), and a lookup gives up on the cache within its
    /// deadline and answers from PostgreSQL, exactly.
    @Test func aStalledListenerHoldsNothingUp() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let database = try servers.makeDatabase()
        let sensor = catalog.sensor("temperature")
        let connection = try PGConnection(url: database)
        try Schema.migrate(connection, catalog: catalog.catalog)
        _ = try BatchWriter(connection: connection, sensor: sensor).write(Self.batch(devices: ["dev-a", "dev-b"], from: Self.day0 * Micros.perDay, hours: 24, value: 10))
        let app = try QueryApp(database: database, catalog: catalog)
        let cache = try #require(app.store.rollupCache)
        defer { cache.stop() }
        let from = Self.day0 * Micros.perDay, to = (Self.day0 + 1) * Micros.perDay
        let uri = "/v1/sensors/\(sensor.name)/aggregates?bucket=1h&from=\(from / 1000)&to=\(to / 1000)&fn=count,min,max&group_by=device"
        try await app.application.test(.router) { client in
            let warm = try await client.execute(uri: uri, method: .get) { ($0.status, String(buffer: $0.body)) }
            #expect(warm.0 == .ok && cache.statistics.misses == 24)
            let listener = try #require(try connection.query("""
                SELECT pid FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND query IN ('SELECT 1', 'LISTEN telemetry_rollups')
                """)[0, 0].flatMap { Int32($0) })
            kill(listener, SIGSTOP)
            defer { kill(listener, SIGCONT) }
            async let stalled = client.execute(uri: uri, method: .get) { ($0.status, String(buffer: $0.body)) }
            // Once that lookup waits on the stalled listener, the cache answers others at once, another
            // lookup reads PostgreSQL without queueing behind it, and other routes are not held up.
            #expect(try await Blocking.run { try eventually(timeout: .seconds(10)) { cache.isWaitingOnListener } })
            let answered = try await Blocking.run {
                let done = DispatchSemaphore(value: 0)
                Thread { _ = cache.statistics; done.signal() }.start()
                return done.wait(timeout: .now() + 3) == .success
            }
            #expect(answered, "statistics waited behind the listener's round trip")
            let devices = try await client.execute(uri: "/v1/sensors/\(sensor.name)/devices", method: .get) { $0.status }
            #expect(devices == .ok)
            let other = try await client.execute(uri: uri, method: .get) { ($0.status, String(buffer: $0.body)) }
            #expect(other.0 == .ok && other.1 == warm.1)
            // The first lookup gives up on the cache too and reads PostgreSQL: the same answer, while the listener is still stopped.
            let result = try await stalled
            #expect(result.0 == .ok)
            #expect(result.1 == warm.1)
        }
    }

    /// At start the query service reads the last week of hourly rollups, so the first "7 days @ 1h"
    /// request is served from memory like the next ones (the whole service as `buildApplication` makes it).
    @Test func startWarmsTheLastWeek() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let database = try servers.makeDatabase()
        let sensor = catalog.sensor("temperature")
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let weekAgo = (Micros.hour(of: now) - 7 * 24) * Micros.perHour
        let connection = try PGConnection(url: database)
        try Schema.migrate(connection, catalog: catalog.catalog)
        _ = try BatchWriter(connection: connection, sensor: sensor).write(Self.batch(devices: ["dev-a", "dev-b"], from: weekAgo, hours: 7 * 24, value: 10))
        let settings = QuerySettings(databaseURL: database, port: 0, catalog: catalog.catalog)
        let app = buildApplication(settings: settings, registry: PrometheusCollectorRegistry(), logger: Logger(label: "test"))
        try await app.test(.live) { client in
            func hours(_ result: String) async throws -> Int? {
                let text = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
                return text.firstMatch(of: try Regex("rollup_cache_hours_total\\{result=\"\(result)\"\\} (\\d+)")).flatMap { Int($0.output[1].substring ?? "") }
            }
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while try await hours("miss") != 7 * 24 + 1, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
            #expect(try await hours("miss") == 7 * 24 + 1, "warmed at start: the week and the current hour")
            let uri = "/v1/sensors/\(sensor.name)/aggregates?bucket=1h&from=\(weekAgo / 1000)&to=\(Micros.hour(of: now) * Micros.perHour / 1000)&group_by=device"
            #expect(try await client.execute(uri: uri, method: .get) { $0.status } == .ok)
            #expect(try await hours("miss") == 7 * 24 + 1, "the first request read nothing from PostgreSQL")
            #expect(try await hours("hit") == 7 * 24)
        }
    }

    @Test func notificationPayloadsRoundTrip() {
        let change = RollupChanges.Change(sensor: "power_1", hours: 490_896...490_919)
        #expect(RollupChanges.parse(RollupChanges.payload(change)) == change)
        #expect(RollupChanges.parse("power_1 *") == RollupChanges.Change(sensor: "power_1", hours: nil))
        #expect(RollupChanges.parse("power_1 5 4") == nil)
        #expect(RollupChanges.parse("") == nil)
    }

    /// Readings every 20 minutes for `hours` hours from `from`, for each device.
    static func batch(devices: [String], from: Int64, hours: Int, value: Double) -> IngestBatch {
        var batch = IngestBatch(fieldCount: 1)
        for (index, device) in devices.enumerated() {
            let start = batch.readings.count
            for step in 0..<(hours * 3) {
                let row = batch.readings.appendRow(time: from + Int64(step) * 20 * 60_000_000, seq: Int64(step))
                batch.readings.set(field: 0, row: row, value + Double(index) + Double(step % 7) / 4)
            }
            batch.closeSpan(device: device, from: start)
        }
        return batch
    }
}
