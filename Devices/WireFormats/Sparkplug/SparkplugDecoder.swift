import SensorModel

/// Reads a Sparkplug B payload's metrics into readings: a metric by its name, or by the name its alias
/// stands for (the edge node's BIRTH's, through `resolve`), mapped to a field by the source's metric names,
/// else the field's name and aliases; at the metric's timestamp, else the payload's (ms). Metrics of one
/// time make one row; metrics no field maps (strings, `bdSeq`, `Node Control/...`) are skipped and counted.
public struct SparkplugDecoder: Sendable {
    /// Metric name → (field, rank: the name's place in the field's list; the lower wins).
    let fields: [[UInt8]: (field: Int, rank: Int)]
    let fieldNames: [String]
    static let maxReadings = 4096

    public init(sensor: SensorType, source: Source?) {
        var fields: [[UInt8]: (field: Int, rank: Int)] = [:]
        for (index, field) in sensor.fields.enumerated() {
            for (rank, name) in (source?.fields[field.name] ?? ([field.name] + field.aliases)).enumerated() where fields[Array(name.utf8)] == nil {
                fields[Array(name.utf8)] = (index, rank)
            }
        }
        self.fields = fields
        fieldNames = sensor.fields.map(\.name)
    }

    /// - Parameter resolve: the name and datatype an alias stands for; nil when no BIRTH defined it.
    public func decode(
        _ payload: SparkplugPayload, resolve: (UInt64) -> (name: [UInt8], datatype: UInt32?)?, into batch: inout ReadingBatch, skipped: inout Int
    ) throws(DecodeError) {
        if let seq = payload.seq, seq > 255 { throw DecodeError(.badSparkplug, "seq \(seq) is outside 0...255") }
        let first = batch.count
        var ranks: [Int: [Int]] = [:]  // row → rank per field that set it
        for metric in payload.metrics {
            var name = metric.name
            var datatype = metric.datatype
            if let alias = metric.alias, name == nil {
                guard let known = resolve(alias) else {
                    throw DecodeError(.badSparkplug, "alias \(alias) is in no BIRTH of this edge node (a rebirth is requested)")
                }
                name = known.name
                datatype = datatype ?? known.datatype
            }
            guard let name else { throw DecodeError(.badSparkplug, "a metric has neither a name nor an alias") }
            guard let (field, rank) = fields[name] else { skipped += 1; continue }
            if metric.isNull { continue }
            guard let value = metric.number(datatype: datatype) else {
                throw DecodeError(.badValue, "\(fieldNames[field]) (metric '\(UplinkDecoder.shown(name))') is not a number its datatype (\(datatype.map(String.init) ?? "none")) holds")
            }
            // NaN would read as "not carried" further on: a device's NaN is an error, as in every format.
            guard value.isFinite else { throw DecodeError(.nonFinite, "\(fieldNames[field]) (metric '\(UplinkDecoder.shown(name))') is not a finite number") }
            guard let milliseconds = metric.timestamp ?? payload.timestamp, milliseconds < 100_000_000_000_000 else {
                throw DecodeError(.badTime, "metric '\(UplinkDecoder.shown(name))' has no timestamp, nor has its payload (or it is past the year 5000)")
            }
            let time = Int64(milliseconds) * 1000
            let row: Int
            if let existing = batch.firstRow(at: time, in: first..<batch.count) {
                row = existing
            } else {
                guard batch.count - first < Self.maxReadings else {
                    throw DecodeError(.sampleCount, "a Sparkplug payload carries at most \(Self.maxReadings) readings")
                }
                row = batch.appendRow(time: time, seq: payload.seq.map { Int64(clamping: $0) } ?? ReadingBatch.noSeq)
                ranks[row] = Array(repeating: Int.max, count: fieldNames.count)
            }
            let earlier = ranks[row]![field]
            if rank < earlier {
                if earlier != Int.max { skipped += 1 }
                batch.set(field: field, row: row, value)
                ranks[row]![field] = rank
            } else if rank == earlier {
                throw DecodeError(.duplicateField, "\(fieldNames[field]) appears twice at one time in a Sparkplug payload")
            } else {
                skipped += 1
            }
        }
    }
}

/// Rows as a Sparkplug B DATA payload, a metric per present field named after it (no aliases): the
/// emulator's `--format sparkplug` has no edge node, so this is for the format's round trips.
public struct SparkplugReadingEncoder: PayloadEncoder {
    let fieldNames: [[UInt8]]

    public init(sensor: SensorType) { fieldNames = sensor.fields.map { Array($0.name.utf8) } }

    public func encode(_ batch: ReadingBatch, rows: Range<Int>, seq: UInt32) -> [UInt8] {
        var payload = SparkplugPayload(timestamp: rows.isEmpty ? nil : UInt64(batch.times[rows.lowerBound] / 1000), seq: UInt64(seq % 256))
        for row in rows {
            for (field, name) in fieldNames.enumerated() {
                guard let value = batch.value(field: field, row: row) else { continue }
                var metric = SparkplugMetric(timestamp: UInt64(batch.times[row] / 1000), datatype: .double, value: .double(value))
                metric.name = name
                payload.metrics.append(metric)
            }
        }
        return SparkplugEncoder.encode(payload)
    }
}
