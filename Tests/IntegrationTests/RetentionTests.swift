import Foundation
import Hummingbird
import HummingbirdTesting
import Postgres
import QueryService
import SensorModel
import StorageCore
import StorageOperations
import StorageWriter
import Testing

/// Retention drops exactly the raw partitions whose whole day is older than the setting, deletes rollup
/// rows older than theirs, leaves the rest answering over REST, and late data for a dropped day still lands.
@Suite(.timeLimit(.minutes(5)))
struct RetentionTests {
    static let now: Int64 = 1_773_576_000_000_000  // 2026-03-15T12:00:00Z
    static let hour: Int64 = 3_600_000_000

    @Test func dropsWholeOldDaysAndKeepsTheRest() async throws {
        let servers = try TestServers.require()
        let testCatalog = try TestCatalog.make(from: ["temperature"])
        let database = try servers.makeDatabase()
        var sensor = testCatalog.sensor("temperature")
        sensor.retention = Retention(raw: .seconds(10 * 86_400), rollup1m: .seconds(12 * 86_400), rollup1h: nil)
        let connection = try PGConnection(url: database)
        try Schema.migrate(connection, catalog: testCatalog.catalog)
        let writer = BatchWriter(connection: connection, sensor: sensor)

        // Days today-15 ... today, two devices, one reading at 06:00 each day.
        let today = Micros.day(of: Self.now)
        let days = Array((today - 15)...today)
        var batch = IngestBatch(fieldCount: 1)
        for device in ["dev-a", "dev-b"] {
            let start = batch.readings.count
            for day in days {
                let row = batch.readings.appendRow(time: day * Micros.perDay + 6 * Self.hour, seq: day)
                batch.readings.set(field: 0, row: row, Double(day % 50))
            }
            batch.closeSpan(device: device, from: start)
        }
        _ = try writer.write(batch)
        let tables = SensorTables(sensor)
        #expect(try RetentionPolicy.partitionDays(tables, on: connection).map(\.day) == days)

        let outcome = try RetentionPolicy.apply(sensor: sensor, now: Self.now, on: connection)
        // The cutoff is 2026-03-05T12:00Z: 03-04 ended before it and goes, 03-05 straddles it and stays.
        let cutoffDay = Micros.day(of: Self.now - 10 * Micros.perDay)
        let dropped = days.filter { $0 < cutoffDay }, kept = days.filter { $0 >= cutoffDay }
        #expect(dropped.count == 5)
        #expect(outcome.droppedPartitions == dropped.map { "\(sensor.name)_p\(CivilDate(daysSinceEpoch: $0).compact)" })
        #expect(try RetentionPolicy.partitionDays(tables, on: connection).map(\.day) == kept)
        #expect(try connection.query("SELECT count(*) FROM \(tables.readings)")[0, 0] == String(2 * kept.count))
        // 1m rollup: buckets that ended by now - 12 d (03-03 12:00) are gone, i.e. days up to 03-03 06:00.
        let rollupCutoffDay = Micros.day(of: Self.now - 12 * Micros.perDay)
        let rollupKept = days.filter { $0 > rollupCutoffDay }.count
        #expect(outcome.deletedRollup1m == 2 * (days.count - rollupKept))
        #expect(try connection.query("SELECT count(*) FROM \(tables.rollup1m)")[0, 0] == String(2 * rollupKept))
        #expect(outcome.deletedRollup1h == 0)
        #expect(try connection.query("SELECT count(*) FROM \(tables.rollup1h)")[0, 0] == String(2 * days.count))

        // A second run finds nothing more to do.
        #expect(try RetentionPolicy.apply(sensor: sensor, now: Self.now, on: connection).isEmpty)

        // REST answers for what is kept: raw readings only from kept days; hourly aggregates still cover
        // dropped days (the 1h rollup is kept for ever here).
        let app = try QueryApp(database: database, catalog: testCatalog)
        let name = sensor.name
        try await app.application.test(.router) { client in
            let from = days[0] * Micros.perDay / 1000, to = (today + 1) * Micros.perDay / 1000
            let readings = try await client.execute(
                uri: "/v1/sensors/\(name)/devices/dev-a/readings?from=\(from)&to=\(to)", method: .get) {
                    try JSONSerialization.jsonObject(with: Data(buffer: $0.body)) as? [String: Any] ?? [:]
                }
            let times = (readings["readings"] as? [[String: Any]] ?? []).compactMap { $0["time"] as? String }
            #expect(times == kept.map { "\(CivilDate(daysSinceEpoch: $0).iso)T06:00:00.000000Z" })
            let aggregates = try await client.execute(
                uri: "/v1/sensors/\(name)/aggregates?bucket=1h&fn=count&from=\(from)&to=\(to)", method: .get) {
                    try JSONDecoder().decode(AggregateResponse.self, from: Data(buffer: $0.body))
                }
            #expect(aggregates.series.first?.points.map(\.count) == days.map { _ in 2 })
        }

        // Late data for a dropped day: the writer's partition cache still holds that day, the partition is
        // gone; the write must recreate it and land.
        var late = IngestBatch(fieldCount: 1)
        let row = late.readings.appendRow(time: dropped[1] * Micros.perDay + 7 * Self.hour, seq: 1)
        late.readings.set(field: 0, row: row, 21.5)
        late.closeSpan(device: "dev-a", from: 0)
        #expect(try writer.write(late).inserted == 1)
        #expect(try RetentionPolicy.partitionDays(tables, on: connection).map(\.day) == [dropped[1]] + kept)
        // And the next run drops it again.
        let again = try RetentionPolicy.apply(sensor: sensor, now: Self.now, on: connection)
        #expect(again.droppedPartitions == ["\(sensor.name)_p\(CivilDate(daysSinceEpoch: dropped[1]).compact)"])
    }

    @Test func scheduleRunsTheWholeCatalog() async throws {
        let servers = try TestServers.require()
        let testCatalog = try TestCatalog.make(from: ["temperature", "humidity"])
        let database = try servers.makeDatabase()
        let connection = try PGConnection(url: database)
        try Schema.migrate(connection, catalog: testCatalog.catalog)
        var sensors = testCatalog.catalog.sensors
        for index in sensors.indices { sensors[index].retention = Retention(raw: .seconds(86_400)) }
        let catalog = try Catalog(sensors: sensors)
        for sensor in sensors {
            try Partitions(sensor: sensor).ensure(days: [Micros.day(of: Self.now) - 3, Micros.day(of: Self.now)], on: connection)
        }
        let pass = try await RetentionSchedule.runOnce(databaseURL: database, catalog: catalog, now: Self.now)
        #expect(pass.outcomes.map(\.droppedPartitions.count) == [1, 1])
        for sensor in sensors {
            #expect(try RetentionPolicy.partitionDays(SensorTables(sensor), on: connection).map(\.day) == [Micros.day(of: Self.now)])
        }
    }
}
