import SensorModel

/// Decodes a SenML pack in CBOR (RFC 8428 §6): an array of maps keyed by integer labels.
public struct SenMLCBORDecoder: PayloadDecoder {
    let fields: SenMLFields

    public init(sensor: SensorType) {
        fields = SenMLFields(sensor: sensor)
    }

    public func decode(_ payload: UnsafeRawBufferPointer, receivedAt: Int64, into batch: inout ReadingBatch) throws(DecodeError) {
        var reader = CBORReader(payload)
        var resolver = SenMLResolver(fields: fields, receivedAt: receivedAt, firstRow: batch.count)
        let count = try reader.container(major: 4, what: "the pack (an array)")
        var index = 0
        while try reader.hasEntry(index, of: count) {
            try resolver.add(try Self.record(&reader), into: &batch)
            index += 1
        }
        guard reader.isAtEnd else {
            throw DecodeError(.overLong, "senml-cbor pack ends at byte \(reader.offset) of \(payload.count)")
        }
    }

    static func record(_ reader: inout CBORReader) throws(DecodeError) -> SenMLRecord {
        var record = SenMLRecord()
        let count = try reader.container(major: 5, what: "a record (a map)")
        var index = 0
        while try reader.hasEntry(index, of: count) {
            index += 1
            let label: SenMLLabel
            switch try reader.key() {
            case .integer(let key): label = SenMLLabel(cbor: key)
            case .text(let key): label = key.withUnsafeBytes { SenMLLabel(json: $0) } == .mustUnderstand ? .mustUnderstand : .unknown
            case .other: label = .unknown
            }
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
            case (.value, .number(let number)):
                // NaN marks a missing value in a batch, so it must not get in as a value.
                guard number.isFinite else { throw DecodeError(.nonFinite, "senml-cbor value is not a finite number") }
                record.value = number
            case (.time, .number(let number)): record.time = number
            case (.stringValue, .text), (.boolValue, .bool), (.dataValue, .bytes):
                record.otherValue = label
            case (.sum, .number): record.otherValue = record.otherValue ?? label
            case (.baseSum, .number), (.updateTime, .number), (.unknown, _):
                break
            default:
                throw DecodeError(.badSenML, "senml-cbor label '\(label.text)' has the wrong CBOR type")
            }
        }
        return record
    }
}
