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

public struct DeviceSpan: Sendable, Equatable {
    public var device: String
    public var rows: Range<Int>
}

/// A message that could not be stored as readings, kept with its raw bytes.
public struct DeadLetter: Sendable, Equatable {
    public var sensor: String?
    public var topic: String
    /// Microseconds since the epoch.
    public var receivedAt: Int64
    public var reason: String
    public var payload: [UInt8]

    public init(sensor: String?, topic: String, receivedAt: Int64, reason: String, payload: [UInt8]) {
        self.sensor = sensor
        self.topic = topic
        self.receivedAt = receivedAt
        self.reason = reason
        self.payload = payload
    }
}

public struct WriteOutcome: Sendable, Equatable {
    /// Readings newly stored.
    public var inserted: Int
    /// Readings already stored (redelivered or resent), dropped.
    public var duplicates: Int
    public var deadLettered: Int
}
