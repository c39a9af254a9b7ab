import Postgres
import SensorModel
import StorageCore
import StorageReader

/// What is stored for some devices of one sensor type, to check a load run against what the broker
/// acknowledged (the emulator's verifier).
public struct DeliveryCounts: Sendable, Equatable {
    /// Reading rows.
    public var stored = 0
    /// Field values present in those rows.
    public var presentValues = 0
    /// Field values the 1-minute rollups count: more than `presentValues` means a reading was counted twice.
    public var rolledUpValues = 0

    public init() {}
}

extension ReadingQueries {
    /// Per device name, readings from the start of `since`'s minute (µs; rollups and rows alike); nil when
    /// the sensor type's tables do not exist (no ingest service ran on this database).
    func deliveryCounts(devices: [String], since: Int64 = 0, on connection: PGConnection) throws(PGError) -> [String: DeliveryCounts]? {
        // One snapshot for the heap, the rollups and the blocks: a reading compacted between two statements
        // would otherwise be counted twice or not at all.
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        do {
            let counts = try countsInSnapshot(devices: devices, since: since, on: connection)
            try connection.execute("COMMIT")
            return counts
        } catch {
            if connection.isHealthy { _ = try? connection.execute("ROLLBACK") }
            throw error
        }
    }

    private func countsInSnapshot(devices: [String], since: Int64, on connection: PGConnection) throws(PGError) -> [String: DeliveryCounts]? {
        let exists = try connection.query(
            "SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AND to_regclass('devices') IS NOT NULL", [tables.readings, tables.blocks])
        guard exists[0, 0] == "t" else { return nil }
        let names = "{" + devices.map { "\"\($0)\"" }.joined(separator: ",") + "}"
        let present = tables.fieldColumns.map { "count(r.\($0))" }.joined(separator: " + ")
        let rolled = sensor.fields.map { "coalesce(sum(m.\(tables.column($0.name, "count"))), 0)" }.joined(separator: " + ")
        let minute = String(since >= 0 ? since / 60_000_000 * 60_000_000 : 0)
        let raw = try connection.query("""
            SELECT d.device, count(r.time), \(present) FROM devices d
            LEFT JOIN \(tables.readings) r ON r.device_id = d.id AND r.time >= \(SQLTime.timestamp("$3"))
            WHERE d.sensor = $1 AND d.device = ANY($2::text[]) GROUP BY d.device
            """, [sensor.name, names, minute])
        let rollup = try connection.query("""
            SELECT d.device, \(rolled) FROM devices d
            LEFT JOIN \(tables.rollup(.minute)) m ON m.device_id = d.id AND m.bucket >= \(SQLTime.timestamp("$3"))
            WHERE d.sensor = $1 AND d.device = ANY($2::text[]) GROUP BY d.device
            """, [sensor.name, names, minute])
        var counts: [String: DeliveryCounts] = [:]
        for row in raw.rows {
            counts[row[0]!, default: DeliveryCounts()].stored = Int(row[1]!) ?? 0
            counts[row[0]!, default: DeliveryCounts()].presentValues = Int(row[2]!) ?? 0
        }
        for row in rollup.rows {
            counts[row[0]!, default: DeliveryCounts()].rolledUpValues = Int(row[1]!) ?? 0
        }
        // Compacted readings count as stored rows (a block is one device's hour: its readings before the
        // minute are left out).
        let start = Int64(minute)!
        let encoded = CompactedBlock.encodedColumns(tables).joined(separator: ", ")
        try connection.withQuery("""
            SELECT d.device, b.device_id, \(SQLTime.micros("b.bucket")), \(encoded) FROM devices d
            JOIN \(tables.blocks) b ON b.device_id = d.id AND b.bucket > \(SQLTime.timestamp("$3")) - interval '1 hour'
            WHERE d.sensor = $1 AND d.device = ANY($2::text[])
            """, [sensor.name, names, minute], binary: true) { (result) throws(PGError) in
            for row in 0..<result.rowCount {
                guard let name = result.string(row, 0), let device = result.int64(row, 1), let bucket = result.int64(row, 2) else { continue }
                let block = try CompactedBlock.decode(
                    result, row: row, from: 3, deviceID: Int32(truncatingIfNeeded: device), bucket: bucket, fieldCount: sensor.fields.count)
                for index in 0..<block.count where block.times[index] >= start {
                    counts[name, default: DeliveryCounts()].stored += 1
                    counts[name, default: DeliveryCounts()].presentValues += block.values.filter { !$0[index].isNaN }.count
                }
            }
        }
        return counts
    }

    public func deliveryCounts(devices: [String], since: Int64 = 0, on connection: StoreConnection) throws(StoreError) -> [String: DeliveryCounts]? {
        try StoreError.wrap { () throws(PGError) in try deliveryCounts(devices: devices, since: since, on: connection.pg) }
    }
}
