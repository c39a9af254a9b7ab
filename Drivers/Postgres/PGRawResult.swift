import CLibPQ

/// A libpq result read in place (valid only inside `PGConnection.withQuery`). Typed accessors read binary
/// columns; `string` reads either format.
public struct PGRawResult {
    let result: OpaquePointer
    public let binary: Bool
    public let rowCount: Int
    public let columnCount: Int

    init(_ result: OpaquePointer, binary: Bool) {
        self.result = result
        self.binary = binary
        rowCount = Int(PQntuples(result))
        columnCount = Int(PQnfields(result))
    }

    /// PostgreSQL's type OID of a column (20 int8, 23 int4, 701 float8, 1184 timestamptz).
    public func type(_ column: Int) -> UInt32 { UInt32(PQftype(result, Int32(column))) }

    @inline(__always)
    public func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(result, Int32(row), Int32(column)) == 1 }

    @inline(__always)
    private func bigEndian64(_ row: Int, _ column: Int) -> UInt64 {
        let pointer = UnsafeRawPointer(PQgetvalue(result, Int32(row), Int32(column))!)
        return UInt64(bigEndian: pointer.loadUnaligned(as: UInt64.self))
    }

    /// An int2, int4 or int8 column (binary); nil when NULL.
    public func int64(_ row: Int, _ column: Int) -> Int64? {
        if isNull(row, column) { return nil }
        let pointer = UnsafeRawPointer(PQgetvalue(result, Int32(row), Int32(column))!)
        switch PQgetlength(result, Int32(row), Int32(column)) {
        case 8: return Int64(bitPattern: UInt64(bigEndian: pointer.loadUnaligned(as: UInt64.self)))
        case 4: return Int64(Int32(bitPattern: UInt32(bigEndian: pointer.loadUnaligned(as: UInt32.self))))
        case 2: return Int64(Int16(bitPattern: UInt16(bigEndian: pointer.loadUnaligned(as: UInt16.self))))
        default: return nil
        }
    }

    /// A float8 column (binary); nil when NULL.
    public func double(_ row: Int, _ column: Int) -> Double? {
        if isNull(row, column) { return nil }
        return Double(bitPattern: bigEndian64(row, column))
    }

    /// A timestamptz column (binary) as microseconds since the Unix epoch; nil when NULL.
    public func unixMicros(_ row: Int, _ column: Int) -> Int64? {
        if isNull(row, column) { return nil }
        return Int64(bitPattern: bigEndian64(row, column)) &+ 946_684_800_000_000  // 2000-01-01 to 1970-01-01
    }

    /// A bytea column (binary) in place, valid as long as the result; nil when NULL.
    public func bytes(_ row: Int, _ column: Int) -> UnsafeRawBufferPointer? {
        if isNull(row, column) { return nil }
        let pointer = UnsafeRawPointer(PQgetvalue(result, Int32(row), Int32(column))!)
        return UnsafeRawBufferPointer(start: pointer, count: Int(PQgetlength(result, Int32(row), Int32(column))))
    }

    /// Any column as text (text format) or as its raw bytes decoded as UTF-8 (binary text columns).
    public func string(_ row: Int, _ column: Int) -> String? {
        if isNull(row, column) { return nil }
        let pointer = UnsafeRawPointer(PQgetvalue(result, Int32(row), Int32(column))!)
        let length = Int(PQgetlength(result, Int32(row), Int32(column)))
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }
}
