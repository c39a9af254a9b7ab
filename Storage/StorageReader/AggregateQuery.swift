import Foundation
import Postgres
import SensorModel
import StorageCore

/// Time-bucketed aggregates. Whole rollup buckets inside `[from, to)` come from the 1-hour or 1-minute
/// rollup (whichever divides the bucket); the partial edges come from raw rows. Both are partial
/// aggregates (count, sum, min, max) merged in one statement, so the result equals a GROUP BY over raw rows.
public struct AggregateQuery: Sendable {
    public var from: Int64
    public var to: Int64
    public var bucket: Int64
    public var fields: [Int]
    public var deviceIDs: [Int32]?
    public var groupByDevice: Bool
    /// Where 1-minute rollups are sure to be kept (`ReadingQueries.minuteRollupsKept`): minutes before it
    /// are aggregated from raw readings (compacted blocks, mostly); nil: rollups everywhere.
    var minuteRollupsFrom: Int64?

    public init(from: Int64, to: Int64, bucket: Int64, fields: [Int], deviceIDs: [Int32]?, groupByDevice: Bool) {
        self.from = from
        self.to = to
        self.bucket = bucket
        self.fields = fields
        self.deviceIDs = deviceIDs
        self.groupByDevice = groupByDevice
    }

    var resolution: RollupResolution? {
        if bucket % RollupResolution.hour.micros == 0 { return .hour }
        if bucket % RollupResolution.minute.micros == 0 { return .minute }
        return nil
    }

    /// The part of `[from, to)` that whole rollup buckets cover; empty when none.
    func rollupRange(_ step: Int64) -> (Int64, Int64) {
        var start = ceilDiv(from, step) * step
        if step == RollupResolution.minute.micros, let kept = minuteRollupsFrom { start = max(start, ceilDiv(kept, step) * step) }
        let end = floorDiv(to, step) * step
        return start < end ? (start, end) : (to, to)
    }
}

func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
func ceilDiv(_ a: Int64, _ b: Int64) -> Int64 { -floorDiv(-a, b) }

