import Foundation
import Postgres
import SensorModel
import StorageCore
import StorageWriter
import Testing

/// A connection lost around the COMMIT (a failover, a network cut): the writer can't know whether the batch
/// committed, so the pipeline writes it again. Either way every reading is stored once and counted once, in
/// the readings, both rollups, `reading_counts` and the dead letters with their quota counts.
@Suite(.timeLimit(.minutes(4)))
struct UnknownCommitTests {
    let database: String
    let sensor: SensorType
    let connection: PGConnection
    let proxy: CommitCuttingProxy

    init() throws {
        let store = try TestStore()
        (database, sensor, connection) = (store.database, store.sensor, store.connection)
        proxy = try CommitCuttingProxy(databaseURL: database)
    }

    static let base = (Int64(Date().timeIntervalSince1970) - 600) * 1_000_000

    /// 2 devices × 40 readings a second apart (one minute and a bit: two minute rollups each), and a dead letter.
    func batch() -> IngestBatch {
        var batch = IngestBatch(fieldCount: sensor.fields.count)
        for device in ["meter-a", "meter-b"] {
            let from = batch.readings.count
            for index in 0..<40 {
                let row = batch.readings.appendRow(time: Self.base + Int64(index) * 1_000_000, seq: Int64(index))
                batch.readings.set(field: 0, row: row, Double(index))
            }
            batch.closeSpan(device: device, from: from)
        }
        batch.deadLetters.append(DeadLetter(sensor: sensor.name, topic: "telemetry/\(sensor.name)/meter-c", receivedAt: Self.base,
                                            reason: "not a frame", payload: [0, 0xFF, 0]))
        return batch
    }

    func count(_ sql: String) throws -> Int { Int(try connection.query(sql)[0, 0] ?? "") ?? -1 }

    /// Writes the batch with its COMMIT cut as `cut` says, then again as the pipeline's retry does; returns
    /// what the retry stored and whether the readings were there before it.
    func writeAcrossACut(_ cut: CommitCuttingProxy.Cut) throws -> (storedBefore: Int, retry: WriteOutcome?) {
        let writer = BatchWriter(connection: try PGConnection(url: proxy.url(for: database)), sensor: sensor)
        // A first reading makes the day's partitions (in transactions of their own, with COMMITs of their
        // own): the COMMIT cut is then the batch's.
        var first = IngestBatch(fieldCount: sensor.fields.count)
        first.readings.set(field: 0, row: first.readings.appendRow(time: Self.base, seq: 0), 1)
        first.closeSpan(device: "first", from: 0)
        #expect(try writer.write(first).inserted == 1)
        proxy.arm(cut)
        #expect(throws: StoreError.self, "the cut COMMIT did not fail the write") { try writer.write(batch()) }
        #expect(proxy.cuts == 1)
        let tables = SensorTables(sensor)
        // Whether the cut transaction committed: it may still be finishing on the server.
        var storedBefore = try count("SELECT count(*) FROM \(tables.readings)") - 1
        if cut == .afterServer {
            let deadline = Date().addingTimeInterval(10)
            while storedBefore == 0 && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.05)
                storedBefore = try count("SELECT count(*) FROM \(tables.readings)") - 1
            }
        }
        var retry: WriteOutcome?
        for _ in 0..<3 where retry == nil {
            try? writer.reconnectIfNeeded()
            retry = try? writer.write(batch())
        }
        return (storedBefore, retry)
    }

    /// The batch's 80 readings and the first one, each counted once.
    func expectStoredOnce() throws {
        let tables = SensorTables(sensor)
        let countColumn = tables.column(sensor.fields[0].name, "count")
        #expect(try count("SELECT count(*) FROM \(tables.readings)") == 81)
        #expect(try count("SELECT sum(\(countColumn))::int8 FROM \(tables.rollup1m)") == 81, "a minute rollup counted the batch twice")
        #expect(try count("SELECT sum(\(countColumn))::int8 FROM \(tables.rollup1h)") == 81, "an hour rollup counted the batch twice")
        #expect(try count("SELECT sum(readings)::int8 FROM reading_counts") == 81, "reading_counts counted the batch twice")
        #expect(try count("SELECT count(*) FROM rejected") == 1)
        #expect(try count("SELECT sum(kept)::int8 FROM dead_letter_counts") == 1, "the dead-letter quota counted the letter twice")
    }

    @Test func aCommitThatTookEffectIsNotCountedAgain() async throws {
        let (storedBefore, retry) = try writeAcrossACut(.afterServer)
        #expect(storedBefore == 80, "the cut COMMIT should have reached the server and committed")
        #expect(retry?.inserted == 0 && retry?.duplicates == 80, "the retry after the lost answer: \(String(describing: retry))")
        try expectStoredOnce()
    }

    @Test func aCommitThatNeverArrivedIsWrittenByTheRetry() async throws {
        let (storedBefore, retry) = try writeAcrossACut(.beforeServer)
        #expect(storedBefore == 0, "the COMMIT never reached the server: nothing should be stored before the retry")
        #expect(retry?.inserted == 80, "the retry: \(String(describing: retry))")
        try expectStoredOnce()
    }
}
