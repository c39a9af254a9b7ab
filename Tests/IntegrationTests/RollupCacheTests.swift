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
/// request shows in its answer, also for days already cached, after retention, and when another
/// process's writer made it; a write still open holds no lookup up.
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

            // A rolled-back write changes nothing, its version bump included: nothing read again.
            let beforeRollback = cache.statistics.misses
            try? connection.transaction { (connection) throws(PGError) in
                try Self.bump(sensor: sensor.name, hours: Array(Self.day0 * 24...Self.day0 * 24 + 23), on: connection)
                throw PGError(sqlState: nil, message: "roll back")
            }
            try await check("after a rollback")
            #expect(cache.statistics.misses == beforeRollback, "a rolled-back bump made hours read again: \(cache.statistics)")

            // Retention drops day 0 (raw partition and hourly rollups): the cache forgets the sensor's days.
            var retained = sensor
            retained.retention = Retention(raw: .seconds(86_400), rollup1m: nil, rollup1h: .seconds(90_000))
            _ = try RetentionPolicy.apply(sensor: retained, now: (Self.day0 + 2) * Micros.perDay + Self.hour, on: connection)
            try await check("after retention")

            // Another writer (another connection, as another ingest process would be) commits into a cached hour.
            try await check("before another writer")
            let beforeOther = cache.statistics.misses
            let other = BatchWriter(connection: try PGConnection(url: database), sensor: sensor)
            _ = try other.write(Self.batch(devices: ["dev-b"], from: (Self.day0 + 1) * Micros.perDay + 30 * 60_000_000, hours: 1, value: -5))
            try await check("after another writer")
            #expect(cache.statistics.misses == beforeOther + 2, "the changed hour read again, once per group_by: \(cache.statistics)")

            // /metrics shows the same counts.
            let statistics = cache.statistics
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains("rollup_cache_hours_total{result=\"hit\"} \(statistics.hits)"), "\(metrics)")
            #expect(metrics.contains("rollup_cache_hours_total{result=\"miss\"} \(statistics.misses)"), "\(metrics)")
        }
    }

    /// A write transaction that changed an hour and has not committed holds its rows' locks: a lookup
    /// neither waits for it nor sees its change, and sees it once it commits.
    @Test func anOpenWriteHoldsNoLookupUp() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let database = try servers.makeDatabase()
        let sensor = catalog.sensor("temperature")
        let connection = try PGConnection(url: database)
        try Schema.migrate(connection, catalog: catalog.catalog)
        _ = try BatchWriter(connection: connection, sensor: sensor).write(Self.batch(devices: ["dev-a", "dev-b"], from: Self.day0 * Micros.perDay, hours: 24, value: 10))
        let app = try QueryApp(database: database, catalog: catalog)
        let cache = try #require(app.store.rollupCache)
        let from = Self.day0 * Micros.perDay, to = (Self.day0 + 1) * Micros.perDay
        let uri = "/v1/sensors/\(sensor.name)/aggregates?bucket=1h&from=\(from / 1000)&to=\(to / 1000)&fn=count,min,max&group_by=device"
        try await app.application.test(.router) { client in
            let warm = try await client.execute(uri: uri, method: .get) { ($0.status, String(buffer: $0.body)) }
            #expect(warm.0 == .ok && cache.statistics.misses == 24)
            let open = try PGConnection(url: database)
            try open.execute("BEGIN")
            _ = try open.execute("UPDATE \(SensorTables(sensor).rollup1h) SET celsius_max = 1000 WHERE bucket = timestamptz 'epoch' + \(from) * interval '1 microsecond'")
            try Self.bump(sensor: sensor.name, hours: [Self.day0 * 24], on: open)
            let started = ContinuousClock.now
            let during = try await client.execute(uri: uri, method: .get) { ($0.status, String(buffer: $0.body)) }
            #expect(ContinuousClock.now - started < .seconds(5), "the lookup waited for the open write")
            #expect(during.0 == .ok && during.1 == warm.1, "an uncommitted change was served")
            #expect(cache.statistics.misses == 24, "nothing read again: nothing committed")
            try open.execute("COMMIT")
            let after = try await client.execute(uri: uri, method: .get) { ($0.status, String(buffer: $0.body)) }
            #expect(after.0 == .ok && after.1 != warm.1 && after.1.contains("1000"), "the committed change was not served: \(after.1)")
            #expect(cache.statistics.misses == 25, "only the changed hour read again")
        }
    }

    /// Each commit that bumps an hour changes its fingerprint, whichever connection (shard) made it, a
    /// rollback does not, and retention's bump changes every hour's.
    @Test func fingerprintsChangeWithEveryCommitAndOnlyThen() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let database = try servers.makeDatabase()
        let connections = try (0..<3).map { _ in try PGConnection(url: database) }
        try Schema.migrate(connections[0], catalog: catalog.catalog)
        let hours: ClosedRange<Int64> = 100...102
        let initial = try RollupVersions.fingerprints(sensor: "temperature", hours: hours, on: connections[0])
        var seen: [String] = [initial[101]]
        for round in 0..<6 {
            let writer = connections[round % 3]
            try writer.transaction { (connection) throws(PGError) in try Self.bump(sensor: "temperature", hours: [101], on: connection) }
            let now = try RollupVersions.fingerprints(sensor: "temperature", hours: hours, on: connections[0])
            #expect(!seen.contains(now[101]), "round \(round): \(now[101]) seen before")
            seen.append(now[101])
            #expect(now[100] == initial[100] && now[102] == initial[102], "untouched hours stay")
        }
        let before = try RollupVersions.fingerprints(sensor: "temperature", hours: hours, on: connections[0])
        try? connections[1].transaction { (connection) throws(PGError) in
            try Self.bump(sensor: "temperature", hours: [100, 101, 102], on: connection)
            throw PGError(sqlState: nil, message: "roll back")
        }
        let afterRollback = try RollupVersions.fingerprints(sensor: "temperature", hours: hours, on: connections[0])
        #expect(hours.allSatisfy { afterRollback[$0] == before[$0] })
        #expect(try RollupVersions.fingerprints(sensor: "other", hours: hours, on: connections[0])[101] != before[101], "another sensor type's hour")
        try connections[2].transaction { (connection) throws(PGError) in
            try RollupVersions.bumpAll(sensor: "temperature", forgettingThrough: 101, on: connection)
        }
        let afterRetention = try RollupVersions.fingerprints(sensor: "temperature", hours: hours, on: connections[0])
        #expect(hours.allSatisfy { afterRetention[$0] != before[$0] })
        let left = try connections[0].query("SELECT count(*) FROM rollup_versions WHERE hour <> \(RollupVersions.anyHour)")
        #expect(left[0, 0] == "0", "hour 101's rows are forgotten with its rollups")
    }

    /// What a writer's transaction does to `hours`' versions.
    static func bump(sensor: String, hours: [Int64], on connection: PGConnection) throws(PGError) {
        _ = try connection.execute("WITH \(RollupVersions.cte(sensor: sensor, hours: "'\(SQLText.array(hours))'")) SELECT 1")
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

    @Test func readingChangePayloadsRoundTrip() {
        let change = ReadingChanges.Change(sensor: "power_1", last: 1_767_225_600_000_000, deviceIDs: [3, 7, 12])
        #expect(ReadingChanges.parse(ReadingChanges.payload(change)) == change)
        let any = ReadingChanges.Change(sensor: "power_1", last: -5, deviceIDs: nil)
        #expect(ReadingChanges.parse(ReadingChanges.payload(any)) == any)
        let many = ReadingChanges.Change(sensor: "power_1", last: 1, deviceIDs: Array(0..<5000))
        #expect(ReadingChanges.payload(many).hasSuffix(" *"), "too many devices for one NOTIFY: any device")
        #expect(ReadingChanges.parse("power_1 5") == nil)
        #expect(ReadingChanges.parse("power_1 5 1,x") == nil)
        #expect(ReadingChanges.announcement(ReadingChanges.Change(sensor: "it's", last: 1, deviceIDs: nil)).contains("'it''s 1 *'"))
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
