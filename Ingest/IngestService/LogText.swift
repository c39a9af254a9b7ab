/// Text from a device (topics, reasons quoting a payload, errors that quote them) as it may go into a
/// log line: control characters escaped (`\n` as `\u{0A}`), so a device can neither start a line of its
/// own nor send terminal escapes, and cut at `limit` characters.
enum LogText {
    static func escape(_ text: some StringProtocol, limit: Int = 512) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit {
                out += "…"
                break
            }
            count += 1
            switch scalar.value {
            case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029:
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
