import SensorModel

/// Encodes readings the way a device would; used by the emulator and by tests.
public protocol PayloadEncoder: Sendable {
    init(sensor: SensorType)
    /// Encodes `rows` of `batch` as one message carrying sequence number `seq`.
    func encode(_ batch: ReadingBatch, rows: Range<Int>, seq: UInt32) -> [UInt8]
}
