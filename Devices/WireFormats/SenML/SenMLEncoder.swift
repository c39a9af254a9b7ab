import SensorModel

/// Encodes readings as a SenML pack: one record per present value, the first carrying the base
/// time, the rest a time relative to it. Shared by the JSON and CBOR encoders.
struct SenMLPackWriter {
    struct Record {
        var baseTime: Double?
        var name: String
        var unit: String
        var value: Double
        var time: Double?
    }

    static func records(_ batch: ReadingBatch, rows: Range<Int>, sensor: SensorType) -> [Record] {
        guard let first = rows.first else { return [] }
        let base = batch.times[first]
        var records: [Record] = []
        for row in rows {
            let offset = batch.times[row] - base
            for (index, field) in sensor.fields.enumerated() {
                let value = batch.values[index][row]
                if value.isNaN { continue }
                records.append(Record(
                    baseTime: records.isEmpty ? Double(base) / 1e6 : nil,
                    name: field.name, unit: field.unit, value: value,
                    time: offset == 0 ? nil : Double(offset) / 1e6))
            }
        }
        return records
    }
}

/// SenML JSON, e.g. `[{"bt":1767225600,"n":"celsius","u":"Cel","v":21.5}]`. Needs times after 1978 (2^28 s).
public struct SenMLJSONEncoder: PayloadEncoder {
    let sensor: SensorType

    public init(sensor: SensorType) { self.sensor = sensor }

    public func encode(_ batch: ReadingBatch, rows: Range<Int>, seq: UInt32) -> [UInt8] {
        var out = "["
        for (index, record) in SenMLPackWriter.records(batch, rows: rows, sensor: sensor).enumerated() {
            if index > 0 { out += "," }
            out += "{"
            if let baseTime = record.baseTime { out += "\"bt\":\(baseTime)," }
            out += "\"n\":\"\(record.name)\",\"u\":\"\(record.unit)\",\"v\":\(record.value)"
            if let time = record.time { out += ",\"t\":\(time)" }
            out += "}"
        }
        out += "]"
        return Array(out.utf8)
    }
}

/// SenML CBOR with the RFC's integer labels and float64 numbers.
public struct SenMLCBOREncoder: PayloadEncoder {
    let sensor: SensorType

    public init(sensor: SensorType) { self.sensor = sensor }

    public func encode(_ batch: ReadingBatch, rows: Range<Int>, seq: UInt32) -> [UInt8] {
        let records = SenMLPackWriter.records(batch, rows: rows, sensor: sensor)
        var writer = CBORWriter()
        writer.array(count: records.count)
        for record in records {
            writer.map(count: 3 + (record.baseTime == nil ? 0 : 1) + (record.time == nil ? 0 : 1))
            if let baseTime = record.baseTime {
                writer.integer(-3)
                writer.double(baseTime)
            }
            writer.integer(0)
            writer.text(record.name)
            writer.integer(1)
            writer.text(record.unit)
            writer.integer(2)
            writer.double(record.value)
            if let time = record.time {
                writer.integer(6)
                writer.double(time)
            }
        }
        return writer.bytes
    }
}
