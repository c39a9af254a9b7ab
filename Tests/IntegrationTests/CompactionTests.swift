import DeviceEmulator
import Foundation
import Hummingbird
import HummingbirdTesting
import Postgres
import SensorModel
import StorageCore
import StorageOperations
import StorageReader
import StorageWriter
import Synchronization
import Testing

/// Compaction (docs/storage.md) changes what readings cost, never what the API answers: every answer of a
/// compacted database equals, byte for byte, the answer of a database that holds the same readings and
/// was never compacted; replays and late readings across the boundary are stored once; a compactor killed
/// mid-transaction loses and doubles nothing.
@Suite(.timeLimit(.minutes(10)))
struct CompactionTests {
    static let base = AggregatePropertyTests.base
    static let span = AggregatePropertyTests.span
    static let after: Duration = .seconds(7200)

    /// Random readings (values multiples of 1/16, so sums are exact whatever the order of addition: the
    /// comparison is bit for bit), fields missing at random, seq present or not.
    static func batches(_ sensor: SensorType, devices: [String], count: Int, random: inout SplitMix64, used: inout Set<String>) -> [IngestBatch] {
        (0..<count).map { _ in
            var batch = IngestBatch(fieldCount: sensor.fields.count)
            for device in devices.shuffled(using: &random).prefix(Int.random(in: 1...devices.count, using: &random)) {
                let start = batch.readings.count
                for _ in 0..<Int.random(in: 1...60, using: &random) {
                    let time = AggregatePropertyTests.randomTime(&random)
                    guard used.insert("\(device)@\(time)").inserted else { continue }
                    let seq = Bool.random(using: &random) ? Int64.random(in: 0...1_000_000, using: &random) : ReadingBatch.noSeq
                    let row = batch.readings.appendRow(time: time, seq: seq)
                    for (field, spec) in sensor.fields.enumerated() where Double.random(in: 0..<1, using: &random) > 0.2 {
                        let sixteenths = Int64.random(in: Int64(spec.min * 16)...Int64(min(spec.max, 1e6) * 16), using: &random)
                        batch.readings.set(field: field, row: row, Double(sixteenths) / 16)
                    }
                }
                batch.closeSpan(device: device, from: start)
            }
            return batch
        }
    }

    /// Random requests over the data: raw readings in both orders followed page by page through their
    /// cursors, CSV exports, each device's latest reading, aggregates of every bucket kind.
    static func requests(_ sensor: SensorType, devices: [String], random: inout SplitMix64) -> [(uri: String, pages: Bool)] {
        var requests: [(String, Bool)] = devices.map { ("/v1/sensors/\(sensor.name)/devices/\($0)/latest", false) }
        for _ in 0..<60 {
            var from = AggregatePropertyTests.randomTime(&random) - Int64.random(in: 0...Micros.perDay, using: &random)
            var to = AggregatePropertyTests.randomTime(&random) + Int64.random(in: 0...Micros.perDay, using: &random)
            if from > to { swap(&from, &to) }
            let range = "from=\(AggregatePropertyTests.text(from))&to=\(AggregatePropertyTests.text(to))"
            let device = devices.randomElement(using: &random)!
            let order = Bool.random(using: &random) ? "asc" : "desc"
            requests.append(("/v1/sensors/\(sensor.name)/devices/\(device)/readings?\(range)&order=\(order)&limit=\(Int.random(in: 1...400, using: &random))", true))
            requests.append(("/v1/sensors/\(sensor.name)/devices/\(device)/readings?\(range)&order=\(order)&format=csv", false))
            let bucket = ["7s", "1m", "5m", "1h", "90m", "1d", "15m", "2h"].randomElement(using: &random)!
            var uri = "/v1/sensors/\(sensor.name)/aggregates?bucket=\(bucket)&\(range)&fn=count,sum,min,max"
            for chosen in devices where Int.random(in: 0..<3, using: &random) == 0 { uri += "&device=\(chosen)" }
            if Bool.random(using: &random) { uri += "&group_by=device" }
            requests.append((uri, false))
        }
        return requests
    }

