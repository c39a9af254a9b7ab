import SensorModel

/// What one commit stores for a sensor type: decoded readings (rows grouped by device) and the
/// messages that were rejected. Both land in one transaction, so a message is either stored or dead-lettered.
public struct IngestBatch: Sendable {
    public var readings: ReadingBatch
    /// Consecutive row ranges of `readings`, each from one device.
    public private(set) var spans: [DeviceSpan] = []
    public var deadLetters: [DeadLetter] = []

    public init(fieldCount: Int, capacity: Int = 0) {
        readings = ReadingBatch(fieldCount: fieldCount, reservingCapacity: capacity)
    }

    public var isEmpty: Bool { readings.isEmpty && deadLetters.isEmpty }

    /// Records that rows from `start` to the end of `readings` came from `device`.
    public mutating func closeSpan(device: String, from start: Int) {
        guard readings.count > start else { return }
        if let last = spans.last, last.device == device, last.rows.upperBound == start {
            spans[spans.count - 1].rows = last.rows.lowerBound..<readings.count
        } else {
            spans.append(DeviceSpan(device: device, rows: start..<readings.count))
        }
    }

    public mutating func removeAll() {
        readings.removeAll()
        spans.removeAll(keepingCapacity: true)
        deadLetters.removeAll(keepingCapacity: true)
    }
}

