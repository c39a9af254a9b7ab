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
    @inline(__always)
    mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard offset < bytes.count, bytes[offset] == byte else { return false }
        offset += 1
        return true
    }

    @inline(__always)
    mutating func expect(_ byte: UInt8) throws(DecodeError) {
        guard consume(byte) else { throw expected(byte) }
    }

    /// Out of line, so the reason's text is not built into every `expect`.
    @inline(never)
    private func expected(_ byte: UInt8) -> DecodeError {
        malformed("expected '\(Character(Unicode.Scalar(byte)))'")
    }

    /// An object key, read as a SenML label without copying when it holds no escapes.
    mutating func label() throws(DecodeError) -> SenMLLabel {
        try withKey { SenMLLabel(json: $0) }
    }

    /// Reads an object key and hands its bytes to `body`: a slice of the input when the key holds no
    /// escapes (the usual case, no copy), else the unescaped copy.
    mutating func withKey<Result>(_ body: (UnsafeRawBufferPointer) -> Result) throws(DecodeError) -> Result {
        if let key = try plainKey() { return body(key) }
        let key = try string()
        return key.withUnsafeBytes(body)
    }

    /// Reads an object key that holds no escapes and returns its bytes, a slice of the input; nil (and
    /// nothing read) when it holds escapes, for `string()` to read.
    @inline(__always)
    mutating func plainKey() throws(DecodeError) -> UnsafeRawBufferPointer? {
        skipWhitespace()
        guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw malformed("expected a string key") }
        let start = offset + 1
        let end = plainRunEnd(from: start)
        guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
        offset = end + 1
        return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }

    /// Reads one value; null, arrays and objects are skipped (`skipValue`) and returned as `.other`.
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
        default:
            try skipValue(depth: depth)
            return .other
        }
    }

    /// Steps over one value, checked as strictly as `item` reads it, keeping nothing: strings are not
    /// copied, so a decoder skips what it does not map without allocating.
    mutating func skipValue(depth: Int = 0) throws(DecodeError) {
        guard depth < Self.maxDepth else { throw malformed("nests deeper than \(Self.maxDepth)") }
        skipWhitespace()
        guard offset < bytes.count else { throw malformed("ends where a value should start") }
        var nowhere = DiscardedBytes()
        switch bytes[offset] {
        case UInt8(ascii: "\""):
            try readString(into: &nowhere)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try number()
        case UInt8(ascii: "t"):
            try literal("true")
        case UInt8(ascii: "f"):
            try literal("false")
        case UInt8(ascii: "n"):
            try literal("null")
        case UInt8(ascii: "["):
            offset += 1
            if !consume(UInt8(ascii: "]")) {
                repeat { try skipValue(depth: depth + 1) } while consume(UInt8(ascii: ","))
                try expect(UInt8(ascii: "]"))
            }
        case UInt8(ascii: "{"):
            offset += 1
            if !consume(UInt8(ascii: "}")) {
                repeat {
                    skipWhitespace()
                    try readString(into: &nowhere)
                    try expect(UInt8(ascii: ":"))
                    try skipValue(depth: depth + 1)
                } while consume(UInt8(ascii: ","))
                try expect(UInt8(ascii: "}"))
            }
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
        var result: [UInt8] = []
        try readString(into: &result)
        return result
    }

    /// Reads a string, checking its escapes, and hands its unescaped bytes to `result`.
    @inline(__always)
    mutating func readString<Sink: JSONStringSink>(into result: inout Sink) throws(DecodeError) {
        guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw malformed("expected a string") }
        offset += 1
        var runStart = offset
        while true {
            offset = plainRunEnd(from: offset)
            guard offset < bytes.count else { throw malformed("ends inside a string") }
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                result.append(run: UnsafeRawBufferPointer(rebasing: bytes[runStart..<offset]))
                offset += 1
                return
            }
            guard byte >= 0x20 else { throw malformed("has a control character inside a string") }
            result.append(run: UnsafeRawBufferPointer(rebasing: bytes[runStart..<offset]))
            offset += 1
            guard offset < bytes.count else { throw malformed("ends inside an escape") }
            let escape = bytes[offset]
            offset += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): result.append(byte: escape)
            case UInt8(ascii: "b"): result.append(byte: 0x08)
            case UInt8(ascii: "f"): result.append(byte: 0x0C)
            case UInt8(ascii: "n"): result.append(byte: 0x0A)
            case UInt8(ascii: "r"): result.append(byte: 0x0D)
            case UInt8(ascii: "t"): result.append(byte: 0x09)
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
                for byte in UTF8.encode(Unicode.Scalar(scalar)!)! { result.append(byte: byte) }
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
    /// standard library's correctly rounded parser. Reads with a local index (stored back before any
    /// throw, as the error names the byte), which the compiler keeps in a register.
    mutating func number() throws(DecodeError) -> Double {
        let bytes = self.bytes
        let end = bytes.count
        /// The digit's value at `index`, 10 or more when the byte is not a digit or there is none.
        @inline(__always) func digit(_ index: Int) -> UInt8 { index < end ? bytes[index] &- UInt8(ascii: "0") : 0xFF }
        let start = offset
        var index = offset
        let negative = index < end && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var fractionDigits = 0
        guard digit(index) < 10 else { offset = index; throw malformed("has a number without digits") }
        if digit(index) == 0 {
            index += 1
        } else {
            while case let value = digit(index), value < 10 {
                if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(value) }
                digits += 1  // the first digit is not 0, so every digit counts
                index += 1
            }
        }
        var integerDigitsDropped = Swift.max(0, digits - 19)
        if index < end, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digit(index) < 10 else { offset = index; throw malformed("has a number with an empty fraction") }
            while case let value = digit(index), value < 10 {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(value)
                    fractionDigits += 1
                    if mantissa != 0 { digits += 1 }
                } else {
                    digits += 1
                }
                index += 1
            }
        }
        var exponent = 0
        if index < end, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            var exponentNegative = false
            if index < end, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard digit(index) < 10 else { offset = index; throw malformed("has a number with an empty exponent") }
            while case let value = digit(index), value < 10 {
                if exponent < 100_000 { exponent = exponent * 10 + Int(value) }
                index += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        offset = index
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

    func malformed(_ reason: String) -> DecodeError {
        DecodeError(.malformedJSON, "json at byte \(offset) \(reason)")
    }
}

/// Where `JSONReader.readString` puts a string's unescaped bytes.
protocol JSONStringSink {
    mutating func append(run: UnsafeRawBufferPointer)
    mutating func append(byte: UInt8)
}

extension [UInt8]: JSONStringSink {
    mutating func append(run: UnsafeRawBufferPointer) { append(contentsOf: run) }
    mutating func append(byte: UInt8) { append(byte) }
}

/// A string skipped: checked, kept nowhere.
struct DiscardedBytes: JSONStringSink {
    func append(run: UnsafeRawBufferPointer) {}
    func append(byte: UInt8) {}
}
