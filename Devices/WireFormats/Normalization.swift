import SensorModel

enum Normalization {
    /// Every present value finite and in range; every row carries at least one field.
    static func check(_ batch: ReadingBatch, rows: Range<Int>, sensor: SensorType) throws(DecodeError) {
        guard !rows.isEmpty else { throw DecodeError(.noFields, "the message carries no readings") }
        for row in rows {
            var present = 0
            for (index, field) in sensor.fields.enumerated() {
                let value = batch.values[index][row]
                if value.isNaN { continue }
                present += 1
                guard value.isFinite else {
                    throw DecodeError(.nonFinite, "\(field.name) is not a finite number")
                }
                guard field.contains(value) else {
                    throw DecodeError(.outOfRange, "\(field.name) = \(value) is outside \(field.min)...\(field.max) \(field.unit)")
                }
            }
            if present == 0 {
                throw DecodeError(.noFields, "a reading carries none of \(sensor.name)'s fields")
            }
        }
    }
}