extension ReadingQueries {
    /// - Parameter cache: where whole days of 1-hour rollups may come from memory (see `RollupCache`).
    /// - Parameter now: µs since the epoch, for where 1-minute rollups are kept (nil: the clock's).
    public func aggregates(
        _ query: AggregateQuery, deviceNames: [Int32: String], cache: RollupCache? = nil, now: Int64? = nil, on connection: PGConnection
    ) throws(PGError) -> [AggregateSeries] {
        var query = query
        if query.resolution == .minute {
            query.minuteRollupsFrom = minuteRollupsKept(now: now ?? Int64(Date().timeIntervalSince1970 * 1_000_000))
        }
        if let cache, let hours = query.hourRollupHours {
            return aggregates(fromHourRollups: try cache.hourRollups(sensor: sensor, hours: hours, on: connection), query, deviceNames: deviceNames)
        }
        let fields = query.fields.map { sensor.fields[$0].name }
        let bin = "date_bin($5::int8 * interval '1 microsecond', %@, timestamptz 'epoch')"
        let deviceFilter = "($6::int4[] IS NULL OR device_id = ANY($6::int4[]))"
        let rawParts = fields.map { field in
            let column = tables.quoted(field)
            return "count(\(column)) AS \(tables.column(field, "c")), sum(\(column)) AS \(tables.column(field, "s")), min(\(column)) AS \(tables.column(field, "mn")), max(\(column)) AS \(tables.column(field, "mx"))"
        }.joined(separator: ", ")
        let key = query.groupByDevice ? "device_id" : "0::int4"
        let ids = query.deviceIDs.map { SQLText.array($0) }
        if let sql = directRollupStatement(query, fields: fields, key: key) {
            return try run(sql, [String(query.from), String(query.to), ids], query, fields: fields, deviceNames: deviceNames, on: connection)
        }
        var parts: [String] = []
        let (rollupFrom, rollupTo): (Int64, Int64)
        if let resolution = query.resolution {
            (rollupFrom, rollupTo) = query.rollupRange(resolution.micros)
            let rollupParts = fields.map { field in
                "sum(\(tables.column(field, "count")))::int8 AS \(tables.column(field, "c")), sum(\(tables.column(field, "sum"))) AS \(tables.column(field, "s")), min(\(tables.column(field, "min"))) AS \(tables.column(field, "mn")), max(\(tables.column(field, "max"))) AS \(tables.column(field, "mx"))"
            }.joined(separator: ", ")
            parts.append("""
                SELECT \(key) AS k, \(bin.replacingOccurrences(of: "%@", with: "bucket")) AS b, \(rollupParts)
                FROM \(tables.rollup(resolution))
                WHERE bucket >= \(Self.timestamp("$3")) AND bucket < \(Self.timestamp("$4")) AND \(deviceFilter)
                GROUP BY 1, 2
                """)
        } else {
            (rollupFrom, rollupTo) = (query.to, query.to)
        }
        // Raw edges only when the range is not made of whole rollup buckets.
        let rawEdges = rollupFrom != query.from || rollupTo != query.to
        if rawEdges { parts.append("""
            SELECT \(key) AS k, \(bin.replacingOccurrences(of: "%@", with: "time")) AS b, \(rawParts)
            FROM \(tables.readings)
            WHERE ((time >= \(Self.timestamp("$1")) AND time < \(Self.timestamp("$3"))) OR (time >= \(Self.timestamp("$4")) AND time < \(Self.timestamp("$2"))))
              AND \(deviceFilter)
            GROUP BY 1, 2
            """) }
        let merged = fields.map { field in
            "sum(\(tables.column(field, "c")))::int8, sum(\(tables.column(field, "s"))), min(\(tables.column(field, "mn"))), max(\(tables.column(field, "mx")))"
        }.joined(separator: ", ")
        var sql = """
            SELECT k, b, \(merged)\(rawEdges ? ", NULL::int4, " + Array(repeating: "NULL::bytea", count: 2 + fields.count).joined(separator: ", ") : "")
            FROM (\(parts.joined(separator: "\nUNION ALL\n"))) AS parts
            WHERE $1::int8 < $2::int8  -- always true (from < to); keeps $1 and $2 typed when there are no raw edges
            GROUP BY k, b
            """
        if rawEdges {
            // The raw edges' compacted readings: the blocks themselves (in the same snapshot), aggregated in `run`.
            let partNulls = fields.map { _ in "NULL::int8, NULL::float8, NULL::float8, NULL::float8" }.joined(separator: ", ")
            let encoded = (["_times", "NULL::bytea"] + fields.map { tables.quoted($0) }).joined(separator: ", ")
            sql += """

                UNION ALL
                SELECT NULL::int4, bucket, \(partNulls), device_id, \(encoded) FROM \(tables.blocks)
                WHERE ((bucket > \(Self.timestamp("$1")) - interval '1 hour' AND bucket < \(Self.timestamp("$3")))
                    OR (bucket > \(Self.timestamp("$4")) - interval '1 hour' AND bucket < \(Self.timestamp("$2"))))
                  AND \(deviceFilter)
                """
        }
        let parameters = [String(query.from), String(query.to), String(rollupFrom), String(rollupTo), String(query.bucket), ids]
        let edges = rawEdges ? [query.from..<rollupFrom, rollupTo..<query.to] : []
        return try run(sql, parameters, query, fields: fields, deviceNames: deviceNames, blockEdges: edges, on: connection)
    }

    /// From when 1-minute rollups are surely there: retention deletes them after `rollup_1m`, and minutes
    /// before that are aggregated from raw readings instead, which outlive them (compacted, they decode
    /// fast: the lean-rollups choice of docs/storage.md). An hour's margin for clocks and retention's pace;
    /// nil when rollups are kept as long as raw readings or longer (then they answer for every minute).
    func minuteRollupsKept(now: Int64) -> Int64? {
        guard let keep = sensor.retention.rollup1m else { return nil }
        if let raw = sensor.retention.raw, raw < keep { return nil }
        return now - keep.components.seconds * 1_000_000 + Micros.perHour
    }