    /// Every request's body (and status), pages followed through `next`.
    static func answers(_ requests: [(uri: String, pages: Bool)], database: String, catalog: TestCatalog) async throws -> [String] {
        let app = try QueryApp(database: database, catalog: catalog)
        return try await app.application.test(.router) { client in
            var bodies: [String] = []
            for request in requests {
                var uri = request.uri
                var body = ""
                for _ in 0..<200 {
                    let (status, data) = try await client.execute(uri: uri, method: .get) { ($0.status, Data(buffer: $0.body)) }
                    let text = String(decoding: data, as: UTF8.self)
                    body += "\(status.code) \(text)\n"
                    guard request.pages, status == .ok,
                          let next = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["next"] as? String else { break }
                    uri = request.uri + "&cursor=\(next)"
                }
                bodies.append(body)
            }
            return bodies
        }
    }

    static func expectSameAnswers(_ got: [String], _ want: [String], _ requests: [(uri: String, pages: Bool)], _ what: String) {
        #expect(got.count == want.count)
        var differ = 0
        for index in want.indices where got[index] != want[index] {
            differ += 1
            if differ <= 3 { Issue.record("\(what): GET \(requests[index].uri)\ncompacted: \(got[index].prefix(600))\nreference: \(want[index].prefix(600))") }
        }
        #expect(differ == 0, "\(what): \(differ) of \(want.count) answers differ")
    }

    static func rowCounts(_ sensor: SensorType, on connection: PGConnection) throws -> (heap: Int, compacted: Int, blocks: Int) {
        let tables = SensorTables(sensor)
        let heap = Int(try connection.query("SELECT count(*) FROM \(tables.readings)")[0, 0]!)!
        let blocks = try connection.query("SELECT count(*), coalesce(sum(count), 0) FROM \(tables.blocks)")
        return (heap, Int(blocks[0, 1]!)!, Int(blocks[0, 0]!)!)
    }

