import SensorModel

/// Encodes the first row's value of one field as text (shortest form that reads back exactly).
public struct TextEncoder: PayloadEncoder {
    let field: Int

    public init(sensor: SensorType) { field = 0 }

    public init(field: Int) { self.field = field }

    public func encode(_ batch: ReadingBatch, rows: Range<Int>, seq: UInt32) -> [UInt8] {
        Array((batch.value(field: field, row: rows.lowerBound) ?? 0).description.utf8)
    }
}
