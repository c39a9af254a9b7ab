import SensorModel

/// What one commit stores for a sensor type: decoded readings (rows grouped by device) and the
/// messages that were rejected. Both land in one transaction, so a message is either stored or dead-lettered.
public struct IngestBatch: Sendable {
    public var readings: ReadingBatch
    /// Consecutive row ranges of `readings`, each from one device.
    public private(set) var spans: [DeviceSpan] = []
    public var deadLetters: [DeadLetter] = []
    /// What devices said on their status topics, in the order it arrived.
    public var statusReports: [StatusReport] = []
    /// Aliases Sparkplug B BIRTH messages of this batch defined, stored with it; the edge nodes whose NBIRTH
    /// replaces what was stored for them (their aliases in `sparkplugAliases` are the new session's).
    public var sparkplugAliases: [SparkplugAlias] = []
    public var sparkplugBirths: [SparkplugNodeID] = []

    public init(fieldCount: Int, capacity: Int = 0) {
        readings = ReadingBatch(fieldCount: fieldCount, reservingCapacity: capacity)
    }

    public var isEmpty: Bool { readings.isEmpty && deadLetters.isEmpty && statusReports.isEmpty && sparkplugAliases.isEmpty && sparkplugBirths.isEmpty }

    /// Records that rows from `start` to the end of `readings` came from `device`, in a message that
    /// arrived at `heardAt` (nil: the rows' newest time, for batches made without a message).
    public mutating func closeSpan(device: String, from start: Int, heardAt: Int64? = nil) {
        guard readings.count > start else { return }
        let heard = heardAt ?? readings.times[start...].max()!
        if let last = spans.last, last.device == device, last.rows.upperBound == start {
            spans[spans.count - 1].rows = last.rows.lowerBound..<readings.count
            spans[spans.count - 1].heardAt = max(last.heardAt, heard)
        } else {
            spans.append(DeviceSpan(device: device, rows: start..<readings.count, heardAt: heard))
        }
    }

    /// The readings (and their spans) for which `keep(time)` holds; nothing else of the batch.
    func readings(where keep: (Int64) -> Bool) -> IngestBatch {
        var part = IngestBatch(fieldCount: readings.fieldCount)
        for span in spans {
            let start = part.readings.count
            for row in span.rows where keep(readings.times[row]) {
                let new = part.readings.appendRow(time: readings.times[row], seq: readings.seqs[row])
                for field in 0..<readings.fieldCount { part.readings.set(field: field, row: new, readings.values[field][row]) }
            }
            part.closeSpan(device: span.device, from: start, heardAt: span.heardAt)
        }
        return part
    }

    public mutating func removeAll() {
        readings.removeAll()
        spans.removeAll(keepingCapacity: true)
        deadLetters.removeAll(keepingCapacity: true)
        statusReports.removeAll(keepingCapacity: true)
        sparkplugAliases.removeAll(keepingCapacity: true)
        sparkplugBirths.removeAll(keepingCapacity: true)
    }
}