    @Test func compactedAnswersEqualUncompactedOnesBitForBit() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["power"])
        let sensor = catalog.sensor("power")
        let compacted = try servers.makeDatabase(), reference = try servers.makeDatabase()
        var connections: [PGConnection] = []
        var writers: [BatchWriter] = []
        for database in [compacted, reference] {
            let connection = try PGConnection(url: database)
            try Schema.migrate(connection, catalog: catalog.catalog)
            connections.append(connection)
            writers.append(BatchWriter(connection: connection, sensor: sensor))
        }
        var random = SplitMix64(seed: 0xC0_4AC7)
        var used = Set<String>()
        let devices = (0..<6).map { "dev-\($0)" }
        let data = Self.batches(sensor, devices: devices, count: 30, random: &random, used: &used)
        for batch in data { for writer in writers { _ = try writer.write(batch) } }
        let requests = Self.requests(sensor, devices: devices, random: &random)
        let want = try await Self.answers(requests, database: reference, catalog: catalog)
        #expect(want.filter { $0.hasPrefix("200 ") }.count == want.count, "every reference request answers 200")

        // Half the range compacted, then all of it: the boundary runs through pages, cursors and buckets.
        var outcome = try Compaction.run(sensor: sensor, now: Self.base + Self.span / 2, after: Self.after, on: connections[0])
        #expect(outcome.readings > 0 && !outcome.skipped)
        var counts = try Self.rowCounts(sensor, on: connections[0])
        #expect(counts.heap > 0 && counts.compacted > 0, "half compacted: \(counts)")
        Self.expectSameAnswers(try await Self.answers(requests, database: compacted, catalog: catalog), want, requests, "half compacted")

        outcome = try Compaction.run(sensor: sensor, now: Self.base + Self.span + 3 * Micros.perHour, after: Self.after, on: connections[0])
        counts = try Self.rowCounts(sensor, on: connections[0])
        #expect(counts.heap == 0, "all compacted: \(counts)")
        #expect(counts.heap + counts.compacted == data.reduce(0) { $0 + $1.readings.count })
        #expect(!outcome.droppedPartitions.isEmpty, "emptied partitions are dropped")
        Self.expectSameAnswers(try await Self.answers(requests, database: compacted, catalog: catalog), want, requests, "compacted")

        // Late readings into compacted hours and replays of compacted ones, through the same writer (its
        // horizon is stale: the guard makes it read it again): the late ones stored once, the replays not at
        // all, rollups counting each reading once.
        let late = Self.batches(sensor, devices: devices, count: 5, random: &random, used: &used)
        for batch in late {
            let stored = try writers[0].write(batch)
            #expect(stored.inserted == batch.readings.count)
            _ = try writers[1].write(batch)
        }
        for batch in data.prefix(10) + late.prefix(2) {
            let replay = try writers[0].write(batch)
            #expect(replay.inserted == 0 && replay.duplicates == batch.readings.count)
        }
        // Batches that mix the three: new readings after the horizon (the fast path), late ones and replays of
        // compacted ones (the staging path, in the same transaction): each stored once, the replays not at all.
        for index in 0..<3 {
            let late = Self.batches(sensor, devices: devices, count: 1, random: &random, used: &used)[0]
            let replay = data[10 + index]
            var mixed = IngestBatch(fieldCount: sensor.fields.count)
            var fresh = 0
            for device in devices {
                let start = mixed.readings.count
                for source in [late, replay] {
                    for span in source.spans where span.device == device {
                        for row in span.rows {
                            let new = mixed.readings.appendRow(time: source.readings.times[row], seq: source.readings.seqs[row])
                            for field in sensor.fields.indices { mixed.readings.set(field: field, row: new, source.readings.values[field][row]) }
                        }
                    }
                }
                for minute in 0..<Int.random(in: 0...3, using: &random) {
                    let time = Self.base + Self.span + 4 * Micros.perHour + Int64(index * 10 + minute) * 60_000_000
                    let new = mixed.readings.appendRow(time: time, seq: Int64(minute))
                    mixed.readings.set(field: 0, row: new, Double(minute) / 16)
                    fresh += 1
                }
                mixed.closeSpan(device: device, from: start)
            }
            let stored = try writers[0].write(mixed)
            #expect(stored.inserted == late.readings.count + fresh && stored.duplicates == replay.readings.count, "mixed batch \(index): \(stored)")
            _ = try writers[1].write(mixed)
            // The same batch again: its new readings' COPY meets duplicates and falls back to staging too.
            let again = try writers[0].write(mixed)
            #expect(again.inserted == 0 && again.duplicates == mixed.readings.count, "mixed batch \(index) again: \(again)")
        }
        let wantLate = try await Self.answers(requests, database: reference, catalog: catalog)
        Self.expectSameAnswers(try await Self.answers(requests, database: compacted, catalog: catalog), wantLate, requests, "late readings beside blocks")
        try Self.expectRollupsEqual(sensor, connections[0], connections[1])

        // The next pass merges them into their hours' blocks and forgets the reopened hours (and compacts the
        // mixed batches' new readings).
        _ = try Compaction.run(sensor: sensor, now: Self.base + Self.span + 8 * Micros.perHour, after: Self.after, on: connections[0])
        counts = try Self.rowCounts(sensor, on: connections[0])
        #expect(counts.heap == 0, "late readings compacted: \(counts)")
        #expect(try connections[0].query("SELECT count(*) FROM compaction_pending")[0, 0] == "0")
        Self.expectSameAnswers(try await Self.answers(requests, database: compacted, catalog: catalog), wantLate, requests, "late readings compacted")
        try Self.expectRollupsEqual(sensor, connections[0], connections[1])
    }

    /// Both databases' rollups, row for row (the reference's equal its raw rows: `RollupCheck`); by device
    /// name unless both made their devices in the same order.
    static func expectRollupsEqual(_ sensor: SensorType, _ compacted: PGConnection, _ reference: PGConnection, sameIDs: Bool = true) throws {
        try RollupCheck.expectRollupsEqualRaw(sensor, on: reference)
        let tables = SensorTables(sensor)
        for resolution in RollupResolution.allCases {
            let sql = sameIDs ? "SELECT * FROM \(tables.rollup(resolution)) ORDER BY device_id, bucket"
                : """
                    SELECT d.device, r.bucket, \(tables.rollupColumns(sensor.fields.map(\.name)).map { "r.\($0)" }.joined(separator: ", "))
                    FROM \(tables.rollup(resolution)) r JOIN devices d ON d.id = r.device_id ORDER BY d.device, r.bucket
                    """
            #expect(try compacted.query(sql).rows == reference.query(sql).rows, "\(tables.rollup(resolution)) differs")
        }
    }
}

