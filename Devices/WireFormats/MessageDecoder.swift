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
    /// Per catalog source with an envelope (LoRaWAN network servers).
    private let sourceUplink: [UplinkDecoder?]
    /// Per Sparkplug B source (nil: the sensor type's field names and aliases).
    let sparkplug: [SparkplugDecoder?]
    private let sparkplugByName: SparkplugDecoder
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
        self.sourceUplink = sensor.sources.map { source in source.envelope.map { UplinkDecoder(sensor: sensor, source: source, envelope: $0) } }
        self.sparkplug = sensor.sources.map { $0.format == .sparkplug ? SparkplugDecoder(sensor: sensor, source: $0) : nil }
        self.sparkplugByName = SparkplugDecoder(sensor: sensor, source: nil)
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
        var device: String?
        try decode(payload, format: format, source: source, receivedAt: receivedAt, into: &batch, skipped: &skipped, device: &device)
    }

    /// - Parameter device: in, the topic's `{device}` level (nil: not known); out, the device the readings
    ///   are for, which a source with an envelope takes from the uplink (checked against the topic's).
    public func decode(
        _ payload: UnsafeRawBufferPointer, format: PayloadFormat?, source: Int?, receivedAt: Int64, into batch: inout ReadingBatch,
        skipped: inout Int, device: inout String?
    ) throws(DecodeError) {
        let start = batch.count
        var skippedHere = 0
        let chosen = source.map { sensor.sources[$0].format } ?? format ?? sensor.format
        let uplinkDecoder = source.flatMap { sourceUplink[$0] }
        do throws(DecodeError) {
            if let uplinkDecoder {
                // The payload inside the uplink, at the uplink's time unless it carries its own.
                let (uplink, named, inner) = try uplinkDecoder.read(payload, topicDevice: device)
                switch inner {
                case .bytes(let bytes):
                    try bytes.decoding { (bytes) throws(DecodeError) in
                        try decodePayload(bytes, format: chosen, source: source, receivedAt: uplink.time!, into: &batch, skipped: &skippedHere)
                    }
                case .object(let range):
                    try decodePayload(UnsafeRawBufferPointer(rebasing: payload[range]), format: .json, source: source, receivedAt: uplink.time!, into: &batch, skipped: &skippedHere)
                }
                uplinkDecoder.complete(&batch, rows: start..<batch.count, with: uplink)
                device = named
            } else {
                try decodePayload(payload, format: chosen, source: source, receivedAt: receivedAt, into: &batch, skipped: &skippedHere)
            }
            // A tm frame checks its ranges while decoding and carries every field; an uplink may add fields.
            // A Sparkplug message may carry none of the sensor type's metrics (a BIRTH, another type's DATA).
            if chosen == .sparkplug && batch.count == start { skipped += skippedHere; return }
            if chosen != .tm || uplinkDecoder != nil {
                try normalization.check(batch, rows: start..<batch.count)
            }
            skipped += skippedHere
        } catch {
            batch.truncate(to: start)
            throw error
        }
    }

    /// One payload in its format; a source's json and text decoders read with its paths and field.
    private func decodePayload(
        _ payload: UnsafeRawBufferPointer, format: PayloadFormat, source: Int?, receivedAt: Int64, into batch: inout ReadingBatch, skipped: inout Int
    ) throws(DecodeError) {
        switch format {
        case .tm:
            try tm.decode(payload, receivedAt: receivedAt, into: &batch)  // checks its ranges while decoding
        case .lpp:
            try lpp.decode(payload, receivedAt: receivedAt, into: &batch, skipped: &skipped)
        case .senmlJSON:
            try senmlJSON.decode(payload, receivedAt: receivedAt, into: &batch)
        case .senmlCBOR:
            try senmlCBOR.decode(payload, receivedAt: receivedAt, into: &batch)
        case .json:
            try (source.flatMap { sourceJSON[$0] } ?? json).decode(payload, receivedAt: receivedAt, into: &batch, skipped: &skipped)
        case .text:
            try (source.flatMap { sourceText[$0] } ?? text).decode(payload, receivedAt: receivedAt, into: &batch)
        case .sparkplug:
            // Without its edge node's session: metrics by name only (an alias needs the node's BIRTH).
            try decodeSparkplug(payload, source: source, resolve: { _ in nil }, into: &batch, skipped: &skipped)
        }
    }

    /// A Sparkplug B payload, aliases resolved through `resolve` (the edge node's BIRTH's); its rows are
    /// checked as any message's by the caller's `decode`, or by `checkRanges`.
    public func decodeSparkplug(
        _ payload: UnsafeRawBufferPointer, source: Int?, resolve: (UInt64) -> (name: [UInt8], datatype: UInt32?)?, into batch: inout ReadingBatch,
        skipped: inout Int
    ) throws(DecodeError) {
        try decodeSparkplug(try SparkplugPayload.decode(payload), source: source, resolve: resolve, into: &batch, skipped: &skipped)
    }

    public func decodeSparkplug(
        _ payload: SparkplugPayload, source: Int?, resolve: (UInt64) -> (name: [UInt8], datatype: UInt32?)?, into batch: inout ReadingBatch,
        skipped: inout Int
    ) throws(DecodeError) {
        try (source.flatMap { sparkplug[$0] } ?? sparkplugByName).decode(payload, resolve: resolve, into: &batch, skipped: &skipped)
    }

    /// Every value of `rows` finite and in range, each row with a field (what `decode` checks).
    public func checkRanges(_ batch: ReadingBatch, rows: Range<Int>) throws(DecodeError) {
        try normalization.check(batch, rows: rows)
    }

    public func decode(_ payload: [UInt8], format: PayloadFormat?, receivedAt: Int64, into batch: inout ReadingBatch) throws(DecodeError) {
        var skipped = 0
        try decode(payload, format: format, receivedAt: receivedAt, into: &batch, skipped: &skipped)
    }

    public func decode(
        _ payload: [UInt8], format: PayloadFormat?, source: Int? = nil, receivedAt: Int64, into batch: inout ReadingBatch, skipped: inout Int
    ) throws(DecodeError) {
        var device: String?
        try decode(payload, format: format, source: source, receivedAt: receivedAt, into: &batch, skipped: &skipped, device: &device)
    }

    public func decode(
        _ payload: [UInt8], format: PayloadFormat?, source: Int?, receivedAt: Int64, into batch: inout ReadingBatch, skipped: inout Int,
        device: inout String?
    ) throws(DecodeError) {
        try payload.decoding { (buffer) throws(DecodeError) in
            try decode(buffer, format: format, source: source, receivedAt: receivedAt, into: &batch, skipped: &skipped, device: &device)
        }
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
        case .sparkplug: SparkplugReadingEncoder.self
        }
    }
}
