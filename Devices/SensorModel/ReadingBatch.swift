/// Readings in columns: one time, one optional sequence number and one value per field for each row.
/// Decoders append into a batch without allocating per reading: they write whole columns in place
/// (`reserveRows` and `commitRows`). A missing value (a partial reading) is stored as NaN: decoders reject
/// NaN in input, so NaN here always means "not carried". Copy-on-write, like the standard collections.
public struct ReadingBatch: Sendable {
    public let fieldCount: Int
    private var storage: ReadingColumns

    public static let noSeq: Int64 = -1
    public static let missing: Double = .nan

    public init(fieldCount: Int, reservingCapacity capacity: Int = 0) {
        precondition(fieldCount > 0)
        self.fieldCount = fieldCount
        self.storage = ReadingColumns(fieldCount: fieldCount, capacity: max(capacity, 16))
    }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.count == 0 }

    /// Microseconds since 1970-01-01T00:00:00Z.
    public var times: Column<Int64> { Column(storage, storage.times) }
    /// Frame sequence number, or `ReadingBatch.noSeq`.
    public var seqs: Column<Int64> { Column(storage, storage.seqs) }
    /// `values[field][row]`.
    public var values: FieldColumns { FieldColumns(storage: storage) }

    public mutating func reserveCapacity(_ capacity: Int) {
        makeUnique(reserving: capacity)
    }

    /// Appends a row with every value missing and returns its index; set values with `set`.
    @inline(__always)
    public mutating func appendRow(time: Int64, seq: Int64) -> Int {
        let row = storage.count
        makeUnique(reserving: row + 1)
        storage.times[row] = time
        storage.seqs[row] = seq
        for field in 0..<fieldCount { storage.column(field)[row] = Self.missing }
        storage.count = row + 1
        return row
    }

    /// Makes room for `count` more rows and says where to write their times and values; the rows join
    /// the batch when `commitRows` is called (skip it to leave them out, e.g. when a message is bad).
    /// This is how decoders write whole columns
    /// in place, without a copy or a call per value.
    public mutating func reserveRows(_ count: Int) -> RowSlots {
        let first = storage.count
        makeUnique(reserving: first + count)
        return RowSlots(storage: storage, first: first)
    }

    /// Appends the `count` rows written into the slots of the last `reserveRows`, all with sequence number `seq`.
    public mutating func commitRows(_ count: Int, seq: Int64) {
        let first = storage.count
        precondition(first + count <= storage.capacity && isKnownUniquelyReferenced(&storage))
        (storage.seqs + first).update(repeating: seq, count: count)
        storage.count = first + count
    }

    /// Appends `times.count` rows at once, all with sequence number `seq`. `columns` holds one column
    /// of `times.count` values per field, column after column.
    public mutating func appendRows(times newTimes: UnsafeBufferPointer<Int64>, seq: Int64, columns: UnsafeBufferPointer<Double>) {
        let count = newTimes.count
        let fields = fieldCount
        precondition(columns.count == count * fields)
        guard count > 0 else { return }
        let slots = reserveRows(count)
        slots.times.update(from: newTimes.baseAddress!, count: count)
        for field in 0..<fields {
            slots[field].update(from: columns.baseAddress! + field * count, count: count)
        }
        commitRows(count, seq: seq)
    }

    @inline(__always)
    public mutating func set(field: Int, row: Int, _ value: Double) {
        precondition(row < storage.count && field < fieldCount)
        makeUnique(reserving: 0)
        storage.column(field)[row] = value
    }

    @inline(__always)
    public mutating func setTime(row: Int, _ time: Int64) {
        precondition(row < storage.count)
        makeUnique(reserving: 0)
        storage.times[row] = time
    }

    /// One pass over `field`'s values in `rows`: the first row whose value is present and outside
    /// `minimum...maximum` (±infinity is, for finite bounds), and whether any is missing (NaN). The range
    /// check every decoded message gets, without a call or a reference count per value.
    public func scan(field: Int, rows: Range<Int>, minimum: Double, maximum: Double) -> (outside: Int?, missing: Bool) {
        precondition(field >= 0 && field < fieldCount && rows.lowerBound >= 0 && rows.upperBound <= storage.count)
        let column = storage.column(field)
        var missing = false
        for row in rows {
            let value = column[row]
            if value >= minimum && value <= maximum { continue }
            if value.isNaN {
                missing = true
                continue
            }
            return (row, missing)
        }
        return (nil, missing)
    }

    /// The first of `rows` whose time is `time`: how a decoder finds the row a reading of the same
    /// message at the same time merges into.
    public func firstRow(at time: Int64, in rows: Range<Int>) -> Int? {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= storage.count)
        for row in rows where storage.times[row] == time { return row }
        return nil
    }

    public func value(field: Int, row: Int) -> Double? {
        let value = values[field][row]
        return value.isNaN ? nil : value
    }

    /// Drops rows from `count` on: how a rejected message takes back what it appended.
    /// Gives `rows` one sequence number (a LoRaWAN frame counter, known only once the payload is read).
    public mutating func setSeq(_ seq: Int64, rows: Range<Int>) {
        precondition(rows.upperBound <= storage.count)
        makeUnique(reserving: 0)
        for row in rows { storage.seqs[row] = seq }
    }

    public mutating func truncate(to count: Int) {
        guard count < storage.count else { return }
        makeUnique(reserving: 0)
        storage.count = max(count, 0)
    }

    public mutating func removeAll(keepingCapacity: Bool = true) {
        if keepingCapacity {
            truncate(to: 0)
        } else {
            storage = ReadingColumns(fieldCount: fieldCount, capacity: 16)
        }
    }

    /// Copies the storage when it is shared and grows it (at least doubling) when it is too small.
    @inline(__always)
    private mutating func makeUnique(reserving capacity: Int) {
        let unique = isKnownUniquelyReferenced(&storage)
        guard !unique || capacity > storage.capacity else { return }
        let grown = capacity > storage.capacity ? max(capacity, storage.capacity * 2) : storage.capacity
        storage = storage.copy(capacity: grown)
    }
}