extension CompactionTests {
    /// `telemetry compact` killed while a chunk's transaction has deleted heap rows (and earlier chunks
    /// committed their blocks): every reading is still there exactly once, and the next pass finishes.
    @Test func aCompactorKilledMidTransactionLosesAndDoublesNothing() async throws {
        let servers = try TestServers.require()
        let store = try TestStore(sensors: ["temperature"])
        let (catalog, sensor, database, connection) = (store.catalog, store.sensor, store.database, store.connection)
        let writer = BatchWriter(connection: connection, sensor: sensor)
        let devices = (0..<40).map { "kill-\($0)" }
        let minutes = 2 * 24 * 60
        for device in devices.indices {
            var batch = IngestBatch(fieldCount: sensor.fields.count)
            for minute in 0..<minutes {
                let row = batch.readings.appendRow(time: Self.base + Int64(minute) * 60_000_000 + Int64(device) * 1_000_000, seq: Int64(minute))
                for field in sensor.fields.indices { batch.readings.set(field: field, row: row, Double(200 + (minute + device) % 37) / 10) }
            }
            batch.closeSpan(device: devices[device], from: 0)
            _ = try writer.write(batch)
        }
        let total = devices.count * minutes
        let before = try Self.everything(sensor, devices: devices, on: connection)
        #expect(before.values.reduce(0) { $0 + $1.count } == total)

        // A reading of the second day held by a row lock: the compactor's chunk there waits inside its
        // transaction, after deleting its group's other rows; the hours before are committed by then.
        let locker = try PGConnection(url: database)
        try locker.execute("BEGIN")
        let held = Self.base + Micros.perDay + 12 * Micros.perHour
        let deviceID = try locker.query("SELECT id FROM devices WHERE device = $1", [devices[3]])[0, 0]!
        _ = try locker.query("""
            SELECT 1 FROM \(SensorTables(sensor).readings) WHERE device_id = $1 AND time >= timestamptz 'epoch' + $2::int8 * interval '1 microsecond' LIMIT 1 FOR UPDATE
            """, [deviceID, String(held)])
        let compactor = try ServiceProcess(
            "telemetry", arguments: ["compact", "--after-minutes", "120"],
            environment: ["TELEMETRY_DATABASE_URL": database, "TELEMETRY_CATALOG": catalog.directory], servers: servers)
        let waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        try await Self.until("the compactor waits on the held row (\(compactor.output))") { try connection.query(waiting)[0, 0] != "0" }
        let during = try Self.rowCounts(sensor, on: connection)
        #expect(during.compacted > 0, "hours before the held one are compacted: \(during)")
        compactor.signal(SIGKILL)
        await #expect(compactor.waitForExit(timeout: .seconds(10)) != nil)
        try locker.execute("COMMIT")
        let others = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        try await Self.until("the killed compactor's session ends") { try connection.query(others)[0, 0] == "1" }  // the locker's

        let afterKill = try Self.rowCounts(sensor, on: connection)
        #expect(afterKill.heap + afterKill.compacted == total, "after kill -9: \(afterKill)")
        #expect(try Self.everything(sensor, devices: devices, on: connection) == before)

        let outcome = try Compaction.run(sensor: sensor, now: Self.base + 3 * Micros.perDay, after: Self.after, on: connection)
        #expect(!outcome.skipped, "the killed compactor's session lock went with its session")
        let finished = try Self.rowCounts(sensor, on: connection)
        #expect(finished.heap == 0 && finished.compacted == total, "after the next pass: \(finished)")
        #expect(try Self.everything(sensor, devices: devices, on: connection) == before)
    }

