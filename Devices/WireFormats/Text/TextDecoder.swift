import SensorModel

/// Decodes `text`: one number (`21.5`, `-3e2`, JSON's number grammar, whitespace around it allowed) for
/// one field, at the receive time — what ESPHome and Homie-style firmware publish per value.
public struct TextDecoder: PayloadDecoder {
    /// The field the number is for; nil when the sensor type has several and the source names none.
    let field: Int?
    let sensorName: String
    static let maxBytes = 64

    public init(sensor: SensorType) { self.init(sensor: sensor, source: nil) }

    public init(sensor: SensorType, source: Source?) {
        sensorName = sensor.name
        field = sensor.textField(named: source?.field)
    }

    public func decode(_ payload: UnsafeRawBufferPointer, receivedAt: Int64, into batch: inout ReadingBatch) throws(DecodeError) {
        guard let field else {
            throw DecodeError(.fieldCount, "text carries one number and \(sensorName) has several fields: map a source with \"field\"")
        }
        guard payload.count <= Self.maxBytes else { throw DecodeError(.overLong, "text is \(payload.count) bytes, a number is at most \(Self.maxBytes)") }
        var start = 0
        var end = payload.count
        while start < end, Self.isSpace(payload[start]) { start += 1 }
        while end > start, Self.isSpace(payload[end - 1]) { end -= 1 }
        let text = UnsafeRawBufferPointer(rebasing: payload[start..<end])
        guard !text.isEmpty else { throw DecodeError(.badText, "text is empty") }
        var reader = JSONReader(text)
        guard let value = try? reader.number(), reader.isAtEnd else {
            let shown = String(decoding: text.prefix(32), as: UTF8.self)
            // ESPHome publishes "nan" for a sensor that has no reading.
            if ["nan", "-nan", "inf", "-inf", "infinity", "-infinity"].contains(shown.lowercased()) {
                throw DecodeError(.nonFinite, "text is '\(shown)', not a finite number")
            }
            throw DecodeError(.badText, "text is '\(shown)', not one number")
        }
        let row = batch.appendRow(time: receivedAt, seq: ReadingBatch.noSeq)
        batch.set(field: field, row: row, value)
    }

    @inline(__always)
    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
}

