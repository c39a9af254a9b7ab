/// Reads protocol buffers' wire format (varints, fixed 32/64-bit, length-delimited fields) over bytes,
/// for the Sparkplug B payload; unknown fields are skipped, as protobuf readers must. Every read is
/// bounds-checked: a truncated or overlong field is an error, never a read past the end.
struct ProtobufReader {
    let bytes: UnsafeRawBufferPointer
    var offset: Int
    let end: Int

    init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
        self.bytes = bytes
        offset = range?.lowerBound ?? 0
        end = range?.upperBound ?? bytes.count
    }

    var isAtEnd: Bool { offset >= end }

    enum WireType: UInt64 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    /// The next field's number and wire type.
    mutating func tag() throws(DecodeError) -> (field: UInt64, type: WireType) {
        let key = try varint()
        guard let type = WireType(rawValue: key & 7), key >> 3 > 0 else {
            throw Self.malformed("field key 0x\(String(key, radix: 16)) at byte \(offset) has no valid field number or wire type")
        }
        return (key >> 3, type)
    }

    mutating func varint() throws(DecodeError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end else { throw Self.malformed("a varint runs past the end") }
            let byte = bytes[offset]
            offset += 1
            guard shift < 64, shift < 63 || byte <= 1 else { throw Self.malformed("a varint is longer than 64 bits") }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    mutating func fixed32() throws(DecodeError) -> UInt32 { try fixed(UInt32.self) }
    mutating func fixed64() throws(DecodeError) -> UInt64 { try fixed(UInt64.self) }

    /// A little-endian fixed-width value.
    private mutating func fixed<Value: FixedWidthInteger & UnsignedInteger>(_: Value.Type) throws(DecodeError) -> Value {
        let size = Value.bitWidth / 8
        guard end - offset >= size else { throw Self.malformed("a \(Value.bitWidth)-bit value runs past the end") }
        var value: Value = 0
        for index in 0..<size { value |= Value(bytes[offset + index]) << (8 * index) }
        offset += size
        return value
    }

    /// A length-delimited field's range (a string, bytes or an embedded message).
    mutating func lengthDelimited() throws(DecodeError) -> Range<Int> {
        let length = try varint()
        guard length <= UInt64(end - offset) else { throw Self.malformed("a field of \(length) bytes runs past the end") }
        let start = offset
        offset += Int(length)
        return start..<offset
    }

    mutating func skip(_ type: WireType) throws(DecodeError) {
        switch type {
        case .varint: _ = try varint()
        case .fixed64: _ = try fixed64()
        case .fixed32: _ = try fixed32()
        case .lengthDelimited: _ = try lengthDelimited()
        case .startGroup, .endGroup: throw Self.malformed("groups (wire types 3, 4) are not used by Sparkplug B")
        }
    }

    /// The field's wire type must be `expected` (else the bytes are not the message we read).
    static func expect(_ type: WireType, _ expected: WireType, field: StaticString) throws(DecodeError) {
        guard type == expected else { throw malformed("\(field) has wire type \(type.rawValue), not \(expected.rawValue)") }
    }

    static func malformed(_ reason: String) -> DecodeError { DecodeError(.malformedProtobuf, reason) }
}
