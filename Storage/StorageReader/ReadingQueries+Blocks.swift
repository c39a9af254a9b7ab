import Postgres
import SensorModel
import StorageCore

/// Reads that see heap rows and compacted blocks alike (docs/storage.md): one statement, so one snapshot,
/// returns the heap rows and the blocks that may hold readings of the range (a reading is in exactly one of
/// the two in any snapshot); blocks are decoded here and their readings filtered to the range.
extension ReadingQueries {
    /// `kind, time, seq, fields` (heap: kind 0) or `kind, bucket, NULL..., encoded columns` (block: kind 1).
    var heapSelect: String {
        let encodedNulls = CompactedBlock.encodedColumns(tables).map { _ in "NULL::bytea" }
        return (["0", Self.micros("time"), "seq"] + tables.fieldColumns + encodedNulls).joined(separator: ", ")
    }

    var blockSelect: String {
        let fieldNulls = tables.fieldColumns.map { _ in "NULL::float8" }
        return (["1", Self.micros("bucket"), "NULL::int8"] + fieldNulls + CompactedBlock.encodedColumns(tables)).joined(separator: ", ")
    }

    /// Runs a statement of `heapSelect` and `blockSelect` rows (binary) for one device; returns the heap
    /// rows and the blocks' readings that `keep` accepts, in no particular order; with `newestOnly`, of each
    /// block only its newest reading; with `limit`, of each block only the first `limit` kept in the order
    /// asked for; `prepared` keeps the statement's plan on the connection.
    func mergedReadings(
        _ sql: String, _ parameters: [String?], deviceID: Int32, newestOnly: Bool = false, limit: Int? = nil, ascending: Bool = true,
        prepared: Bool = false, keep: (Int64) -> Bool, on connection: PGConnection
    ) throws(PGError) -> [StoredReading] {
        let fieldCount = sensor.fields.count
        let body = { (result: PGRawResult) throws(PGError) -> [StoredReading] in
            var readings: [StoredReading] = []
            for row in 0..<result.rowCount {
                guard let time = result.int64(row, 1) else { continue }
                if result.int64(row, 0) == 0 {
                    readings.append(StoredReading(time: time, seq: result.int64(row, 2), values: (0..<fieldCount).map { result.double(row, 3 + $0) }))
                    continue
                }
                let block = try CompactedBlock.decode(result, row: row, from: 3 + fieldCount, deviceID: deviceID, bucket: time, fieldCount: fieldCount)
                // Times ascend in a block: the first `limit` kept in the read's order are all a page can use.
                let indices = stride(
                    from: ascending ? (newestOnly ? max(0, block.count - 1) : 0) : block.count - 1,
                    through: ascending ? block.count - 1 : 0, by: ascending ? 1 : -1)
                var taken = 0
                for index in indices where keep(block.times[index]) {
                    readings.append(StoredReading(
                        time: block.times[index], seq: block.seqs[index],
                        values: block.values.map { $0[index].isNaN ? nil : $0[index] }))
                    taken += 1
                    if taken == limit { break }
                }
            }
            return readings
        }
        return prepared
            ? try connection.withPreparedQuery(sql, parameters, binary: true, body) : try connection.withQuery(sql, parameters, binary: true, body)
    }
}
