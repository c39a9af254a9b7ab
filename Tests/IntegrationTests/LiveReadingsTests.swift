import Foundation
import Postgres
import SensorModel
import StorageCore
import StorageEvents
import StorageOperations
import StorageReader
import StorageWriter
import TestSupport
import Testing

/// The live streams' source: one NOTIFY per batch from the writer, readings handed to subscribers
/// once committed, a subscriber that does not keep up dropped, one that leaves removed; and the
/// overview's per-minute reading counts equal to the rows stored, on both write paths.
@Suite(.timeLimit(.minutes(4)))
struct LiveReadingsTests {
    let database: String
    let sensor: SensorType
    let writer: BatchWriter
    let connection: PGConnection

    init() throws {
        let store = try TestStore()
        (database, sensor, connection) = (store.database, store.sensor, store.connection)
        writer = BatchWriter(connection: connection, sensor: sensor)
    }

    static let base = (Int64(Date().timeIntervalSince1970) - 600) * 1_000_000

    /// `count` readings per device, one second apart from `start`.
    func write(devices: [String], count: Int, start: Int64 = base) throws -> WriteOutcome {
        var batch = IngestBatch(fieldCount: sensor.fields.count)
        for device in devices {
            let first = batch.readings.count
            for index in 0..<count {
                let row = batch.readings.appendRow(time: start + Int64(index) * 1_000_000, seq: Int64(index))
                batch.readings.set(field: 0, row: row, 230 + Double(index))
            }
            batch.closeSpan(device: device, from: first)
        }
        return try writer.write(batch)
    }

    func deviceID(_ name: String) throws -> Int32 {
        Int32(try connection.query("SELECT id FROM devices WHERE device = $1", [name])[0, 0]!)!
    }

    /// The next `count` events, or fewer when the stream ends or `timeout` passes.
    static func next(_ count: Int, of events: AsyncStream<LiveReadings.Event>, timeout: Duration = .seconds(5)) async -> [LiveReadings.Event] {
        await withTaskGroup(of: [LiveReadings.Event]?.self) { group in
            group.addTask {
                var got: [LiveReadings.Event] = []
                for await event in events where event != .heartbeat {
                    got.append(event)
                    if got.count == count { break }
                }
                return got
            }
            group.addTask { try? await Task.sleep(for: timeout); return nil }
            var result: [LiveReadings.Event] = []
            for await value in group {
                if let value { result = value }
                group.cancelAll()
                break
            }
            return result
        }
    }

    @Test func oneNotificationPerBatchNamingItsDevices() async throws {
        let listener = try PGConnection(url: database)
        _ = try listener.execute("LISTEN \(ReadingChanges.channel)")
        _ = try write(devices: ["n-1", "n-2", "n-3"], count: 50)
        _ = try listener.execute("SELECT 1")
        let heard = try listener.notifications().filter { $0.channel == ReadingChanges.channel }
        #expect(heard.count == 1)
        let ids = try ["n-1", "n-2", "n-3"].map(deviceID).sorted().map(String.init).joined(separator: ",")
        #expect(heard.first?.payload == "\(sensor.name) \(Self.base + 49_000_000) \(ids)")
    }

    @Test func aCommittedReadingReachesItsSubscriberOnly() async throws {
        _ = try write(devices: ["live-1", "live-2"], count: 1)
        let live = LiveReadings(url: database, sensors: [sensor])
        try await withRunning([live]) {
            let (_, events) = live.subscribe(sensor: sensor.name, deviceID: try deviceID("live-1"), after: Self.base)
            // A batch written before the listener listens is caught up.
            _ = try write(devices: ["live-1", "live-2"], count: 3, start: Self.base + 10_000_000)
            let got = await Self.next(3, of: events)
            let readings = got.compactMap { event -> StoredReading? in if case .reading(let reading) = event { reading } else { nil } }
            #expect(readings.map(\.time) == (0..<3).map { Self.base + 10_000_000 + Int64($0) * 1_000_000 })
            #expect(readings.map(\.seq) == [0, 1, 2])
            #expect(readings.map { $0.values[0] } == [230, 231, 232])
            #expect(live.statistics.subscribers == 1)
        }
    }

