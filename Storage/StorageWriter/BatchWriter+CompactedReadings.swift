import Postgres
import StorageCore

// Exactly once across compaction (docs/storage.md, "Late readings and replays"): what a batch needs to know
// about the readings that are in blocks already.
extension BatchWriter {
    /// The compaction horizon as last read (`Int64.min`: none yet), read again when a batch found it moved.
    func knownHorizon() throws(PGError) -> Int64 {
        if let horizon { return horizon }
        let result = try connection.query(
            "SELECT \(SQLTime.micros("horizon")) FROM compaction_horizons WHERE sensor = $1", [sensor.name])
        let known = result.count > 0 ? result[0, 0].flatMap { Int64($0) } ?? .min : .min
        horizon = known
        return known
    }

    /// The batch's readings before `horizon` that a block holds already. Runs what is pending, then, under
    /// the shared locks of their (hour, device group) chunks (so no compaction of those runs meanwhile),
    /// marks their hours for compaction again and reads those blocks' times.
    func compactedReadings(
        _ batch: IngestBatch, ids: [String: Int32], before horizon: Int64, pending: inout [String]
    ) throws(PGError) -> Set<AlertEvaluation.Reading> {
        struct Chunk: Hashable { var device: Int32; var hour: Int64 }
        var late = Set<Chunk>()
        for span in batch.spans {
            let id = ids[span.device]!
            for row in span.rows where batch.readings.times[row] < horizon {
                late.insert(Chunk(device: id, hour: Micros.hour(of: batch.readings.times[row])))
            }
        }
        let locks = Set(late.map { chunk in
            let (classKey, objectKey) = CompactionLocks.chunk(sensor.name, hour: chunk.hour, deviceID: chunk.device)
            return [classKey, objectKey]
        }).sorted { $0.lexicographicallyPrecedes($1) }
        pending += locks.map { "SELECT pg_advisory_xact_lock_shared(\($0[0]), \($0[1]))" }
        pending.append(CompactionLocks.markPending(sensor: sensor.name, hours: Set(late.map(\.hour)).map { $0 * Micros.perHour }))
        try connection.execute(pending.joined(separator: "; "))
        pending = []
        let chunks = Array(late)
        var compacted = Set<AlertEvaluation.Reading>()
        try connection.withQuery("""
            SELECT b.device_id, b._times FROM \(tables.blocks) b
            JOIN unnest($1::int4[], $2::int8[]) AS k(device, hour)
              ON b.device_id = k.device AND b.bucket = \(SQLTime.timestamp("k.hour"))
            """, [SQLText.array(chunks.map(\.device)), SQLText.array(chunks.map { $0.hour * Micros.perHour })], binary: true) { (result) throws(PGError) in
            for row in 0..<result.rowCount {
                guard let device = result.int64(row, 0).map({ Int32(truncatingIfNeeded: $0) }) else { continue }
                for time in try CompactedBlock.times(result, row: row, column: 1, deviceID: device) {
                    compacted.insert(AlertEvaluation.Reading(device: device, time: time))
                }
            }
        }
        // Only the batch's own readings matter: keep the set small for the COPY's lookups.
        var mine = Set<AlertEvaluation.Reading>()
        for span in batch.spans {
            let id = ids[span.device]!
            for row in span.rows {
                let reading = AlertEvaluation.Reading(device: id, time: batch.readings.times[row])
                if compacted.contains(reading) { mine.insert(reading) }
            }
        }
        return mine
    }
}
