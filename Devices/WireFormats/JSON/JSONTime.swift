import SensorModel

/// A reading's time in `json`: epoch seconds or milliseconds (told apart by magnitude), or RFC 3339 text.
enum JSONTime {
    /// Below this a number counts as seconds (1e11 s is the year 5138), else as milliseconds (1e11 ms is 1973).
    static let millisecondsFrom = 1e11
    /// 1e14 ms is the year 5138 too: anything larger is not a time.
    static let largest = 1e14

    static func micros(epoch value: Double) throws(DecodeError) -> Int64 {
        guard value.isFinite, value >= 0, value < largest else {
            throw DecodeError(.badTime, "json time \(value) is not epoch seconds or milliseconds from 1970 to the year 5138")
        }
        let micros = value < millisecondsFrom ? value * 1_000_000 : value * 1000
        return Int64(micros.rounded())
    }

    /// `2026-01-01T00:00:00Z`, `2026-01-01T01:00:00.25+01:00` (RFC 3339 §5.6, to the microsecond), from 1970 on.
    static func micros(rfc3339 text: [UInt8]) throws(DecodeError) -> Int64 {
        guard let micros = TimeText.parseRFC3339(text), micros >= 0 else {
            let shown = String(decoding: text.prefix(40), as: UTF8.self)
            throw DecodeError(.badTime, "json time '\(shown)' is not RFC 3339 (2026-01-01T00:00:00Z) or epoch seconds/milliseconds")
        }
        return micros
    }
}
