/// Readings in columns: one time, one optional sequence number and one value per field for each row.
/// Decoders append into a batch without allocating per reading. A missing value (a partial reading)
/// is stored as NaN: decoders reject NaN in input, so NaN here always means "not carried".
public struct ReadingBatch: Sendable {
    public let fieldCount: Int
    /// Microseconds since 1970-01-01T00:00:00Z.
    public private(set) var times: [Int64] = []
    /// Frame sequence number, or `ReadingBatch.noSeq`.
    public private(set) var seqs: [Int64] = []
    /// `values[field][row]`.
    public private(set) var values: [[Double]]

    public static let noSeq: Int64 = -1
    public static let missing: Double = .nan

    public init(fieldCount: Int, reservingCapacity capacity: Int = 0) {
        precondition(fieldCount > 0)
        self.fieldCount = fieldCount
        self.values = Array(repeating: [], count: fieldCount)
        reserveCapacity(capacity)
    }

    public var count: Int { times.count }
    public var isEmpty: Bool { times.isEmpty }

    public mutating func reserveCapacity(_ capacity: Int) {
        times.reserveCapacity(capacity)
        seqs.reserveCapacity(capacity)
        for index in values.indices { values[index].reserveCapacity(capacity) }
    }

    /// Appends a row with every value missing and returns its index; set values with `set`.
    @inline(__always)
    public mutating func appendRow(time: Int64, seq: Int64) -> Int {
        times.append(time)
        seqs.append(seq)
        for index in values.indices { values[index].append(Self.missing) }
        return times.count - 1
    }

    /// Appends `times.count` rows at once, all with sequence number `seq`. `columns` holds one column
    /// of `times.count` values per field, column after column: bulk copies instead of a call per value.
    public mutating func appendRows(times newTimes: UnsafeBufferPointer<Int64>, seq: Int64, columns: UnsafeBufferPointer<Double>) {
        let count = newTimes.count
        precondition(columns.count == count * fieldCount)
        times.append(contentsOf: newTimes)
        seqs.append(contentsOf: repeatElement(seq, count: count))
        for field in 0..<fieldCount {
            values[field].append(contentsOf: UnsafeBufferPointer(rebasing: columns[(field * count)..<((field + 1) * count)]))
        }
    }

    @inline(__always)
    public mutating func set(field: Int, row: Int, _ value: Double) {
        values[field][row] = value
    }

    @inline(__always)
    public mutating func setTime(row: Int, _ time: Int64) {
        times[row] = time
    }

    public func value(field: Int, row: Int) -> Double? {
        let value = values[field][row]
        return value.isNaN ? nil : value
    }

    /// Drops rows from `count` on: how a rejected message takes back what it appended.
    public mutating func truncate(to count: Int) {
        guard count < times.count else { return }
        times.removeSubrange(count...)
        seqs.removeSubrange(count...)
        for index in values.indices { values[index].removeSubrange(count...) }
    }

    public mutating func removeAll(keepingCapacity: Bool = true) {
        times.removeAll(keepingCapacity: keepingCapacity)
        seqs.removeAll(keepingCapacity: keepingCapacity)
        for index in values.indices { values[index].removeAll(keepingCapacity: keepingCapacity) }
    }
}
