/// A small JSON (RFC 8259) reader over bytes: enough for SenML packs, without building objects.
/// Strings are returned as UTF-8 bytes; raw bytes ≥ 0x80 pass through unchecked.
struct JSONReader {
    enum Item {
        case number(Double)
        case text([UInt8])
        case bool(Bool)
        /// null, arrays and objects (skipped).
        case other
    }

    static let maxDepth = 32

    let bytes: UnsafeRawBufferPointer
    /// Where reading continues; the json decoder peeks and steps over a `{` itself.
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    @inline(__always)
    mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x0A, 0x0D, 0x09: offset += 1
            default: return
            }
        }
    }

    var isAtEnd: Bool { offset == bytes.count }

    /// Skips whitespace and consumes `byte` if it comes next.
    mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard offset < bytes.count, bytes[offset] == byte else { return false }
        offset += 1
        return true
    }

    mutating func expect(_ byte: UInt8) throws(DecodeError) {
        guard consume(byte) else { throw malformed("expected '\(Character(Unicode.Scalar(byte)))'") }
    }

    /// An object key, read as a SenML label without copying when it holds no escapes.
    mutating func label() throws(DecodeError) -> SenMLLabel {
        try withKey { SenMLLabel(json: $0) }
    }

    /// Reads an object key and hands its bytes to `body`: a slice of the input when the key holds no
    /// escapes (the usual case, no copy), else the unescaped copy.
    mutating func withKey<Result>(_ body: (UnsafeRawBufferPointer) -> Result) throws(DecodeError) -> Result {
        skipWhitespace()
        guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw malformed("expected a string key") }
        let start = offset + 1
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 { end += 1 }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            offset = end + 1
            return body(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
        }
        let key = try string()
        return key.withUnsafeBytes(body)
    }

    /// Reads one value; arrays and objects inside are skipped and returned as `.other`.
    mutating func item(depth: Int = 0) throws(DecodeError) -> Item {
        guard depth < Self.maxDepth else { throw malformed("nests deeper than \(Self.maxDepth)") }
        skipWhitespace()
        guard offset < bytes.count else { throw malformed("ends where a value should start") }
        switch bytes[offset] {
        case UInt8(ascii: "\""):
            return .text(try string())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try number())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .other
        case UInt8(ascii: "["):
            offset += 1
            if !consume(UInt8(ascii: "]")) {
                repeat { _ = try item(depth: depth + 1) } while consume(UInt8(ascii: ","))
                try expect(UInt8(ascii: "]"))
            }
            return .other
        case UInt8(ascii: "{"):
            offset += 1
            if !consume(UInt8(ascii: "}")) {
                repeat {
                    skipWhitespace()
                    _ = try string()
                    try expect(UInt8(ascii: ":"))
                    _ = try item(depth: depth + 1)
                } while consume(UInt8(ascii: ","))
                try expect(UInt8(ascii: "}"))
            }
            return .other
        default:
            throw malformed("has an unexpected byte 0x\(String(bytes[offset], radix: 16))")
        }
    }

    private mutating func literal(_ word: StaticString) throws(DecodeError) {
        let count = word.utf8CodeUnitCount
        guard offset + count <= bytes.count,
              UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]).elementsEqual(UnsafeRawBufferPointer(start: word.utf8Start, count: count))
        else { throw malformed("has a misspelt literal") }
        offset += count
    }

    mutating func string() throws(DecodeError) -> [UInt8] {
        guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw malformed("expected a string") }
        offset += 1
        var result: [UInt8] = []
        var runStart = offset
        while true {
            guard offset < bytes.count else { throw malformed("ends inside a string") }
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                result += bytes[runStart..<offset]
                offset += 1
                return result
            }
            guard byte >= 0x20 else { throw malformed("has a control character inside a string") }
            if byte != UInt8(ascii: "\\") {
                offset += 1
                continue
            }
            result += bytes[runStart..<offset]
            offset += 1
            guard offset < bytes.count else { throw malformed("ends inside an escape") }
            let escape = bytes[offset]
            offset += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): result.append(escape)
            case UInt8(ascii: "b"): result.append(0x08)
            case UInt8(ascii: "f"): result.append(0x0C)
            case UInt8(ascii: "n"): result.append(0x0A)
            case UInt8(ascii: "r"): result.append(0x0D)
            case UInt8(ascii: "t"): result.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard offset + 2 <= bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") else {
                        throw malformed("has a lone surrogate escape")
                    }
                    offset += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw malformed("has a lone surrogate escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw malformed("has a lone surrogate escape")
                }
                result += UTF8.encode(Unicode.Scalar(scalar)!)!
            default:
                throw malformed("has an unknown escape")
            }
            runStart = offset
        }
    }

    private mutating func hex4() throws(DecodeError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw malformed("ends inside a \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw malformed("has a bad \\u escape")
            }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        return value
    }

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// A JSON number. Small decimals take the exact fast path (Clinger); the rest go to the
    /// standard library's correctly rounded parser.
    mutating func number() throws(DecodeError) -> Double {
        let start = offset
        var negative = false
        if bytes[offset] == UInt8(ascii: "-") {
            negative = true
            offset += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var fractionDigits = 0
        guard offset < bytes.count, isDigit(bytes[offset]) else { throw malformed("has a number without digits") }
        if bytes[offset] == UInt8(ascii: "0") {
            offset += 1
        } else {
            while offset < bytes.count, isDigit(bytes[offset]) {
                if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(bytes[offset] - UInt8(ascii: "0")) }
                if mantissa != 0 { digits += 1 }
                offset += 1
            }
        }
        var integerDigitsDropped = Swift.max(0, digits - 19)
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            guard offset < bytes.count, isDigit(bytes[offset]) else { throw malformed("has a number with an empty fraction") }
            while offset < bytes.count, isDigit(bytes[offset]) {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(bytes[offset] - UInt8(ascii: "0"))
                    fractionDigits += 1
                    if mantissa != 0 { digits += 1 }
                } else {
                    digits += 1
                }
                offset += 1
            }
        }
        var exponent = 0
        if offset < bytes.count, bytes[offset] | 0x20 == UInt8(ascii: "e") {
            offset += 1
            var exponentNegative = false
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") {
                exponentNegative = bytes[offset] == UInt8(ascii: "-")
                offset += 1
            }
            guard offset < bytes.count, isDigit(bytes[offset]) else { throw malformed("has a number with an empty exponent") }
            while offset < bytes.count, isDigit(bytes[offset]) {
                if exponent < 100_000 { exponent = exponent * 10 + Int(bytes[offset] - UInt8(ascii: "0")) }
                offset += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        integerDigitsDropped = Swift.min(integerDigitsDropped, 100_000)
        let scale = exponent - fractionDigits + integerDigitsDropped
        if digits <= 15, mantissa < (1 << 53), (-22...22).contains(scale) {
            let value = scale < 0 ? Double(mantissa) / Self.powersOfTen[-scale] : Double(mantissa) * Self.powersOfTen[scale]
            return negative ? -value : value
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
        guard let value = Double(text) else { throw malformed("has a number Swift cannot read") }
        return value
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    func malformed(_ reason: String) -> DecodeError {
        DecodeError(.malformedJSON, "json at byte \(offset) \(reason)")
    }
}
