import SensorModel

/// Decodes a SenML pack in JSON (RFC 8428 §5) with the hand-written `JSONReader`
/// (measured against JSONSerialization in Tools/Benchmarks/DecodeBenchmark).
public struct SenMLJSONDecoder: PayloadDecoder {
    let fields: SenMLFields

    public init(sensor: SensorType) {
        fields = SenMLFields(sensor: sensor)
    }

    public func decode(_ payload: UnsafeRawBufferPointer, receivedAt: Int64, into batch: inout ReadingBatch) throws(DecodeError) {
        var reader = JSONReader(payload)
        var resolver = SenMLResolver(fields: fields, receivedAt: receivedAt, firstRow: batch.count)
        try reader.expect(UInt8(ascii: "["))
        if !reader.consume(UInt8(ascii: "]")) {
            repeat {
                try reader.expect(UInt8(ascii: "{"))
                let record = try Self.record(&reader)
                try resolver.add(record, into: &batch)
            } while reader.consume(UInt8(ascii: ","))
            try reader.expect(UInt8(ascii: "]"))
        }
        reader.skipWhitespace()
        guard reader.isAtEnd else { throw reader.malformed("has bytes after the pack") }
    }

    /// Reads one record's members, after its `{`, through its `}`.
    static func record(_ reader: inout JSONReader) throws(DecodeError) -> SenMLRecord {
        var record = SenMLRecord()
        if reader.consume(UInt8(ascii: "}")) { return record }
        repeat {
            let label = try reader.label()
            try reader.expect(UInt8(ascii: ":"))
            try record.mark(label)
            let item = try reader.item()
            switch (label, item) {
            case (.baseName, .text(let text)): record.baseName = text
            case (.baseUnit, .text(let text)): record.baseUnit = text
            case (.name, .text(let text)): record.name = text
            case (.unit, .text(let text)): record.unit = text
            case (.baseTime, .number(let number)): record.baseTime = number
            case (.baseValue, .number(let number)): record.baseValue = number
            case (.baseVersion, .number(let number)): record.baseVersion = number
            case (.value, .number(let number)): record.value = number
            case (.time, .number(let number)): record.time = number
            case (.stringValue, .text), (.boolValue, .bool), (.dataValue, .text):
                record.otherValue = label
            case (.sum, .number): record.otherValue = record.otherValue ?? label
            case (.baseSum, .number), (.updateTime, .number), (.unknown, _):
                break
            default:
                throw DecodeError(.badSenML, "senml '\(label.text)' has the wrong JSON type")
            }
        } while reader.consume(UInt8(ascii: ","))
        try reader.expect(UInt8(ascii: "}"))
        return record
    }
}
