import SensorModel

/// Picks the format for a message (the topic's, else the sensor type's default), decodes it into a batch
/// and normalizes it: every value finite and inside its field's range, else the whole message is rejected.
public struct MessageDecoder: Sendable {
    public let sensor: SensorType
    private let tm: TMDecoder
    private let lpp: LPPDecoder
    private let senmlJSON: SenMLJSONDecoder
    private let senmlCBOR: SenMLCBORDecoder
    private let json: JSONTelemetryDecoder
    private let text: TextDecoder
    /// Per catalog source (same order as `sensor.sources`): json and text read with its paths and field.
    private let sourceJSON: [JSONTelemetryDecoder?]
    private let sourceText: [TextDecoder?]
    private let normalization: Normalization

    public init(sensor: SensorType) {
        self.sensor = sensor
        self.tm = TMDecoder(sensor: sensor)
        self.lpp = LPPDecoder(sensor: sensor)
        self.senmlJSON = SenMLJSONDecoder(sensor: sensor)
        self.senmlCBOR = SenMLCBORDecoder(sensor: sensor)
        self.json = JSONTelemetryDecoder(sensor: sensor)
        self.text = TextDecoder(sensor: sensor)
        self.sourceJSON = sensor.sources.map { $0.format == .json ? JSONTelemetryDecoder(sensor: sensor, source: $0) : nil }
        self.sourceText = sensor.sources.map { $0.format == .text ? TextDecoder(sensor: sensor, source: $0) : nil }
        self.normalization = Normalization(sensor: sensor)
    }

    /// Appends the message's readings to `batch`, or throws and leaves `batch` as it was.
    public func decode(
        _ payload: UnsafeRawBufferPointer, format: PayloadFormat?, receivedAt: Int64, into batch: inout ReadingBatch
    ) throws(DecodeError) {
        var skipped = 0
        try decode(payload, format: format, receivedAt: receivedAt, into: &batch, skipped: &skipped)
    }

    /// - Parameter skipped: incremented per LPP entry of a known type, or json key, this sensor type does not map (for metrics).
    /// - Parameter source: the index in `sensor.sources` of the source the message came from (its format
    ///   then; `format` is ignored), nil for `telemetry/<sensor>/...` topics.
    public func decode(
        _ payload: UnsafeRawBufferPointer, format: PayloadFormat?, source: Int? = nil, receivedAt: Int64, into batch: inout ReadingBatch,
        skipped: inout Int
    ) throws(DecodeError) {
        let chosen = source.map { sensor.sources[$0].format } ?? format
        let start = batch.count
        var skippedHere = 0
        do throws(DecodeError) {
            switch chosen ?? sensor.format {
            case .tm:
                try tm.decode(payload, receivedAt: receivedAt, into: &batch)
                return  // checked its ranges while decoding, and a frame always carries every field
            case .lpp:
                try lpp.decode(payload, receivedAt: receivedAt, into: &batch, skipped: &skippedHere)
            case .senmlJSON:
                try senmlJSON.decode(payload, receivedAt: receivedAt, into: &batch)
            case .senmlCBOR:
                try senmlCBOR.decode(payload, receivedAt: receivedAt, into: &batch)
            case .json:
                let decoder = source.flatMap { sourceJSON[$0] } ?? json
                try decoder.decode(payload, receivedAt: receivedAt, into: &batch, skipped: &skippedHere)
            case .text:
                try (source.flatMap { sourceText[$0] } ?? text).decode(payload, receivedAt: receivedAt, into: &batch)
            }
            try normalization.check(batch, rows: start..<batch.count)
            skipped += skippedHere
        } catch {
            batch.truncate(to: start)
            throw error
        }
    }

    public func decode(_ payload: [UInt8], format: PayloadFormat?, receivedAt: Int64, into batch: inout ReadingBatch) throws(DecodeError) {
        var skipped = 0
        try decode(payload, format: format, receivedAt: receivedAt, into: &batch, skipped: &skipped)
    }

    public func decode(
        _ payload: [UInt8], format: PayloadFormat?, source: Int? = nil, receivedAt: Int64, into batch: inout ReadingBatch, skipped: inout Int
    ) throws(DecodeError) {
        var result: Result<Void, DecodeError> = .success(())
        payload.withUnsafeBytes { buffer in
            do throws(DecodeError) {
                try decode(buffer, format: format, source: source, receivedAt: receivedAt, into: &batch, skipped: &skipped)
            } catch {
                result = .failure(error)
            }
        }
        try result.get()
    }
}

/// The formats this build can encode (the emulator's); `MessageDecoder` holds one decoder per format.
public enum Formats {
    public static func encoderType(for format: PayloadFormat) -> any PayloadEncoder.Type {
        switch format {
        case .tm: TMEncoder.self
        case .lpp: LPPEncoder.self
        case .senmlJSON: SenMLJSONEncoder.self
        case .senmlCBOR: SenMLCBOREncoder.self
        case .json: JSONTelemetryEncoder.self
        case .text: TextEncoder.self
        }
    }
}