    /// Every reading of every device, through the read path (heap and blocks), in order.
    static func everything(_ sensor: SensorType, devices: [String], on connection: PGConnection) throws -> [String: [StoredReading]] {
        let base = Self.base
        let queries = ReadingQueries(sensor: sensor)
        var all: [String: [StoredReading]] = [:]
        for device in devices {
            guard let stored = try queries.device(named: device, on: connection) else { continue }
            all[device] = try queries.readings(
                deviceID: stored.id, from: base - Micros.perDay, to: base + 4 * Micros.perDay, after: nil, ascending: true, limit: 1_000_000, on: connection)
        }
        return all
    }

    static func until(_ what: String, deadline: Duration = .seconds(60), _ condition: () throws -> Bool) async throws {
        let end = ContinuousClock.now.advanced(by: deadline)
        while try !condition() {
            guard ContinuousClock.now < end else { throw TestSetupError(message: "timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

extension CompactionTests {
    /// Two writers storing new, late and replayed readings while two compactors move the horizon hour by
    /// hour: no deadlock, every reading stored once, the answers and rollups those of a database that was
    /// never compacted.
    @Test func writersAndCompactorsAtOnceStoreEachReadingOnce() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["power"])
        let sensor = catalog.sensor("power")
        let compacted = try servers.makeDatabase(), reference = try servers.makeDatabase()
        for database in [compacted, reference] { try Schema.migrate(try PGConnection(url: database), catalog: catalog.catalog) }
        var random = SplitMix64(seed: 0xC0_4AC8)
        var used = Set<String>()
        let devices = (0..<12).map { "both-\($0)" }
        let data = Self.batches(sensor, devices: devices, count: 60, random: &random, used: &used)
        let first = BatchWriter(connection: try PGConnection(url: compacted), sensor: sensor)
        for batch in data.prefix(20) { _ = try first.write(batch) }

        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for writerIndex in 0..<2 {
            let mine = Array(data[(20 + 20 * writerIndex)..<(40 + 20 * writerIndex)])
            let replays = Array(data.prefix(20)).shuffled(using: &random)
            DispatchQueue.global().async(group: group) {
                do {
                    let writer = BatchWriter(connection: try PGConnection(url: compacted), sensor: sensor)
                    for (batch, replay) in zip(mine, replays) {
                        _ = try writer.write(batch)
                        let again = try writer.write(replay)
                        if again.inserted != 0 { failures.withLock { $0.append("a replay stored \(again.inserted) readings again") } }
                    }
                } catch { failures.withLock { $0.append("writer \(writerIndex): \(error)") } }
            }
        }
        let skipped = Mutex(0)
        for compactorIndex in 0..<2 {
            DispatchQueue.global().async(group: group) {
                do {
                    let connection = try PGConnection(url: compacted)
                    for step in 0..<14 {
                        let outcome = try Compaction.run(
                            sensor: sensor, now: Self.base + Int64(step) * 8 * Micros.perHour, after: Self.after, on: connection)
                        if outcome.skipped { skipped.withLock { $0 += 1 } }
                    }
                } catch { failures.withLock { $0.append("compactor \(compactorIndex): \(error)") } }
            }
        }
        #expect(group.wait(timeout: .now() + 300) == .success, "writers and compactors finished")
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")

        let connection = try PGConnection(url: compacted), referenceConnection = try PGConnection(url: reference)
        _ = try Compaction.run(sensor: sensor, now: Self.base + Self.span + 3 * Micros.perHour, after: Self.after, on: connection)
        let referenceWriter = BatchWriter(connection: referenceConnection, sensor: sensor)
        for batch in data { _ = try referenceWriter.write(batch) }
        let counts = try Self.rowCounts(sensor, on: connection)
        #expect(counts.heap == 0 && counts.compacted == data.reduce(0) { $0 + $1.readings.count }, "\(counts)")
        #expect(try Self.everything(sensor, devices: devices, on: connection) == Self.everything(sensor, devices: devices, on: referenceConnection))
        try Self.expectRollupsEqual(sensor, connection, referenceConnection, sameIDs: false)
    }
}

extension CompactionTests {
    /// A block that does not decode: reads of it answer 500 `data_damaged` naming it (no retry helps, so no
    /// 503), other devices answer; compaction leaves a late reading of that hour in the heap, says so, keeps
    /// the hour pending and compacts the rest (the same hour's other chunks too); once the block is mended,
    /// the next pass merges it.
    @Test func aDamagedBlockIsNamedAndHoldsUpOnlyItsOwnHour() async throws {
        let store = try TestStore(sensors: ["temperature"])
        let (catalog, sensor, database, connection) = (store.catalog, store.sensor, store.database, store.connection)
        let writer = BatchWriter(connection: connection, sensor: sensor)
        func batch(_ device: String, minutes: Range<Int>, offset: Int64 = 0) -> IngestBatch {
            var batch = IngestBatch(fieldCount: 1)
            for minute in minutes {
                let row = batch.readings.appendRow(time: Self.base + Int64(minute) * 60_000_000 + offset, seq: Int64(minute))
                batch.readings.set(field: 0, row: row, 20 + Double(minute % 10) / 10)
            }
            batch.closeSpan(device: device, from: 0)
            return batch
        }
        for device in ["dam-a", "dam-b"] { _ = try writer.write(batch(device, minutes: 0..<180)) }
        _ = try Compaction.run(sensor: sensor, now: Self.base + 6 * Micros.perHour, after: Self.after, on: connection)
        let tables = SensorTables(sensor)
        let damaged = try connection.query("SELECT _times FROM \(tables.blocks) b JOIN devices d ON d.id = b.device_id WHERE d.device = 'dam-a' AND bucket = timestamptz 'epoch' + $1::int8 * interval '1 microsecond'", [String(Self.base)])[0, 0]!
        _ = try connection.query("UPDATE \(tables.blocks) SET _times = '\\x01ff'::bytea FROM devices d WHERE d.id = device_id AND d.device = 'dam-a' AND bucket = timestamptz 'epoch' + $1::int8 * interval '1 microsecond'", [String(Self.base)])

        let app = try QueryApp(database: database, catalog: catalog)
        try await app.application.test(.router) { client in
            let range = "from=\(AggregatePropertyTests.text(Self.base))&to=\(AggregatePropertyTests.text(Self.base + Micros.perDay))"
            let bad = try await client.execute(uri: "/v1/sensors/\(sensor.name)/devices/dam-a/readings?\(range)", method: .get) { ($0.status, String(buffer: $0.body)) }
            #expect(bad.0 == .internalServerError && bad.1.contains("data_damaged") && bad.1.contains("compacted block"), "\(bad)")
            let good = try await client.execute(uri: "/v1/sensors/\(sensor.name)/devices/dam-b/readings?\(range)", method: .get) { $0.status }
            #expect(good == .ok)
        }

        // A late reading into the damaged hour cannot be checked against its block: the batch fails with the
        // damage named (the ingest service dead-letters it, nothing is stored twice). One that is in the heap
        // there anyway (put there by hand) and a late reading of another hour: the other is compacted, the
        // damaged hour's stays in the heap and pending.
        #expect(throws: StoreError.self) { try writer.write(batch("dam-a", minutes: 10..<11, offset: 30_000_000)) }
        _ = try connection.query("""
            INSERT INTO \(tables.readings) (device_id, time, seq, celsius)
            SELECT id, timestamptz 'epoch' + $1::int8 * interval '1 microsecond', 7, 21.5 FROM devices WHERE device = 'dam-a';
            """, [String(Self.base + 630_000_000)])
        _ = try connection.query(
            "INSERT INTO compaction_pending (sensor, bucket) VALUES ($1, timestamptz 'epoch' + $2::int8 * interval '1 microsecond')", [sensor.name, String(Self.base)])
        _ = try writer.write(batch("dam-a", minutes: 70..<71, offset: 30_000_000))
        // dam-b's late reading of the damaged hour, in a transaction of its own (limit 1): compacted, though
        // dam-a's chunk of that hour comes first and fails.
        _ = try writer.write(batch("dam-b", minutes: 10..<11, offset: 30_000_000))
        let outcome = try Compaction.run(sensor: sensor, now: Self.base + 6 * Micros.perHour, after: Self.after, transactionLimit: 1, on: connection)
        #expect(outcome.damaged.count == 1 && outcome.readings == 2, "\(outcome)")
        #expect(try Self.rowCounts(sensor, on: connection).heap == 1)
        #expect(try connection.query("SELECT count(*) FROM compaction_pending")[0, 0] == "1")

        _ = try connection.query("UPDATE \(tables.blocks) SET _times = $2::bytea FROM devices d WHERE d.id = device_id AND d.device = 'dam-a' AND bucket = timestamptz 'epoch' + $1::int8 * interval '1 microsecond'", [String(Self.base), damaged])
        let mended = try Compaction.run(sensor: sensor, now: Self.base + 6 * Micros.perHour, after: Self.after, on: connection)
        #expect(mended.damaged.isEmpty && mended.readings == 1, "\(mended)")
        let counts = try Self.rowCounts(sensor, on: connection)
        #expect(counts.heap == 0 && counts.compacted == 363, "\(counts)")
        #expect(try connection.query("SELECT count(*) FROM compaction_pending")[0, 0] == "0")
    }

    /// A device's hour with more readings than a block may hold stays heap rows (noted, still read the same);
    /// the group's other devices are compacted in transactions of at most that many readings; late readings
    /// that take a compacted hour past it leave that device's hour as it is (its block and the late heap rows,
    /// read together), and the hour is not retried until a late reading marks it again. (A smaller limit than the
    /// platform's, so the test need not write a million readings.)
    @Test func aDeviceHourTooBigForABlockStaysInTheHeap() async throws {
        let store = try TestStore(sensors: ["temperature"])
        let (sensor, connection) = (store.sensor, store.connection)
        let writer = BatchWriter(connection: connection, sensor: sensor)
        func batch(_ device: String, count: Int, every seconds: Int64, offset: Int64 = 0) -> IngestBatch {
            var batch = IngestBatch(fieldCount: 1)
            for index in 0..<count {
                let row = batch.readings.appendRow(time: Self.base + Int64(index) * seconds * 1_000_000 + offset, seq: Int64(index))
                batch.readings.set(field: 0, row: row, 20 + Double(index % 16) / 16)
            }
            batch.closeSpan(device: device, from: 0)
            return batch
        }
        _ = try writer.write(batch("big", count: 150, every: 20))
        for device in ["s1", "s2", "s3"] { _ = try writer.write(batch(device, count: 60, every: 60)) }
        let devices = ["big", "s1", "s2", "s3"]
        let before = try Self.everything(sensor, devices: devices, on: connection)

        let outcome = try Compaction.run(sensor: sensor, now: Self.base + 6 * Micros.perHour, after: Self.after, blockLimit: 100, transactionLimit: 100, on: connection)
        #expect(outcome.keptInHeap.count == 1 && outcome.keptInHeap[0].contains("150 readings"), "\(outcome)")
        #expect(outcome.readings == 180 && outcome.chunks == 3 && outcome.blocks == 3, "\(outcome)")
        var counts = try Self.rowCounts(sensor, on: connection)
        #expect(counts.heap == 150 && counts.compacted == 180, "\(counts)")
        #expect(try Self.everything(sensor, devices: devices, on: connection) == before)

        // Late readings that take s1's compacted hour (60 in its block) past the limit: the hour stays as it is.
        _ = try writer.write(batch("s1", count: 50, every: 60, offset: 30_000_000))
        let late = try Compaction.run(sensor: sensor, now: Self.base + 6 * Micros.perHour, after: Self.after, blockLimit: 100, transactionLimit: 100, on: connection)
        #expect(late.readings == 0 && late.keptInHeap.count == 2 && late.keptInHeap.contains { $0.contains("110 readings") }, "\(late)")
        counts = try Self.rowCounts(sensor, on: connection)
        #expect(counts.heap == 200 && counts.compacted == 180, "\(counts)")
        #expect(try Self.everything(sensor, devices: ["s1"], on: connection)["s1"]?.count == 110)

        // With the platform's limit, everything fits (the hour marked for compaction again, as a late reading would).
        _ = try connection.query(
            "INSERT INTO compaction_pending (sensor, bucket) VALUES ($1, timestamptz 'epoch' + $2::int8 * interval '1 microsecond')", [sensor.name, String(Self.base)])
        let all = try Compaction.run(sensor: sensor, now: Self.base + 6 * Micros.perHour, after: Self.after, on: connection)
        #expect(all.keptInHeap.isEmpty, "\(all)")
        counts = try Self.rowCounts(sensor, on: connection)
        #expect(counts.heap == 0 && counts.compacted == 380, "\(counts)")
    }

    /// A transaction moves at most `transactionLimit` readings of a group's hour (a writer storing a late
    /// reading there waits for it), but a device hour that alone holds more and fits a block is moved whole,
    /// on its own; the outcome names the longest transaction.
    @Test func aGroupsHourMovesInTransactionsOfBoundedSize() async throws {
        let store = try TestStore(sensors: ["temperature"])
        let (sensor, connection) = (store.sensor, store.connection)
        let writer = BatchWriter(connection: connection, sensor: sensor)
        func batch(_ device: String, count: Int) -> IngestBatch {
            var batch = IngestBatch(fieldCount: 1)
            for index in 0..<count {
                let row = batch.readings.appendRow(time: Self.base + Int64(index) * 30_000_000, seq: Int64(index))
                batch.readings.set(field: 0, row: row, 20 + Double(index % 8) / 8)
            }
            batch.closeSpan(device: device, from: 0)
            return batch
        }
        let devices = ["busy", "q1", "q2", "q3"]
        _ = try writer.write(batch("busy", count: 70))
        for device in devices.dropFirst() { _ = try writer.write(batch(device, count: 20)) }
        let before = try Self.everything(sensor, devices: devices, on: connection)
        let outcome = try Compaction.run(sensor: sensor, now: Self.base + 6 * Micros.perHour, after: Self.after, blockLimit: 100, transactionLimit: 50, on: connection)
        // busy alone (70 > 50), then q1 + q2 (40), then q3 (40 + 20 > 50).
        #expect(outcome.readings == 130 && outcome.blocks == 4 && outcome.chunks == 3 && outcome.keptInHeap.isEmpty, "\(outcome)")
        #expect(outcome.longestTransaction > .zero)
        let counts = try Self.rowCounts(sensor, on: connection)
        #expect(counts.heap == 0 && counts.compacted == 130, "\(counts)")
        #expect(try Self.everything(sensor, devices: devices, on: connection) == before)
    }
}
