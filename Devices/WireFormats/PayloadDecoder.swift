import SensorModel

/// One wire format's decoder for one sensor type. Decoding appends rows to `batch`; when it throws,
/// the caller truncates the batch back to where it was (a message is accepted or rejected whole).
public protocol PayloadDecoder: Sendable {
    init(sensor: SensorType)
    /// - Parameter receivedAt: receive time in microseconds since the epoch, for formats without a time.
    func decode(_ payload: UnsafeRawBufferPointer, receivedAt: Int64, into batch: inout ReadingBatch) throws(DecodeError)
}

