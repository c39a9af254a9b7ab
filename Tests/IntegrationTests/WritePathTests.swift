import Foundation
@testable import Postgres
import SensorModel
import StorageCore
@testable import StorageWriter
import TestSupport
import Testing

/// The writer's transaction as one unit: a batch's new devices are written inside it (a rolled-back
/// batch leaves none behind, and the writer does not keep their ids), and what a session holds for the
/// fast path (a staging table, a prepared statement) is made again when the connection is.
@Suite(.timeLimit(.minutes(4)))
struct WritePathTests {
    let database: String
    let sensor: SensorType
    let connection: PGConnection

    init() throws {
        let store = try TestStore()
        (database, sensor, connection) = (store.database, store.sensor, store.connection)
    }

    static let base = (Int64(Date().timeIntervalSince1970) - 600) * 1_000_000

    func batch(_ device: String, value: Double, start: Int64 = base) -> IngestBatch {
        var batch = IngestBatch(fieldCount: sensor.fields.count)
        for index in 0..<3 {
            let row = batch.readings.appendRow(time: start + Int64(index) * 1_000_000, seq: Int64(index))
            batch.readings.set(field: 0, row: row, value)
        }
        batch.closeSpan(device: device, from: 0)
        return batch
    }

    func count(_ sql: String) throws -> Int { Int(try connection.query(sql)[0, 0] ?? "") ?? -1 }

    @Test func aRolledBackBatchLeavesNoDeviceBehind() async throws {
        let writer = BatchWriter(connection: try PGConnection(url: database), sensor: sensor)
        let tables = SensorTables(sensor)
        // Every row of the batch is refused by a trigger, after the device was written in the transaction.
        try connection.execute("""
            CREATE FUNCTION refuse_big() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.\(tables.fieldColumns[0]) >= 1000 THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$;
            CREATE TRIGGER refuse_big BEFORE INSERT ON \(tables.readings) FOR EACH ROW EXECUTE FUNCTION refuse_big()
            """)
        #expect(throws: StoreError.self) { try writer.write(batch("fresh-device", value: 5000)) }
        #expect(try count("SELECT count(*) FROM devices WHERE device = 'fresh-device'") == 0, "the rolled-back batch's device stayed")
        // The writer kept no id of the rolled-back row: the same device's next batch is stored under a real one.
        try connection.execute("DROP TRIGGER refuse_big ON \(tables.readings)")
        let outcome = try writer.write(batch("fresh-device", value: 5))
        #expect(outcome.inserted == 3)
        #expect(try count("""
            SELECT count(*) FROM \(tables.readings) r JOIN devices d ON d.id = r.device_id WHERE d.device = 'fresh-device'
            """) == 3)
        #expect(try count("SELECT sum(readings)::int8 FROM reading_counts") == 3)
    }

    /// The batch's last round trip is "merge; COMMIT; announcement": what failed before the COMMIT fails
    /// the batch, an announcement that failed after it does not (the batch is stored), and a COMMIT that
    /// answered ROLLBACK is a failure.
    @Test func onlyWhatFailsBeforeTheCommitFailsTheBatch() {
        func ok(_ command: String) -> Result<PGResult, PGError> { .success(PGResult(columns: [], rows: [], affectedRows: 0, command: command)) }
        let failed = Result<PGResult, PGError>.failure(PGError(sqlState: "54000", message: "too many notifications"))
        #expect(throws: Never.self) { try BatchWriter.committed([ok("SELECT"), ok("COMMIT"), ok("SELECT")], commitAt: 1) }
        #expect(throws: Never.self) { try BatchWriter.committed([ok("SELECT"), ok("COMMIT"), failed], commitAt: 1) }
        #expect(throws: PGError.self) { try BatchWriter.committed([failed], commitAt: 1) }
        #expect(throws: PGError.self) { try BatchWriter.committed([ok("SELECT"), ok("ROLLBACK")], commitAt: 1) }
        #expect(throws: PGError.self) { try BatchWriter.committed([ok("SELECT")], commitAt: 1) }
    }

    /// A batch of a new device whose readings are partly stored already: the device is written before the
    /// savepoint, so undoing the fast path's COPY keeps it, and the staging path stores the new rows under it.
    @Test func aNewDeviceWithDuplicateReadingsTakesTheStagingPath() async throws {
        let writer = BatchWriter(connection: try PGConnection(url: database), sensor: sensor)
        let other = BatchWriter(connection: try PGConnection(url: database), sensor: sensor)
        #expect(try other.write(batch("replayed", value: 1)).inserted == 3)
        // `writer` has never seen the device: its batch upserts it, then finds the first three readings stored.
        var twice = batch("replayed", value: 1)
        for index in 3..<5 {
            let row = twice.readings.appendRow(time: Self.base + Int64(index) * 1_000_000, seq: Int64(index))
            twice.readings.set(field: 0, row: row, 1)
        }
        twice.closeSpan(device: "replayed", from: 3)
        let outcome = try writer.write(twice)
        #expect(outcome.inserted == 2 && outcome.duplicates == 3)
        let tables = SensorTables(sensor)
        #expect(try count("SELECT count(*) FROM \(tables.readings)") == 5)
        #expect(try count("SELECT sum(\(tables.column(sensor.fields[0].name, "count")))::int8 FROM \(tables.rollup1m)") == 5)
        #expect(try count("SELECT sum(readings)::int8 FROM reading_counts") == 5)
        #expect(try count("SELECT count(*) FROM devices WHERE device = 'replayed'") == 1)
    }

    @Test func aReconnectedWriterPreparesItsSessionAgain() async throws {
        let writerConnection = try PGConnection(url: database)
        let writer = BatchWriter(connection: writerConnection, sensor: sensor)
        #expect(try writer.write(batch("dev-1", value: 1)).inserted == 3)
        let pid = try writerConnection.query("SELECT pg_backend_pid()")[0, 0]!
        #expect(try connection.query("SELECT pg_terminate_backend($1::int4)", [pid])[0, 0] == "t")
        // The first try finds the connection gone; the pipeline's retry reconnects, as here.
        var stored: WriteOutcome?
        for _ in 0..<3 where stored == nil {
            try? writer.reconnectIfNeeded()
            stored = try? writer.write(batch("dev-1", value: 2, start: Self.base + 10_000_000))
        }
        #expect(stored?.inserted == 3, "the write after the reconnect failed")
        let tables = SensorTables(sensor)
        #expect(try count("SELECT count(*) FROM \(tables.readings)") == 6)
        #expect(try count("SELECT sum(\(tables.column(sensor.fields[0].name, "count")))::int8 FROM \(tables.rollup1h)") == 6)
        #expect(try count("SELECT count(*) FROM rollup_versions") >= 1)
    }
}
