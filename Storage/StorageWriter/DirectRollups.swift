import Postgres
import SensorModel
import StorageCore

/// The fast path's rollups: when a batch's binary COPY went straight into the readings table, every row
/// of the batch was inserted, so its 1-minute and 1-hour partial aggregates are computed here, sent in
/// one COPY into a temporary table made once per session, and merged into the rollup tables by CTEs of
/// the writer's one prepared statement (keys in sorted order, so writers cannot deadlock).
struct DirectRollups: Sendable {
    /// The session's staging table: both resolutions, told apart by `minutes` (1 or 60).
    let createSQL: String
    let copySQL: String
    /// `minute_rollup AS (...), hour_rollup AS (...)`: merge the staged rows (see `BatchWriter.prepareSession`).
    let mergeCTEs: String

    init(tables: SensorTables) {
        let fields = tables.sensor.fields.map(\.name)
        let columns = (["device_id", "bucket"] + tables.rollupColumns(fields)).joined(separator: ", ")
        let staging = tables.quoted("stage_\(tables.sensor.name)_rollups")
        createSQL = "CREATE TEMP TABLE IF NOT EXISTS \(staging) (minutes int4 NOT NULL, LIKE \(tables.rollup1h)) ON COMMIT DELETE ROWS"
        copySQL = "COPY \(staging) (minutes, \(columns)) FROM STDIN (FORMAT binary)"
        mergeCTEs = RollupResolution.allCases.map { resolution in
            """
            \(resolution == .minute ? "minute_rollup" : "hour_rollup") AS (
                INSERT INTO \(tables.rollup(resolution)) AS r (\(columns))
                SELECT \(columns) FROM \(staging) WHERE minutes = \(resolution.micros / 60_000_000) ORDER BY device_id, bucket
                ON CONFLICT (device_id, bucket) DO UPDATE SET \(BatchWriter.rollupMerge(tables: tables))
            )
            """
        }.joined(separator: ",\n")
    }

    /// Both resolutions' partial aggregates of every row of the batch, as the body of `copySQL`.
    func copyBody(_ batch: IngestBatch, ids: [String: Int32]) -> [UInt8] {
        var copy = PGBinaryCopy(reservingCapacity: batch.spans.count * 2 * (28 + batch.readings.fieldCount * 48))
        for resolution in RollupResolution.allCases {
            var accumulator = Accumulator(fieldCount: batch.readings.fieldCount, step: resolution.micros)
            for span in batch.spans {
                let id = ids[span.device]!
                for row in span.rows { accumulator.add(device: id, row: row, of: batch.readings) }
            }
            accumulator.append(minutes: Int32(resolution.micros / 60_000_000), to: &copy)
        }
        return copy.finish()
    }

    /// count, sum, min, max per field for each (device, bucket), present values only.
    struct Accumulator {
        struct Key: Hashable, Comparable {
            var device: Int32
            var bucket: Int64
            static func < (a: Key, b: Key) -> Bool { (a.device, a.bucket) < (b.device, b.bucket) }
        }

        let fieldCount: Int
        let step: Int64
        private var slots: [Key: Int] = [:]
        private var keys: [Key] = []
        private var counts: [Int64] = []
        private var sums: [Double] = []
        private var minimums: [Double] = []
        private var maximums: [Double] = []
        private var lastKey: Key?
        private var lastSlot = 0

        init(fieldCount: Int, step: Int64) {
            self.fieldCount = fieldCount
            self.step = step
        }

        mutating func add(device: Int32, row: Int, of readings: ReadingBatch) {
            let time = readings.times[row]
            let key = Key(device: device, bucket: (time >= 0 ? time / step : (time - step + 1) / step) * step)
            // Rows of a device arrive in runs, mostly within one bucket: skip the hash lookup for those.
            let slot: Int
            if key == lastKey {
                slot = lastSlot
            } else if let known = slots[key] {
                slot = known
            } else {
                slot = keys.count
                slots[key] = slot
                keys.append(key)
                counts += repeatElement(0, count: fieldCount)
                sums += repeatElement(0, count: fieldCount)
                minimums += repeatElement(.infinity, count: fieldCount)
                maximums += repeatElement(-.infinity, count: fieldCount)
            }
            lastKey = key
            lastSlot = slot
            let base = slot * fieldCount
            for field in 0..<fieldCount {
                let value = readings.values[field][row]
                if value.isNaN { continue }
                counts[base + field] += 1
                sums[base + field] += value
                minimums[base + field] = min(minimums[base + field], value)
                maximums[base + field] = max(maximums[base + field], value)
            }
        }

        /// Rows in key order, each led by `minutes`.
        func append(minutes: Int32, to copy: inout PGBinaryCopy) {
            for slot in keys.indices.sorted(by: { keys[$0] < keys[$1] }) {
                copy.startRow(columns: 3 + 4 * fieldCount)
                copy.appendInt32(minutes)
                copy.appendInt32(keys[slot].device)
                copy.appendTimestamp(unixMicros: keys[slot].bucket)
                for field in 0..<fieldCount {
                    let index = slot * fieldCount + field
                    copy.appendInt64(counts[index])
                    // A field with no present value in the bucket keeps NULL sum/min/max, as SQL aggregates do.
                    let present = counts[index] > 0
                    copy.appendFloat64OrNull(present ? sums[index] : .nan)
                    copy.appendFloat64OrNull(present ? minimums[index] : .nan)
                    copy.appendFloat64OrNull(present ? maximums[index] : .nan)
                }
            }
        }
    }
}
