import Postgres
import StorageCore

/// Partial aggregates (count, sum, min, max per field and bin) of the compacted readings an aggregate's raw
/// edges cover: what a GROUP BY over those readings' heap rows gave before they were compacted.
struct BlockAggregates {
    struct Key: Hashable {
        var key: Int64
        var bin: Int64
    }

    let step: Int64
    let edges: [Range<Int64>]
    let fieldCount: Int
    private var partials: [Key: [AggregatePoint?]] = [:]

    init(step: Int64, edges: [Range<Int64>], fieldCount: Int) {
        self.step = step
        self.edges = edges
        self.fieldCount = fieldCount
    }

    /// A block row: the device at column `start`, then `_times`, `_seqs` (NULL) and the fields' columns.
    mutating func add(_ result: PGRawResult, row: Int, at start: Int, groupByDevice: Bool) throws(PGError) {
        guard let device = result.int64(row, start).map({ Int32(truncatingIfNeeded: $0) }), let bucket = result.unixMicros(row, 1) else { return }
        let block = try CompactedBlock.decode(result, row: row, from: start + 1, deviceID: device, bucket: bucket, fieldCount: fieldCount)
        let key = groupByDevice ? Int64(device) : 0
        for index in 0..<block.count {
            let time = block.times[index]
            guard edges.contains(where: { $0.contains(time) }) else { continue }
            let bin = Key(key: key, bin: floorDiv(time, step) * step)
            var fields = partials[bin] ?? Array(repeating: nil, count: fieldCount)
            for field in 0..<fieldCount {
                let value = block.values[field][index]
                if value.isNaN { continue }
                if var point = fields[field] {
                    point.count += 1
                    point.sum += value
                    point.min = Swift.min(point.min, value)
                    point.max = Swift.max(point.max, value)
                    fields[field] = point
                } else {
                    fields[field] = AggregatePoint(time: bin.bin, count: 1, sum: value, min: value, max: value)
                }
            }
            partials[bin] = fields
        }
    }

    /// Every partial point with its key and field index.
    func points() -> [(key: Int64, field: Int, point: AggregatePoint)] {
        partials.flatMap { bin, fields in
            fields.enumerated().compactMap { field, point in point.map { (bin.key, field, $0) } }
        }
    }
}

extension AggregatePoint {
    /// Points sorted by time with those of one time folded into one, in order (sums added left to right).
    static func merged(_ sorted: [AggregatePoint]) -> [AggregatePoint] {
        var merged: [AggregatePoint] = []
        merged.reserveCapacity(sorted.count)
        for point in sorted {
            if var last = merged.last, last.time == point.time {
                last.count += point.count
                last.sum += point.sum
                last.min = Swift.min(last.min, point.min)
                last.max = Swift.max(last.max, point.max)
                merged[merged.count - 1] = last
            } else {
                merged.append(point)
            }
        }
        return merged
    }
}
