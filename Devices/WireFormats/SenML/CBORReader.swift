/// A small CBOR (RFC 8949) reader: just what SenML packs need. Every read checks bounds and
/// throws `malformed_cbor`; nesting is limited so hostile input cannot exhaust the stack.
struct CBORReader {
    enum Item {
        case number(Double)
        case text([UInt8])
        case bytes
        case bool(Bool)
        /// null, undefined, other simple values, arrays and maps (skipped).
        case other
    }

    struct Head {
        var major: UInt8
        var argument: UInt64
        var indefinite: Bool
        /// The head's additional information, for floats and simple values.
        var info: UInt8
    }

    static let maxDepth = 32

    let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    /// True (and consumed) when the next byte is the break that ends an indefinite-length item.
    mutating func consumeBreak() throws(DecodeError) -> Bool {
        guard offset < bytes.count else { throw malformed("ends inside an indefinite-length item") }
        guard bytes[offset] == 0xFF else { return false }
        offset += 1
        return true
    }

    /// Whether a container of `count` entries (nil: indefinite) has an entry at `index`.
    mutating func hasEntry(_ index: Int, of count: Int?) throws(DecodeError) -> Bool {
        if let count { return index < count }
        return try !consumeBreak()
    }

    mutating func head() throws(DecodeError) -> Head {
        guard offset < bytes.count else { throw malformed("ends where an item should start") }
        let initial = bytes[offset]
        offset += 1
        let major = initial >> 5
        let info = initial & 0x1F
        switch info {
        case 0..<24:
            return Head(major: major, argument: UInt64(info), indefinite: false, info: info)
        case 24...27:
            let size = 1 << Int(info - 24)
            guard offset + size <= bytes.count else { throw malformed("ends inside an item's \(size)-byte argument") }
            var argument: UInt64 = 0
            for index in 0..<size { argument = argument << 8 | UInt64(bytes[offset + index]) }
            offset += size
            return Head(major: major, argument: argument, indefinite: false, info: info)
        case 31 where major >= 2 && major <= 5:
            return Head(major: major, argument: 0, indefinite: true, info: info)
        default:
            throw malformed("uses reserved additional information \(info) with major type \(major)")
        }
    }

    /// The number of entries of an array or map that starts here, nil when indefinite.
    mutating func container(major expected: UInt8, what: String) throws(DecodeError) -> Int? {
        let head = try head()
        guard head.major == expected else { throw malformed("has major type \(head.major) where \(what) should be") }
        if head.indefinite { return nil }
        // Every entry takes at least one byte (two for a map), so a larger count cannot be honest.
        guard head.argument <= UInt64(bytes.count - offset) else { throw malformed("\(what) claims \(head.argument) entries") }
        return Int(head.argument)
    }

    /// Reads one item; arrays and maps inside are skipped and returned as `.other`.
    mutating func item(depth: Int = 0) throws(DecodeError) -> Item {
        guard depth < Self.maxDepth else { throw malformed("nests deeper than \(Self.maxDepth)") }
        let head = try head()
        switch head.major {
        case 0:
            return .number(Double(head.argument))
        case 1:
            return .number(-1 - Double(head.argument))
        case 2:
            try skipString(head, major: 2)
            return .bytes
        case 3:
            return .text(try string(head))
        case 4:
            if head.indefinite {
                while try !consumeBreak() { _ = try item(depth: depth + 1) }
            } else {
                guard head.argument <= UInt64(bytes.count - offset) else { throw malformed("array claims \(head.argument) entries") }
                for _ in 0..<head.argument { _ = try item(depth: depth + 1) }
            }
            return .other
        case 5:
            if head.indefinite {
                while try !consumeBreak() {
                    _ = try item(depth: depth + 1)
                    _ = try item(depth: depth + 1)
                }
            } else {
                guard head.argument <= UInt64(bytes.count - offset) else { throw malformed("map claims \(head.argument) entries") }
                for _ in 0..<(2 * head.argument) { _ = try item(depth: depth + 1) }
            }
            return .other
        case 6:
            return try item(depth: depth + 1)  // a tag: the tagged item stands for itself
        default:
            switch head.info {
            case 20: return .bool(false)
            case 21: return .bool(true)
            case 25: return .number(Self.half(UInt16(head.argument)))
            case 26: return .number(Double(Float(bitPattern: UInt32(head.argument))))
            case 27: return .number(Double(bitPattern: head.argument))
            case 24 where head.argument < 32: throw malformed("encodes simple value \(head.argument) in two bytes")
            default: return .other
            }
        }
    }

    /// A map key: an integer label, or a text label.
    enum Key {
        case integer(Int64)
        case text([UInt8])
        case other
    }

    mutating func key() throws(DecodeError) -> Key {
        let start = offset
        let head = try head()
        switch head.major {
        case 0 where head.argument <= UInt64(Int64.max):
            return .integer(Int64(head.argument))
        case 1 where head.argument <= UInt64(Int64.max):
            return .integer(-1 - Int64(head.argument))
        case 3:
            return .text(try string(head))
        default:
            offset = start
            _ = try item()
            return .other
        }
    }

    private mutating func string(_ head: Head) throws(DecodeError) -> [UInt8] {
        guard head.indefinite else {
            guard head.argument <= UInt64(bytes.count - offset) else { throw malformed("string of \(head.argument) bytes runs past the end") }
            let count = Int(head.argument)
            defer { offset += count }
            return Array(bytes[offset..<(offset + count)])
        }
        var result: [UInt8] = []
        while try !consumeBreak() {
            let chunk = try self.head()
            guard chunk.major == head.major, !chunk.indefinite else { throw malformed("indefinite string holds a chunk of another type") }
            result += try string(chunk)
        }
        return result
    }

    private mutating func skipString(_ head: Head, major: UInt8) throws(DecodeError) {
        guard head.indefinite else {
            guard head.argument <= UInt64(bytes.count - offset) else { throw malformed("string of \(head.argument) bytes runs past the end") }
            offset += Int(head.argument)
            return
        }
        while try !consumeBreak() {
            let chunk = try self.head()
            guard chunk.major == major, !chunk.indefinite else { throw malformed("indefinite string holds a chunk of another type") }
            try skipString(chunk, major: major)
        }
    }

    /// IEEE 754 half precision, as RFC 8949 Appendix D decodes it.
    static func half(_ bits: UInt16) -> Double {
        let exponent = Int(bits >> 10) & 0x1F
        let mantissa = Double(bits & 0x3FF)
        let magnitude: Double
        switch exponent {
        case 0: magnitude = mantissa * 0x1p-24
        case 31: magnitude = mantissa == 0 ? .infinity : .nan
        default: magnitude = (mantissa + 1024) * Double(sign: .plus, exponent: exponent - 25, significand: 1)
        }
        return bits & 0x8000 != 0 ? -magnitude : magnitude
    }

    func malformed(_ reason: String) -> DecodeError {
        DecodeError(.malformedCBOR, "cbor at byte \(offset) \(reason)")
    }
}
