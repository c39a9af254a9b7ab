import SensorModel

/// Every present value finite and in range; every row carries at least one field.
struct Normalization: Sendable {
    let sensor: SensorType
    let minimums: [Double]
    let maximums: [Double]

    init(sensor: SensorType) {
        self.sensor = sensor
        minimums = sensor.fields.map(\.min)
        maximums = sensor.fields.map(\.max)
    }

    func check(_ batch: ReadingBatch, rows: Range<Int>) throws(DecodeError) {
        guard !rows.isEmpty else { throw DecodeError(.noFields, "the message carries no readings") }
        var sawMissing = false
        for field in 0..<minimums.count {
            // Catalog bounds are finite, so this also catches ±infinity; NaN (missing) is counted apart.
            let (outside, missing) = batch.scan(field: field, rows: rows, minimum: minimums[field], maximum: maximums[field])
            if let outside { throw error(field: field, value: batch.values[field][outside]) }
            sawMissing = sawMissing || missing
        }
        guard sawMissing else { return }
        for row in rows where (0..<minimums.count).allSatisfy({ batch.values[$0][row].isNaN }) {
            throw DecodeError(.noFields, "a reading carries none of \(sensor.name)'s fields")
        }
    }

    private func error(field index: Int, value: Double) -> DecodeError {
        let field = sensor.fields[index]
        guard value.isFinite else { return DecodeError(.nonFinite, "\(field.name) is not a finite number") }
        return Self.outOfRange(field, value)
    }

    static func outOfRange(_ field: Field, _ value: Double) -> DecodeError {
        DecodeError(.outOfRange, "\(field.name) = \(value) is outside \(field.min)...\(field.max) \(field.unit)")
    }
}
