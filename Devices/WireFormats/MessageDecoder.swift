import SensorModel

/// Picks the format for a message (the topic's, else the sensor type's default), decodes it into a batch
/// and normalizes it: every value finite and inside its field's range, else the whole message is rejected.
public struct MessageDecoder: Sendable {
    public let sensor: SensorType
    private let tm: TMDecoder
    private let others: [PayloadFormat: any PayloadDecoder]

    public init(sensor: SensorType) {
        self.sensor = sensor
        self.tm = TMDecoder(sensor: sensor)
        var others: [PayloadFormat: any PayloadDecoder] = [:]
        for format in PayloadFormat.allCases where format != .tm {
            if let type = Formats.decoderType(for: format) { others[format] = type.init(sensor: sensor) }
        }
        self.others = others
    }

    /// Appends the message's readings to `batch`, or throws and leaves `batch` as it was.
    public func decode(
        _ payload: UnsafeRawBufferPointer, format: PayloadFormat?, receivedAt: Int64, into batch: inout ReadingBatch
    ) throws(DecodeError) {
        let start = batch.count
        do throws(DecodeError) {
            switch format ?? sensor.format {
            case .tm:
                try tm.decode(payload, receivedAt: receivedAt, into: &batch)
            case let other:
                guard let decoder = others[other] else {
                    throw DecodeError(.unsupportedFormat, "format \(other.rawValue) is not supported yet")
                }
                try decoder.decode(payload, receivedAt: receivedAt, into: &batch)
            }
            try Normalization.check(batch, rows: start..<batch.count, sensor: sensor)
        } catch {
            batch.truncate(to: start)
            throw error
        }
    }

    public func decode(_ payload: [UInt8], format: PayloadFormat?, receivedAt: Int64, into batch: inout ReadingBatch) throws(DecodeError) {
        var result: Result<Void, DecodeError> = .success(())
        payload.withUnsafeBytes { buffer in
            do throws(DecodeError) {
                try decode(buffer, format: format, receivedAt: receivedAt, into: &batch)
            } catch {
                result = .failure(error)
            }
        }
        try result.get()
    }
}

/// The formats this build knows, so adding one is adding a file and a line here.
public enum Formats {
    public static func decoderType(for format: PayloadFormat) -> (any PayloadDecoder.Type)? {
        switch format {
        case .tm: TMDecoder.self
        default: nil
        }
    }

    public static func encoderType(for format: PayloadFormat) -> (any PayloadEncoder.Type)? {
        switch format {
        case .tm: TMEncoder.self
        default: nil
        }
    }
}
