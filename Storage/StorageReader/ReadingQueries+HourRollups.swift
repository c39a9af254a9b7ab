import Postgres
import StorageCore

extension AggregateQuery {
    /// The hours whose 1-hour rollups answer this query in full, when they do: buckets that are whole
    /// hours and a range made of whole hours (no raw edges), of at most two months (longer ranges are
    /// cheaper folded by PostgreSQL than carried over as rows).
    var hourRollupHours: ClosedRange<Int64>? {
        guard resolution == .hour, rollupRange(Micros.perHour) == (from, to), to - from <= 62 * Micros.perDay else { return nil }
        return Micros.hour(of: from)...Micros.hour(of: to - 1)
    }
}

extension ReadingQueries {
    /// Folds cached 1-hour rollup rows into the query's buckets, the way the SQL path's GROUP BY does:
    /// counts added, sums added, min of mins, max of maxes; series ordered by device id, points by time.
    func aggregates(fromHourRollups hours: [RollupCache.Hour], _ query: AggregateQuery, deviceNames: [Int32: String]) -> [AggregateSeries] {
        let wanted = query.deviceIDs.map(Set.init)
        let names = query.fields.map { sensor.fields[$0].name }
        let firstHour = Micros.hour(of: query.from)
        guard query.groupByDevice else {
            return [Accumulator](oneSeries: hours, firstHour: firstHour, query, wanted: wanted).series(names: names, device: nil)
        }
        // A device has at most one row an hour and hours come in order, so each device's points ascend:
        // a row either extends the device's last point (a bucket wider than an hour) or starts a new one.
        var slots = DeviceSlots()
        var devices: [Int32] = []
        var points: [[[AggregatePoint]]] = []
        for (offset, rows) in hours.enumerated() {
            let time = (firstHour + Int64(offset)) * Micros.perHour
            let start = floorDiv(time, query.bucket) * query.bucket
            for row in rows.deviceIDs.indices {
                let device = rows.deviceIDs[row]
                if let wanted, !wanted.contains(device) { continue }
                var slot = slots[device]
                if slot < 0 {
                    slot = devices.count
                    slots[device] = slot
                    devices.append(device)
                    points.append(Array(repeating: [], count: query.fields.count))
                }
                for (index, field) in query.fields.enumerated() {
                    let count = rows.counts[field][row]
                    guard count > 0 else { continue }
                    let point = AggregatePoint(time: start, count: count, sum: rows.sums[field][row], min: rows.mins[field][row], max: rows.maxs[field][row])
                    if let last = points[slot][index].last, last.time == start {
                        points[slot][index][points[slot][index].count - 1] = last.folding(point)
                    } else {
                        points[slot][index].append(point)
                    }
                }
            }
        }
        var series: [AggregateSeries] = []
        for slot in devices.indices.sorted(by: { devices[$0] < devices[$1] }) {
            for index in names.indices where !points[slot][index].isEmpty {
                series.append(AggregateSeries(device: deviceNames[devices[slot]], field: names[index], points: points[slot][index]))
            }
        }
        return series
    }
}

/// Device id → series slot (-1: none yet): a flat table for the small serial ids devices get, a
/// dictionary beyond.
private struct DeviceSlots {
    private var dense: [Int] = []
    private var sparse: [Int32: Int] = [:]

    subscript(device: Int32) -> Int {
        get {
            guard device >= 0 && device < 1 << 22 else { return sparse[device] ?? -1 }
            return Int(device) < dense.count ? dense[Int(device)] : -1
        }
        set {
            guard device >= 0 && device < 1 << 22 else { sparse[device] = newValue; return }
            let at = Int(device)
            if at >= dense.count { dense.append(contentsOf: repeatElement(-1, count: Swift.max(at + 1, dense.count * 2) - dense.count)) }
            dense[at] = newValue
        }
    }
}

extension AggregatePoint {
    func folding(_ other: AggregatePoint) -> AggregatePoint {
        AggregatePoint(time: time, count: count + other.count, sum: sum + other.sum, min: Swift.min(min, other.min), max: Swift.max(max, other.max))
    }
}

/// One field's buckets over all chosen devices, dense by bucket index.
private struct Accumulator {
    var first: Int64
    var bucket: Int64
    var counts: [Int64]
    var sums: [Double]
    var mins: [Double]
    var maxs: [Double]

    init(first: Int64, bucket: Int64, count: Int) {
        self.first = first
        self.bucket = bucket
        counts = Array(repeating: 0, count: count)
        sums = Array(repeating: 0, count: count)
        mins = Array(repeating: .infinity, count: count)
        maxs = Array(repeating: -.infinity, count: count)
    }
}

extension [Accumulator] {
    init(oneSeries hours: [RollupCache.Hour], firstHour: Int64, _ query: AggregateQuery, wanted: Set<Int32>?) {
        let first = floorDiv(query.from, query.bucket)
        let count = Int(floorDiv(query.to - 1, query.bucket) - first + 1)
        self = query.fields.map { _ in Accumulator(first: first, bucket: query.bucket, count: count) }
        for (offset, rows) in hours.enumerated() {
            let at = Int(floorDiv((firstHour + Int64(offset)) * Micros.perHour, query.bucket) - first)
            for row in rows.deviceIDs.indices {
                if let wanted, !wanted.contains(rows.deviceIDs[row]) { continue }
                for (index, field) in query.fields.enumerated() {
                    let n = rows.counts[field][row]
                    guard n > 0 else { continue }
                    self[index].counts[at] += n
                    self[index].sums[at] += rows.sums[field][row]
                    self[index].mins[at] = Swift.min(self[index].mins[at], rows.mins[field][row])
                    self[index].maxs[at] = Swift.max(self[index].maxs[at], rows.maxs[field][row])
                }
            }
        }
    }

    func series(names: [String], device: String?) -> [AggregateSeries] {
        zip(self, names).compactMap { accumulator, name in
            var points: [AggregatePoint] = []
            for at in accumulator.counts.indices where accumulator.counts[at] > 0 {
                points.append(AggregatePoint(
                    time: (accumulator.first + Int64(at)) * accumulator.bucket, count: accumulator.counts[at],
                    sum: accumulator.sums[at], min: accumulator.mins[at], max: accumulator.maxs[at]))
            }
            return points.isEmpty ? nil : AggregateSeries(device: device, field: name, points: points)
        }
    }
}
