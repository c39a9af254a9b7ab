/// A small JSON builder writing UTF-8 bytes: responses have field names from the catalog as keys, and speed matters.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    /// Whether the next value in the current container needs a comma first. Closing a container always
    /// leaves its parent with a value written, so no stack is needed.
    private var needsComma = false

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma = false }
    mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    mutating func key(_ name: String) {
        separate()
        appendString(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A key known to need no escaping, given with its quotes and colon (`"time":`).
    mutating func rawKey(_ quotedWithColon: StaticString) {
        separate()
        quotedWithColon.withUTF8Buffer { bytes.append(contentsOf: $0) }
        needsComma = false
    }

    mutating func string(_ value: String?) {
        guard let value else { null(); return }
        separate()
        appendString(value)
    }

    mutating func number(_ value: Double?) {
        guard let value, value.isFinite else { null(); return }
        separate()
        var text: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // NumberText.maxBytes
        withUnsafeMutableBytes(of: &text) { buffer in
            let length = NumberText.put(value, at: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<length]))
        }
    }

    mutating func integer(_ value: Int64?) {
        guard let value else { null(); return }
        separate()
        appendInteger(value)
    }

    mutating func bool(_ value: Bool) { separate(); appendASCII(value ? "true" : "false") }
    mutating func null() { separate(); appendASCII("null") }

    mutating func field(_ name: String, _ value: String?) { key(name); string(value) }
    mutating func field(_ name: String, _ value: Double?) { key(name); number(value) }
    mutating func field(_ name: String, integer value: Int64?) { key(name); integer(value) }
    mutating func field(_ name: String, _ value: Bool) { key(name); bool(value) }

    /// `"2026-01-01T00:00:00.000000Z"` with the quotes.
    mutating func time(_ micros: Int64) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        TimeText.write(micros, into: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Raw bytes already in JSON form (e.g. a quoted string escaped once and reused).
    mutating func raw(_ json: [UInt8]) {
        separate()
        bytes.append(contentsOf: json)
    }

    private mutating func appendASCII(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    private mutating func appendInteger(_ value: Int64) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            if value == .min { appendASCII("9223372036854775808"); return }
            appendUnsigned(UInt64(-value))
        } else {
            appendUnsigned(UInt64(value))
        }
    }

    private mutating func appendUnsigned(_ value: UInt64) {
        if value < 10 { bytes.append(UInt8(truncatingIfNeeded: value) &+ 48); return }
        var digits: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)  // 40 bytes ≥ 20 digits
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            while rest > 0 {
                buffer[19 - count] = UInt8(truncatingIfNeeded: rest % 10) &+ 48
                rest /= 10
                count += 1
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[(20 - count)..<20]))
        }
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
    }

    private mutating func appendString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): appendASCII("\\\"")
            case UInt8(ascii: "\\"): appendASCII("\\\\")
            case UInt8(ascii: "\n"): appendASCII("\\n")
            case UInt8(ascii: "\r"): appendASCII("\\r")
            case UInt8(ascii: "\t"): appendASCII("\\t")
            case _ where byte < 0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                appendASCII("\\u00")
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 15)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

