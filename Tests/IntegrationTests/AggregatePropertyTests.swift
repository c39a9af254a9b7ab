import DeviceEmulator
import Foundation
import Hummingbird
import HummingbirdTesting
import Postgres
import SensorModel
import StorageCore
import StorageOperations
import StorageWriter
import Synchronization
import Testing

/// Aggregates over REST equal a SQL GROUP BY over the raw rows, for random data and random queries: on the
/// heap, and again once every hour is compacted into blocks (docs/storage.md).
@Suite(.timeLimit(.minutes(10)))
struct AggregatePropertyTests {
    static let seed: UInt64 = ProcessInfo.processInfo.environment["AGGREGATE_SEED"].flatMap { UInt64($0) } ?? 0x5EED_2026
    static let base: Int64 = 1_767_225_600_000_000 - 2 * Micros.perDay  // 2025-12-30T00:00:00Z
    static let span: Int64 = 4 * Micros.perDay

    @Test func aggregatesEqualGroupByOverRawRows() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["power"])
        let database = try servers.makeDatabase()
        let sensor = catalog.sensor("power")
        var random = SplitMix64(seed: Self.seed)
        let connection = try PGConnection(url: database)
        try Schema.migrate(connection, catalog: catalog.catalog)
        let writer = BatchWriter(connection: connection, sensor: sensor)

        // Readings: random devices and times over four days (so five partitions), many on or next to
        // bucket edges, fields missing at random; earlier batches re-sent later as duplicates. Values of
        // every kind the block codec stores (`value(in:device:)`).
        let devices = (0..<7).map { "dev-\($0)" }
        var sent: [IngestBatch] = []
        var used = Set<String>()
        for _ in 0..<30 {
            var batch = IngestBatch(fieldCount: sensor.fields.count)
            for device in devices.shuffled(using: &random).prefix(Int.random(in: 1...5, using: &random)) {
                let start = batch.readings.count
                for _ in 0..<Int.random(in: 1...40, using: &random) {
                    let time = Self.randomTime(&random)
                    guard used.insert("\(device)@\(time)").inserted else { continue }
                    let row = batch.readings.appendRow(time: time, seq: Int64.random(in: 0...1000, using: &random))
                    for (field, spec) in sensor.fields.enumerated() where Double.random(in: 0..<1, using: &random) > 0.25 {
                        batch.readings.set(field: field, row: row, Self.value(in: spec.min...spec.max, device: device, using: &random))
                    }
                }
                batch.closeSpan(device: device, from: start)
            }
            sent.append(batch)
            _ = try writer.write(batch)
            if Int.random(in: 0..<4, using: &random) == 0 {
                let outcome = try writer.write(sent.randomElement(using: &random)!)
                #expect(outcome.inserted == 0)
            }
        }
        try RollupCheck.expectRollupsEqualRaw(sensor, on: connection)

        // The cases and their reference answers, from the raw rows while they are still heap rows.
        let buckets = ["7s", "1m", "5m", "1h", "90m", "1d", "15m", "2h"]
        let functions = ["count", "sum", "avg", "min", "max"]
        var cases: [Case] = []
        for caseNumber in 0..<150 {
            // A third of the cases: whole hours with hour-multiple buckets, the cases the rollup cache answers.
            let cached = Int.random(in: 0..<3, using: &random) == 0
            let bucket = cached ? ["1h", "2h", "1d", "3h"].randomElement(using: &random)! : buckets.randomElement(using: &random)!
            var from = Self.randomTime(&random) - Int64.random(in: 0...Micros.perDay, using: &random)
            var to = Self.randomTime(&random) + Int64.random(in: 0...Micros.perDay, using: &random)
            if from > to { swap(&from, &to) }
            let step = DurationText.parse(bucket)!.components.seconds * 1_000_000
            if cached {
                from = from / 3_600_000_000 * 3_600_000_000
                to = to / 3_600_000_000 * 3_600_000_000
            } else if Int.random(in: 0..<4, using: &random) == 0 {
                // Whole buckets: the path that reads rollup rows directly, without raw edges.
                from = from / step * step
                to = to / step * step
            }
            if from >= to { to = from + step }
            let fns = functions.filter { _ in Bool.random(using: &random) }
            let chosen = Bool.random(using: &random) ? [] : devices.filter { _ in Bool.random(using: &random) }
            let groupBy = Bool.random(using: &random)
            let field = Int.random(in: 0..<3, using: &random) == 0 ? sensor.fields.randomElement(using: &random)!.name : nil
            var uri = "/v1/sensors/\(sensor.name)/aggregates?bucket=\(bucket)&from=\(Self.text(from))&to=\(Self.text(to))"
            if !fns.isEmpty { uri += "&fn=" + fns.joined(separator: ",") }
            for device in chosen { uri += "&device=\(device)" }
            if groupBy { uri += "&group_by=device" }
            if let field { uri += "&field=\(field)" }
            let expected = try Self.groupBy(
                sensor, fields: field.map { [$0] } ?? sensor.fields.map(\.name), bucket: step,
                from: from, to: to, devices: chosen, groupBy: groupBy, on: connection)
            cases.append(Case(
                uri: uri, failure: "case \(caseNumber) (seed \(Self.seed)): GET \(uri)", expected: expected,
                shown: Set(fns.isEmpty ? ["count", "avg", "min", "max"] : fns), groupBy: groupBy))
        }

        try await Self.expectAnswers(cases, database: database, catalog: catalog, stage: "heap")
        // Every hour compacted: the raw edges come from blocks now; the answers stay the same.
        let outcome = try Compaction.run(sensor: sensor, now: Self.base + Self.span + 2 * Micros.perDay, after: .zero, on: connection)
        #expect(outcome.readings > 0 && outcome.damaged.isEmpty, "\(outcome)")
        #expect(try connection.query("SELECT count(*) FROM \"\(sensor.name)\"")[0, 0] == "0", "heap rows left after compaction")
        try await Self.expectAnswers(cases, database: database, catalog: catalog, stage: "compacted")
    }

    struct Case {
        var uri: String
        var failure: String
        var expected: [String: (count: Int64, sum: Double, min: Double, max: Double)]
        var shown: Set<String>
        var groupBy: Bool
    }

    /// Each case's answer from a query service of its own (a cold rollup cache) against its reference.
    static func expectAnswers(_ cases: [Case], database: String, catalog: TestCatalog, stage: String) async throws {
        let app = try QueryApp(database: database, catalog: catalog)
        let cache = app.store.rollupCache!
        try await app.application.test(.router) { client in
            var compared = 0
            for item in cases {
                let failure = "\(stage): \(item.failure)"
                let response = try await client.execute(uri: item.uri, method: .get) { ($0.status, Data(buffer: $0.body)) }
                #expect(response.0 == .ok, "\(failure): \(String(decoding: response.1, as: UTF8.self))")
                guard response.0 == .ok else { return }
                let api = try JSONDecoder().decode(AggregateResponse.self, from: response.1)
                var got: [String: AggregateResponse.Point] = [:]
                for series in api.series {
                    #expect((series.device == nil) != item.groupBy, "\(failure): series device \(series.device ?? "null")")
                    for point in series.points { got["\(series.device ?? "-") \(series.field) \(point.time)"] = point }
                }
                #expect(Set(got.keys) == Set(item.expected.keys),
                        "\(failure): buckets only in API \(Set(got.keys).subtracting(item.expected.keys).sorted().prefix(5)), only in SQL \(Set(item.expected.keys).subtracting(got.keys).sorted().prefix(5))")
                for (key, want) in item.expected {
                    guard let point = got[key] else { continue }
                    compared += 1
                    let where_ = "\(failure) at \(key): API \(point) SQL \(want)"
                    if item.shown.contains("count") { #expect(point.count == want.count, "\(where_)") }
                    if item.shown.contains("min") { #expect(point.min == want.min, "\(where_)") }
                    if item.shown.contains("max") { #expect(point.max == want.max, "\(where_)") }
                    if item.shown.contains("sum") { #expect(Self.close(point.sum, want.sum), "\(where_)") }
                    if item.shown.contains("avg") { #expect(Self.close(point.avg, want.sum / Double(want.count)), "\(where_)") }
                    for name in ["count", "sum", "avg", "min", "max"] where !item.shown.contains(name) {
                        #expect(point.value(name) == nil, "\(where_): \(name) not asked for")
                    }
                }
            }
            // Guards the test itself: the random cases must reach many non-empty buckets, and the cache.
            #expect(compared > 5000, "\(stage): only \(compared) buckets compared")
            let cacheUse = cache.statistics
            #expect(cacheUse.hits > 20 && cacheUse.misses > 0, "\(stage): rollup cache \(cacheUse)")
        }
    }

    /// Two writers on one sensor type, overlapping devices and rollup buckets, committing at once:
    /// no deadlock (keys are locked in sorted order), nothing lost, rollups still equal the raw rows.
    @Test func concurrentWritersOnOverlappingDevicesNeitherDeadlockNorLose() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let database = try servers.makeDatabase()
        let sensor = catalog.sensor("temperature")
        try Schema.migrate(try PGConnection(url: database), catalog: catalog.catalog)
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { writerIndex in
            do {
                let writer = BatchWriter(connection: try PGConnection(url: database), sensor: sensor)
                for round in 0..<40 {
                    var batch = IngestBatch(fieldCount: 1)
                    // Writer 0 goes through devices upward, writer 1 downward: opposite orders in the input.
                    for deviceIndex in (writerIndex == 0 ? Array(0..<20) : Array((0..<20).reversed())) {
                        let start = batch.readings.count
                        for sample in 0..<10 {
                            let time = Self.base + Int64(round) * 1_000_000 + Int64(sample * 2 + writerIndex) * 1000
                            let row = batch.readings.appendRow(time: time, seq: Int64(round))
                            batch.readings.set(field: 0, row: row, Double(deviceIndex) + Double(sample) / 8)
                        }
                        batch.closeSpan(device: "dev-\(deviceIndex)", from: start)
                    }
                    _ = try writer.write(batch)
                }
            } catch {
                failures.withLock { $0.append("writer \(writerIndex): \(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let connection = try PGConnection(url: database)
        #expect(try connection.query("SELECT count(*) FROM \"\(sensor.name)\"")[0, 0] == String(2 * 40 * 20 * 10))
        try RollupCheck.expectRollupsEqualRaw(sensor, on: connection)
    }

    /// A device's values as one kind of sensor sends them, so compacted blocks hold every column kind:
    /// any double (XOR), decimals of one digit, float32 of decimals, float32 of anything (its bit patterns).
    static func value(in range: ClosedRange<Double>, device: String, using random: inout SplitMix64) -> Double {
        let any = Double.random(in: range, using: &random)
        let value: Double = switch Int(device.split(separator: "-").last!)! % 4 {
        case 0: any
        case 1: (any * 10).rounded() / 10
        case 2: Double(Float((any * 10).rounded() / 10))
        default: Double(Float(any))
        }
        return min(max(value, range.lowerBound), range.upperBound)
    }

    /// Half the times anywhere, half within a few microseconds of a minute, hour or day edge.
    static func randomTime(_ random: inout SplitMix64) -> Int64 {
        if Bool.random(using: &random) { return base + Int64.random(in: 0..<span, using: &random) }
        let step = [60_000_000, 3_600_000_000, Micros.perDay, 5_400_000_000].randomElement(using: &random)!
        let edge = base + Int64.random(in: 1..<(span / step), using: &random) * step
        return edge + Int64.random(in: -2...2, using: &random)
    }

    /// Epoch milliseconds when whole, else RFC 3339 with microseconds: both forms get exercised.
    static func text(_ micros: Int64) -> String {
        let date = Date(timeIntervalSince1970: Double(micros / 1_000_000))
        var components = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
        components.nanosecond = 0
        if micros % 1000 == 0 { return String(micros / 1000) }
        let fraction = String(micros % 1_000_000)
        return String(format: "%04ld-%02ld-%02ldT%02ld:%02ld:%02ld.", components.year!, components.month!, components.day!,
                      components.hour!, components.minute!, components.second!) + String(repeating: "0", count: 6 - fraction.count) + fraction + "Z"
    }

    static func close(_ a: Double?, _ b: Double) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b)) + 1e-12
    }

    /// The reference: date_bin over raw rows, one GROUP BY per field.
    static func groupBy(
        _ sensor: SensorType, fields: [String], bucket: Int64, from: Int64, to: Int64, devices: [String], groupBy: Bool, on connection: PGConnection
    ) throws -> [String: (count: Int64, sum: Double, min: Double, max: Double)] {
        var expected: [String: (count: Int64, sum: Double, min: Double, max: Double)] = [:]
        let ids = devices.isEmpty ? nil : "{" + devices.map { "\"\($0)\"" }.joined(separator: ",") + "}"
        for field in fields {
            let result = try connection.query("""
                SELECT \(groupBy ? "d.device" : "'-'"), to_char(date_bin($3::int8 * interval '1 microsecond', r.time, timestamptz 'epoch') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                       count(r."\(field)"), sum(r."\(field)"), min(r."\(field)"), max(r."\(field)")
                FROM "\(sensor.name)" r JOIN devices d ON d.id = r.device_id AND d.sensor = $5
                WHERE r.time >= timestamptz 'epoch' + $1::int8 * interval '1 microsecond' AND r.time < timestamptz 'epoch' + $2::int8 * interval '1 microsecond'
                  AND ($4::text[] IS NULL OR d.device = ANY($4::text[]))
                GROUP BY 1, 2 HAVING count(r."\(field)") > 0
                """, [String(from), String(to), String(bucket), ids, sensor.name])
            for row in result.rows {
                expected["\(row[0]!) \(field) \(row[1]!)"] = (Int64(row[2]!)!, Double(row[3]!)!, Double(row[4]!)!, Double(row[5]!)!)
            }
        }
        return expected
    }
}

struct AggregateResponse: Decodable {
    struct Point: Decodable, CustomStringConvertible {
        var time: String
        var count: Int64?
        var sum: Double?
        var avg: Double?
        var min: Double?
        var max: Double?
        func value(_ name: String) -> Double? {
            switch name {
            case "count": count.map(Double.init)
            case "sum": sum
            case "avg": avg
            case "min": min
            default: max
            }
        }
        var description: String { "count \(count.map(String.init) ?? "-") sum \(sum ?? .nan) avg \(avg ?? .nan) min \(min ?? .nan) max \(max ?? .nan)" }
    }
    struct Series: Decodable {
        var device: String?
        var field: String
        var points: [Point]
    }
    var series: [Series]
}

/// Rollup tables equal a GROUP BY over the raw rows, cell for cell.
enum RollupCheck {
    static func expectRollupsEqualRaw(_ sensor: SensorType, on connection: PGConnection, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let tables = SensorTables(sensor)
        for resolution in RollupResolution.allCases {
            let raw = sensor.fields.map { field in
                let column = tables.quoted(field.name)
                return "count(\(column)) AS \(tables.column(field.name, "count")), sum(\(column)) AS \(tables.column(field.name, "sum")), min(\(column)) AS \(tables.column(field.name, "min")), max(\(column)) AS \(tables.column(field.name, "max"))"
            }.joined(separator: ", ")
            let columns = sensor.fields.flatMap { field in ["count", "min", "max"].map { tables.column(field.name, $0) } }.joined(separator: ", ")
            let sums = sensor.fields.map { tables.column($0.name, "sum") }
            let sumsDiffer = sums.map { "abs(coalesce(a.\($0), 0) - coalesce(b.\($0), 0)) > 1e-9 * greatest(abs(coalesce(a.\($0), 0)), 1)" }.joined(separator: " OR ")
            let result = try connection.query("""
                WITH a AS (SELECT device_id, date_trunc('\(resolution.truncUnit)', time) AS bucket, \(raw) FROM \(tables.readings) GROUP BY 1, 2),
                     b AS (SELECT * FROM \(tables.rollup(resolution)))
                SELECT count(*) FROM a FULL JOIN b USING (device_id, bucket)
                WHERE a.device_id IS NULL OR b.device_id IS NULL OR (\(sumsDiffer))
                   OR ROW(\(columns.split(separator: ",").map { "a.\($0.trimmingCharacters(in: .whitespaces))" }.joined(separator: ", ")))
                      IS DISTINCT FROM ROW(\(columns.split(separator: ",").map { "b.\($0.trimmingCharacters(in: .whitespaces))" }.joined(separator: ", ")))
                """)
            #expect(result[0, 0] == "0", "\(tables.rollup(resolution)): \(result[0, 0] ?? "?") buckets differ from GROUP BY over raw rows", sourceLocation: sourceLocation)
        }
    }
}