    /// Writers announce a batch after its commit; one that dies in between sends nothing. The stream gets
    /// the reading anyway, within the catch-up interval: here a row stored with no announcement at all.
    @Test func aReadingWhoseAnnouncementWasLostStillArrives() async throws {
        _ = try write(devices: ["silent"], count: 1)
        let id = try deviceID("silent")
        let live = LiveReadings(url: database, sensors: [sensor], catchUpInterval: 0.5)
        try await withRunning([live]) {
            let (_, events) = live.subscribe(sensor: sensor.name, deviceID: id, after: Self.base)
            #expect(try await within(.seconds(60)) { live.isListening })
            let listener = try PGConnection(url: database)
            _ = try listener.execute("LISTEN \(ReadingChanges.channel)")
            let field = SensorTables(sensor).fieldColumns[0]
            _ = try connection.query(
                "INSERT INTO \(SensorTables(sensor).readings) (device_id, time, seq, \(field)) VALUES ($1, timestamptz 'epoch' + $2::int8 * interval '1 microsecond', 0, 400)",
                [String(id), String(Self.base + 5_000_000)])
            let got = await Self.next(1, of: events, timeout: .seconds(10))
            let readings = got.compactMap { event -> StoredReading? in if case .reading(let reading) = event { reading } else { nil } }
            #expect(readings.map(\.time) == [Self.base + 5_000_000] && readings.first?.values.first == 400, "\(got)")
            _ = try listener.execute("SELECT 1")
            #expect(try listener.notifications().isEmpty, "the row came without a notification")
        }
    }

    @Test func aClientThatFallsBehindIsDroppedAndOneThatLeavesIsRemoved() async throws {
        _ = try write(devices: ["slow"], count: 1)
        let live = LiveReadings(url: database, sensors: [sensor], capacity: 4)
        try await withRunning([live]) {
            let (_, slow) = live.subscribe(sensor: sensor.name, deviceID: try deviceID("slow"), after: Self.base)
            let (leaving, _) = live.subscribe(sensor: sensor.name, deviceID: try deviceID("slow"), after: Self.base)
            live.unsubscribe(leaving)
            #expect(live.statistics.subscribers == 1)
            // The listener's start is not what this checks: under a loaded test run it may come late.
            #expect(try await within(.seconds(60)) { live.isListening })
            // Ten readings, nobody reading: the buffer of four fills and the stream is ended, not grown.
            _ = try write(devices: ["slow"], count: 10, start: Self.base + 20_000_000)
            let deadline = ContinuousClock.now + .seconds(5)
            while live.statistics.dropped == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(live.statistics.subscribers == 0 && live.statistics.dropped == 1)
            var buffered = 0
            for await event in slow where event != .heartbeat { buffered += 1 }
            #expect(buffered <= 4)
        }
    }

    /// One watched device far behind (a backlog it uploads with old times) must not hold up the others of
    /// the same batch: before, one query from the oldest cursor with a row limit read only the lagging
    /// device's rows, and the others waited for a later notification (with none, for ever).
    @Test func aLaggingDeviceDoesNotStarveTheOthers() async throws {
        let backlog = 12_000
        let lagStart = Self.base - 20_000_000_000
        _ = try write(devices: ["lagging"], count: 1, start: lagStart)
        _ = try write(devices: ["prompt"], count: 1)
        let live = LiveReadings(url: database, sensors: [sensor], capacity: backlog + 10)
        try await withRunning([live]) {
            let (_, lagging) = live.subscribe(sensor: sensor.name, deviceID: try deviceID("lagging"), after: lagStart)
            let (_, prompt) = live.subscribe(sensor: sensor.name, deviceID: try deviceID("prompt"), after: Self.base)
            // One batch, one notification: the lagging device's backlog, older than the prompt device's new reading.
            var batch = IngestBatch(fieldCount: sensor.fields.count)
            for index in 1...backlog {
                batch.readings.set(field: 0, row: batch.readings.appendRow(time: lagStart + Int64(index) * 1_000_000, seq: Int64(index)), 230)
            }
            batch.closeSpan(device: "lagging", from: 0)
            batch.readings.set(field: 0, row: batch.readings.appendRow(time: Self.base + 1_000_000, seq: 1), 231)
            batch.closeSpan(device: "prompt", from: backlog)
            _ = try writer.write(batch)
            let promptGot = await Self.next(1, of: prompt).compactMap { event -> StoredReading? in if case .reading(let reading) = event { reading } else { nil } }
            #expect(promptGot.map(\.time) == [Self.base + 1_000_000] && promptGot.first?.values.first == 231,
                    "the prompt device's reading did not come: \(promptGot)")
            let laggingGot = await Self.next(backlog, of: lagging, timeout: .seconds(20))
            #expect(laggingGot.count == backlog, "the lagging device got \(laggingGot.count) of its \(backlog) readings")
        }
    }

    @Test func readingCountsEqualTheRowsStoredOnBothPaths() async throws {
        _ = try write(devices: ["c-1", "c-2"], count: 90)
        // Half of these are already stored: the staging path, counting only the rows it inserts.
        let second = try write(devices: ["c-1"], count: 90, start: Self.base + 45_000_000)
        #expect(second.inserted == 45)
        let counted = try connection.query("SELECT sum(readings) FROM reading_counts WHERE sensor = $1", [sensor.name])[0, 0]
        let stored = try connection.query("SELECT count(*) FROM \(SensorTables(sensor).readings)")[0, 0]
        #expect(counted == stored && stored == "225")
        let overview = try OverviewQueries.counts(now: Self.base + 3_600_000_000 - 1, on: StoreConnection(connection))
        #expect(overview[sensor.name]?.devices == 2)
    }
}
