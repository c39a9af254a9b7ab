/// Builds the body of `COPY ... FROM STDIN (FORMAT binary)`: signature, tuples, trailer.
public struct PGBinaryCopy: Sendable {
    public private(set) var bytes: [UInt8] = []
    public private(set) var rowCount = 0
    private var finished = false

    /// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
    public static let postgresEpochOffset: Int64 = 946_684_800_000_000

    public init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity + 23)
        bytes += Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00]
        bytes += [0, 0, 0, 0]  // flags
        bytes += [0, 0, 0, 0]  // header extension length
    }

    public mutating func startRow(columns: Int) {
        precondition(!finished)
        rowCount += 1
        appendBigEndian(Int16(columns))
    }

    public mutating func appendNull() { appendBigEndian(Int32(-1)) }

    public mutating func appendInt32(_ value: Int32) {
        appendBigEndian(Int32(4))
        appendBigEndian(value)
    }

    public mutating func appendInt64(_ value: Int64) {
        appendBigEndian(Int32(8))
        appendBigEndian(value)
    }

    /// NaN is written as NULL: in a reading batch NaN means "not carried".
    public mutating func appendFloat64OrNull(_ value: Double) {
        if value.isNaN { appendNull(); return }
        appendBigEndian(Int32(8))
        appendBigEndian(value.bitPattern)
    }

    /// A timestamptz from microseconds since 1970-01-01T00:00:00Z.
    public mutating func appendTimestamp(unixMicros: Int64) {
        appendBigEndian(Int32(8))
        appendBigEndian(unixMicros - Self.postgresEpochOffset)
    }

    /// PostgreSQL's text cannot hold NUL (the COPY fails: "invalid byte sequence for encoding UTF8: 0x00"),
    /// and text from a device may carry one: each becomes U+FFFD. A Swift string is valid UTF-8 already.
    public mutating func appendText(_ value: String) {
        var utf8 = Array(value.utf8)
        if utf8.contains(0) {
            utf8 = utf8.flatMap { $0 == 0 ? Self.replacementCharacter : [$0] }
        }
        appendBigEndian(Int32(utf8.count))
        bytes += utf8
    }

    static let replacementCharacter: [UInt8] = [0xEF, 0xBF, 0xBD]

    public mutating func appendBytes(_ value: [UInt8]) {
        appendBigEndian(Int32(value.count))
        bytes += value
    }

    /// Appends the trailer; returns the complete COPY body.
    public mutating func finish() -> [UInt8] {
        if !finished {
            appendBigEndian(Int16(-1))
            finished = true
        }
        return bytes
    }

    @inline(__always)
    private mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }
}
