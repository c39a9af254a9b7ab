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