/// Where `reserveRows` lets a decoder write: `times` and `slots[field]` point at the first new row's.
/// Plain pointers, valid until the batch next changes.
public struct RowSlots {
    public let times: UnsafeMutablePointer<Int64>
    private let firstValue: UnsafeMutablePointer<Double>
    private let columnStride: Int

    fileprivate init(storage: ReadingColumns, first: Int) {
        times = storage.times + first
        firstValue = storage.column(0) + first
        columnStride = storage.capacity
    }

    @inline(__always)
    public subscript(field: Int) -> UnsafeMutablePointer<Double> { firstValue + field &* columnStride }
}

/// One column of a batch, read-only; it keeps the storage it reads alive (and the batch copies that
/// storage before writing while a column shares it, hence the unchecked Sendable).
public struct Column<Element>: RandomAccessCollection, @unchecked Sendable where Element: Sendable {
    private let owner: ReadingColumns
    private let base: UnsafeMutablePointer<Element>
    public let endIndex: Int

    fileprivate init(_ owner: ReadingColumns, _ base: UnsafeMutablePointer<Element>) {
        self.owner = owner
        self.base = base
        self.endIndex = owner.count
    }

    public var startIndex: Int { 0 }

    @inline(__always)
    public subscript(position: Int) -> Element {
        precondition(position >= 0 && position < endIndex, "row out of range")
        return base[position]
    }

    public func withUnsafeBufferPointer<Result, Failure: Error>(
        _ body: (UnsafeBufferPointer<Element>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try withExtendedLifetime(owner) { () throws(Failure) -> Result in
            try body(UnsafeBufferPointer(start: base, count: endIndex))
        }
    }
}

/// The value columns of a batch, one per field.
public struct FieldColumns: RandomAccessCollection, Sendable {
    fileprivate let storage: ReadingColumns
    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.fieldCount }
    public subscript(field: Int) -> Column<Double> {
        precondition(field >= 0 && field < storage.fieldCount, "field out of range")
        return Column(storage, storage.column(field))
    }
}

/// The memory behind a batch: times, seqs and `fieldCount` value columns of `capacity` rows each.
/// Shared only read-only (the batch copies it before writing when it is shared).
private final class ReadingColumns: @unchecked Sendable {
    let fieldCount: Int
    let capacity: Int
    var count = 0
    let times: UnsafeMutablePointer<Int64>
    let seqs: UnsafeMutablePointer<Int64>
    private let valueBase: UnsafeMutablePointer<Double>

    init(fieldCount: Int, capacity: Int) {
        self.fieldCount = fieldCount
        self.capacity = capacity
        times = .allocate(capacity: capacity)
        seqs = .allocate(capacity: capacity)
        valueBase = .allocate(capacity: capacity * fieldCount)
    }

    deinit {
        times.deallocate()
        seqs.deallocate()
        valueBase.deallocate()
    }

    @inline(__always)
    func column(_ field: Int) -> UnsafeMutablePointer<Double> { valueBase + field &* capacity }

    func copy(capacity newCapacity: Int) -> ReadingColumns {
        let copy = ReadingColumns(fieldCount: fieldCount, capacity: newCapacity)
        copy.count = count
        copy.times.update(from: times, count: count)
        copy.seqs.update(from: seqs, count: count)
        for field in 0..<fieldCount { copy.column(field).update(from: column(field), count: count) }
        return copy
    }
}
