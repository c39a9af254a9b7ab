/// A small JSON builder: responses have field names from the catalog as keys, and speed matters.
struct JSONWriter {
    private(set) var text = ""
    private var needsComma = [false]

    init(capacity: Int = 256) { text.reserveCapacity(capacity) }

    mutating func beginObject() { value("{"); needsComma.append(false) }
    mutating func endObject() { needsComma.removeLast(); text += "}" }
    mutating func beginArray() { value("["); needsComma.append(false) }
    mutating func endArray() { needsComma.removeLast(); text += "]" }

    mutating func key(_ name: String) {
        separate()
        appendString(name)
        text += ":"
        needsComma[needsComma.count - 1] = false
    }

    mutating func string(_ value: String?) {
        guard let value else { null(); return }
        separate()
        appendString(value)
    }

    mutating func number(_ value: Double?) {
        guard let value, value.isFinite else { null(); return }
        if value == value.rounded(), abs(value) < 1e15 {
            self.value(String(Int64(value)))
        } else {
            self.value(String(value))
        }
    }

    mutating func integer(_ value: Int64?) {
        guard let value else { null(); return }
        self.value(String(value))
    }

    mutating func bool(_ value: Bool) { self.value(value ? "true" : "false") }
    mutating func null() { value("null") }

    mutating func field(_ name: String, _ value: String?) { key(name); string(value) }
    mutating func field(_ name: String, _ value: Double?) { key(name); number(value) }
    mutating func field(_ name: String, integer value: Int64?) { key(name); integer(value) }

    private mutating func value(_ raw: String) {
        separate()
        text += raw
    }

    private mutating func separate() {
        if needsComma[needsComma.count - 1] { text += "," }
        needsComma[needsComma.count - 1] = true
    }

    private mutating func appendString(_ value: String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
