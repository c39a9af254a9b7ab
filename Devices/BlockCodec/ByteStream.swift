/// Appends the byte-aligned parts of a column: tags, varints, fixed-width integers.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func signedVarint(_ value: Int64) { varint(zigzag(value)) }

    mutating func int64(_ value: Int64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Reads what `ByteWriter` wrote, never past the end of its buffer.
struct ByteReader {
    let base: UnsafeRawBufferPointer
    var offset = 0

    init(_ base: UnsafeRawBufferPointer) { self.base = base }

    var remaining: Int { base.count - offset }

    func fail(_ code: BlockDecodeError.Code, _ context: String) -> BlockDecodeError {
        BlockDecodeError(code, at: offset, context)
    }

    mutating func byte(_ what: String) throws(BlockDecodeError) -> UInt8 {
        guard offset < base.count else { throw fail(.truncated, "\(what) missing") }
        defer { offset += 1 }
        return base[offset]
    }

    mutating func varint(_ what: String) throws(BlockDecodeError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < base.count else { throw fail(.truncated, "\(what) ends inside a varint") }
            let byte = base[offset]
            offset += 1
            guard shift < 64, shift < 63 || byte <= 1 else { throw fail(.badVarint, "\(what) is past 64 bits") }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    mutating func signedVarint(_ what: String) throws(BlockDecodeError) -> Int64 { unzigzag(try varint(what)) }

    /// A count of values: at most `maximumColumnCount`.
    mutating func count(_ what: String) throws(BlockDecodeError) -> Int {
        let value = try varint(what)
        guard value <= UInt64(maximumColumnCount) else { throw fail(.badHeader, "\(what) \(value) is more than \(maximumColumnCount)") }
        return Int(value)
    }

    mutating func int64(_ what: String) throws(BlockDecodeError) -> Int64 {
        guard remaining >= 8 else { throw fail(.truncated, "\(what) needs 8 bytes") }
        defer { offset += 8 }
        return Int64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }

    /// The next `count` bytes, skipped over.
    mutating func bytes(_ count: Int, _ what: String) throws(BlockDecodeError) -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw fail(.truncated, "\(what) needs \(count) bytes, \(remaining) left") }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: base[offset..<(offset + count)])
    }

    func expectEnd() throws(BlockDecodeError) {
        guard offset == base.count else { throw fail(.trailingBytes, "\(base.count - offset) bytes after the last value") }
    }
}

@inline(__always) func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value &<< 1) ^ (value >> 63)) }
@inline(__always) func unzigzag(_ value: UInt64) -> Int64 { Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1) }

/// Bits needed for `value` (0 for 0).
@inline(__always) func bitLength(_ value: UInt64) -> Int { 64 - value.leadingZeroBitCount }

/// `body` over an array's bytes with its typed error kept (`withUnsafeBytes` only rethrows `any Error`).
func columnBytes<Value>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(BlockDecodeError) -> Value) throws(BlockDecodeError) -> Value {
    try bytes.withUnsafeBytes { buffer in Result { () throws(BlockDecodeError) in try body(buffer) } }.get()
}
