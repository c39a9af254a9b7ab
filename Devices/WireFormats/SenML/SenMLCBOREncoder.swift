import SensorModel

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