    /// When the bucket is exactly a rollup's step, the range is made of whole buckets and no two devices
    /// fold into one series, the answer is the rollup rows themselves: read them in whatever order the
    /// scan gives, without raw rows, GROUP BY or ORDER BY (the 7 days × 1 h × all devices case).
    func directRollupStatement(_ query: AggregateQuery, fields: [String], key: String) -> String? {
        guard let resolution = query.resolution, query.bucket == resolution.micros,
              query.rollupRange(resolution.micros) == (query.from, query.to),
              query.groupByDevice || query.deviceIDs?.count == 1 else { return nil }
        let columns = tables.rollupColumns(fields).joined(separator: ", ")
        return """
            SELECT \(key), bucket, \(columns)
            FROM \(tables.rollup(resolution))
            WHERE bucket >= \(Self.timestamp("$1")) AND bucket < \(Self.timestamp("$2"))
              AND ($3::int4[] IS NULL OR device_id = ANY($3::int4[]))
            """  // no ORDER BY: sorting 168k rows cost more than the scan; `run` groups and orders them
    }

    /// Runs a statement whose rows are (device key int4, bucket timestamptz, then count, sum, min, max per
    /// field), in any order, and splits them into one series per key and field, ordered by key, points by
    /// bucket. Reads the result in binary, in place: no text parsing and no strings per cell.
    /// Rows whose key is NULL are compacted blocks (device, then `_times`, a NULL and the fields' columns):
    /// their readings inside `blockEdges` are aggregated here and merged with the statement's points.
    private func run(
        _ sql: String, _ parameters: [String?], _ query: AggregateQuery, fields: [String], deviceNames: [Int32: String],
        blockEdges: [Range<Int64>] = [], on connection: PGConnection
    ) throws(PGError) -> [AggregateSeries] {
        try connection.withQuery(sql, parameters, binary: true) { (result) throws(PGError) -> [AggregateSeries] in
            // Per key, one point array per field; keys in first-seen order, sorted at the end.
            var slots: [Int64: Int] = [:]
            var dense: [Int] = []
            var keys: [Int64] = []
            var points: [[[AggregatePoint]]] = []
            var lastKey: Int64 = .min, lastSlot = -1
            func slot(_ key: Int64) -> Int {
                if key >= 0 && key < 1 << 20 {
                    // Device ids are small serials: a flat table instead of hashing (rows may alternate keys).
                    let at = Int(key)
                    if at >= dense.count { dense.append(contentsOf: repeatElement(-1, count: Swift.max(at + 1, dense.count * 2) - dense.count)) }
                    if dense[at] < 0 {
                        dense[at] = keys.count
                        keys.append(key)
                        points.append(Array(repeating: [], count: fields.count))
                    }
                    return dense[at]
                }
                if let known = slots[key] { return known }
                slots[key] = keys.count
                keys.append(key)
                points.append(Array(repeating: [], count: fields.count))
                return keys.count - 1
            }
            var blocks = BlockAggregates(step: query.bucket, edges: blockEdges, fieldCount: fields.count)
            for row in 0..<result.rowCount {
                if !blockEdges.isEmpty && result.isNull(row, 0) {
                    try blocks.add(result, row: row, at: 2 + 4 * fields.count, groupByDevice: query.groupByDevice)
                    continue
                }
                let key = result.int64(row, 0) ?? .min
                if key != lastKey || lastSlot < 0 {
                    lastSlot = slot(key)
                    lastKey = key
                }
                guard let time = result.unixMicros(row, 1) else { throw PGError(sqlState: nil, message: "aggregate row without a bucket") }
                for index in fields.indices {
                    let base = 2 + index * 4
                    guard let count = result.int64(row, base), count > 0 else { continue }
                    points[lastSlot][index].append(AggregatePoint(
                        time: time, count: count, sum: result.double(row, base + 1)!, min: result.double(row, base + 2)!,
                        max: result.double(row, base + 3)!))
                }
            }
            // Compacted readings' points after the statement's: a bin both have is merged below, in that order.
            for (key, field, point) in blocks.points() { points[slot(key)][field].append(point) }
            var series: [AggregateSeries] = []
            for slot in keys.indices.sorted(by: { keys[$0] < keys[$1] }) {
                let key = keys[slot]
                let device = query.groupByDevice && key != .min ? deviceNames[Int32(truncatingIfNeeded: key)] : nil
                for index in fields.indices where !points[slot][index].isEmpty {
                    var list = points[slot][index]
                    points[slot][index] = []
                    if !zip(list, list.dropFirst()).allSatisfy({ $0.time < $1.time }) {
                        list.sort { $0.time < $1.time }
                        list = AggregatePoint.merged(list)
                    }
                    series.append(AggregateSeries(device: device, field: fields[index], points: list))
                }
            }
            return series
        }
    }
}
