import Foundation
import Postgres
import SensorModel
import StorageCore
import StorageWriter
import TestSupport
import Testing

/// The writer's transaction as one unit: a batch's new devices are written inside it (a rolled-back
/// batch leaves none behind, and the writer does not keep their ids), and what a session holds for the
/// fast path (a staging table, a prepared statement) is made again when the connection is.
@Suite(.timeLimit(.minutes(2)))
struct WritePathTests {
    let database: String
    let sensor: SensorType
    let connection: PGConnection

    init() throws {
        let servers = try TestServers.require()
        database = try servers.makeDatabase()
        let catalog = try TestCatalog.make(from: ["power"])
        sensor = catalog.catalog.sensors[0]
        connection = try PGConnection(url: database)
        try Schema.migrate(connection, catalog: catalog.catalog)
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

    @Test func aRolledBackBatchLeavesNoDeviceBehind() throws {
        let writer = BatchWriter(connection: try PGConnection(url: database), sensor: sensor)
        let tables = SensorTables(sensor)
        // Every row of the batch breaks a constraint, after the device was written in the transaction.
        try connection.execute("ALTER TABLE \(tables.readings) ADD CONSTRAINT refuse_big CHECK (\(tables.fieldColumns[0]) < 1000)")
        #expect(throws: StoreError.self) { try writer.write(batch("fresh-device", value: 5000)) }
        #expect(try count("SELECT count(*) FROM devices WHERE device = 'fresh-device'") == 0, "the rolled-back batch's device stayed")
        // The writer kept no id of the rolled-back row: the same device's next batch is stored under a real one.
        try connection.execute("ALTER TABLE \(tables.readings) DROP CONSTRAINT refuse_big")
        let outcome = try writer.write(batch("fresh-device", value: 5))
        #expect(outcome.inserted == 3)
        #expect(try count("""
            SELECT count(*) FROM \(tables.readings) r JOIN devices d ON d.id = r.device_id WHERE d.device = 'fresh-device'
            """) == 3)
        #expect(try count("SELECT sum(readings)::int8 FROM reading_counts") == 3)
    }

    @Test func aReconnectedWriterPreparesItsSessionAgain() throws {
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
