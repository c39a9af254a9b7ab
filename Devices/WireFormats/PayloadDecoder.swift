import SensorModel

/// One wire format's decoder for one sensor type. Decoding appends rows to `batch`; when it throws,
/// the caller truncates the batch back to where it was (a message is accepted or rejected whole).
public protocol PayloadDecoder: Sendable {
    init(sensor: SensorType)
    /// - Parameter receivedAt: receive time in microseconds since the epoch, for formats without a time.
    func decode(_ payload: UnsafeRawBufferPointer, receivedAt: Int64, into batch: inout ReadingBatch) throws(DecodeError)
}

/// Encodes readings the way a device would; used by the emulator and by tests.
public protocol PayloadEncoder: Sendable {
    init(sensor: SensorType)
    /// Encodes `rows` of `batch` as one message carrying sequence number `seq`.
    func encode(_ batch: ReadingBatch, rows: Range<Int>, seq: UInt32) -> [UInt8]
}
