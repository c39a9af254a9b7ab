import Postgres

extension AggregateQuery {
    /// The UTC days whose 1-hour rollups answer this query in full, when they do: buckets that are whole
    /// hours and a range made of whole hours (no raw edges), within a sane number of buckets.
    var hourRollupDays: ClosedRange<Int64>? {
        guard resolution == .hour, rollupRange(RollupResolution.hour.micros) == (from, to) else { return nil }
        guard floorDiv(to - 1, bucket) - floorDiv(from, bucket) < 1_000_000 else { return nil }
        return Micros.day(of: from)...Micros.day(of: to - 1)
    }
}

extension ReadingQueries {
    /// Folds cached 1-hour rollup rows into the query's buckets, the way the SQL path's GROUP BY does:
    /// counts added, sums added, min of mins, max of maxes; series ordered by device id, points by time.
    func aggregates(fromHourRollups days: [RollupCache.Day], _ query: AggregateQuery, deviceNames: [Int32: String]) -> [AggregateSeries] {
        let wanted = query.deviceIDs.map(Set.init)
        let names = query.fields.map { sensor.fields[$0].name }
        if !query.groupByDevice {
            return [Accumulator](oneSeries: days, query, wanted: wanted).series(names: names, device: nil)
        }
        // Rows are sorted by device, then bucket, and days come in order: per device, buckets ascend, so a
        // point either extends the device's last point (a bucket wider than an hour) or starts a new one.
        var slotOfDevice: [Int32: Int] = [:]
        var devices: [Int32] = []
        var points: [[[AggregatePoint]]] = []
        for day in days {
            var lastDevice: Int32 = -1
            var slot = -1
            for row in day.buckets.indices {
                let time = day.buckets[row]
                guard time >= query.from, time < query.to else { continue }
                let device = day.deviceIDs[row]
                if device != lastDevice {
                    lastDevice = device
                    if let wanted, !wanted.contains(device) {
                        slot = -1
                    } else if let existing = slotOfDevice[device] {
                        slot = existing
                    } else {
                        slot = devices.count
                        slotOfDevice[device] = slot
                        devices.append(device)
                        points.append(Array(repeating: [], count: query.fields.count))
                    }
                }
                guard slot >= 0 else { continue }
                let start = floorDiv(time, query.bucket) * query.bucket
                for (index, field) in query.fields.enumerated() {
                    let count = day.counts[field][row]
                    guard count > 0 else { continue }
                    let point = AggregatePoint(time: start, count: count, sum: day.sums[field][row], min: day.mins[field][row], max: day.maxs[field][row])
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

extension AggregatePoint {
    func folding(_ other: AggregatePoint) -> AggregatePoint {
        AggregatePoint(time: time, count: count + other.count, sum: sum + other.sum, min: Swift.min(min, other.min), max: Swift.max(max, other.max))
    }
}

/// One field's buckets over all chosen devices, dense by bucket index (at most ~1M buckets, checked).
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
    init(oneSeries days: [RollupCache.Day], _ query: AggregateQuery, wanted: Set<Int32>?) {
        let first = floorDiv(query.from, query.bucket)
        let count = Int(floorDiv(query.to - 1, query.bucket) - first + 1)
        self = query.fields.map { _ in Accumulator(first: first, bucket: query.bucket, count: count) }
        for day in days {
            for row in day.buckets.indices {
                let time = day.buckets[row]
                guard time >= query.from, time < query.to else { continue }
                if let wanted, !wanted.contains(day.deviceIDs[row]) { continue }
                let at = Int(floorDiv(time, query.bucket) - first)
                for (index, field) in query.fields.enumerated() {
                    let n = day.counts[field][row]
                    guard n > 0 else { continue }
                    self[index].counts[at] += n
                    self[index].sums[at] += day.sums[field][row]
                    self[index].mins[at] = Swift.min(self[index].mins[at], day.mins[field][row])
                    self[index].maxs[at] = Swift.max(self[index].maxs[at], day.maxs[field][row])
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
