/// RFC 3339 in and out, in microseconds since the epoch, without Foundation's formatters: the REST API's
/// times, and times in `json` payloads.
public enum TimeText {
    private static let perDay: Int64 = 86_400_000_000

    /// `2026-01-01T00:00:00.000000Z`
    public static func format(_ micros: Int64) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(27)
        write(micros, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `2026-01-01T00:00:00.000000Z` (no quotes) as bytes, without building strings.
    public static func write(_ micros: Int64, into bytes: inout [UInt8]) {
        let day = micros >= 0 ? micros / perDay : (micros - perDay + 1) / perDay  // floor, for times before 1970
        var text: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes ≥ 27
        withUnsafeMutableBytes(of: &text) { buffer in
            let out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            if putDate(day, at: out) {
                putTimeOfDay(micros - day * perDay, at: out + 10)
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<27]))
            } else {
                // Outside 4-digit years: the general path (sign or more digits).
                bytes.append(contentsOf: Array(CivilDate(daysSinceEpoch: day).iso.utf8))
                putTimeOfDay(micros - day * perDay, at: out)
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<17]))
            }
        }
    }

    /// `2026-01-01` (10 bytes) for a day since the epoch; false (nothing written) outside years 0...9999.
    @inline(__always)
    public static func putDate(_ day: Int64, at out: UnsafeMutablePointer<UInt8>) -> Bool {
        let date = CivilDate(daysSinceEpoch: day)
        guard date.year >= 0 && date.year <= 9999 else { return false }
        put(Int64(date.year), 4, at: out)
        out[4] = UInt8(ascii: "-")
        put(Int64(date.month), 2, at: out + 5)
        out[7] = UInt8(ascii: "-")
        put(Int64(date.day), 2, at: out + 8)
        return true
    }

    /// `T00:00:00.000000Z` (17 bytes) for microseconds into a day.
    @inline(__always)
    public static func putTimeOfDay(_ inDay: Int64, at out: UnsafeMutablePointer<UInt8>) {
        let seconds = inDay / 1_000_000
        out[0] = UInt8(ascii: "T")
        put(seconds / 3600, 2, at: out + 1)
        out[3] = UInt8(ascii: ":")
        put(seconds / 60 % 60, 2, at: out + 4)
        out[6] = UInt8(ascii: ":")
        put(seconds % 60, 2, at: out + 7)
        out[9] = UInt8(ascii: ".")
        put(inDay % 1_000_000, 6, at: out + 10)
        out[16] = UInt8(ascii: "Z")
    }

    /// Exactly `width` digits of `0 <= value < 10^width`, written backwards from the last.
    @inline(__always)
    private static func put(_ value: Int64, _ width: Int, at out: UnsafeMutablePointer<UInt8>) {
        var rest = value
        for index in stride(from: width - 1, through: 0, by: -1) {
            out[index] = UInt8(truncatingIfNeeded: rest % 10) &+ 48
            rest /= 10
        }
    }

    /// RFC 3339 (any offset, up to nanosecond digits, truncated to microseconds) or integer epoch milliseconds.
    public static func parse(_ text: String) -> Int64? {
        if let millis = Int64(text) {
            let (micros, overflow) = millis.multipliedReportingOverflow(by: 1000)
            return overflow ? nil : micros
        }
        return parseRFC3339(Array(text.utf8))
    }

    /// RFC 3339 alone (`T`, `t` or a space between date and time; `Z`, `z` or `±hh:mm`).
    public static func parseRFC3339(_ bytes: [UInt8]) -> Int64? {
        guard bytes.count >= 20, bytes.count <= 40 else { return nil }
        func digits(_ start: Int, _ count: Int) -> Int64? {
            guard start + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[start..<(start + count)] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard let year = digits(0, 4), bytes[4] == UInt8(ascii: "-"), let month = digits(5, 2), bytes[7] == UInt8(ascii: "-"),
              let day = digits(8, 2), bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t") || bytes[10] == UInt8(ascii: " "),
              let hour = digits(11, 2), bytes[13] == UInt8(ascii: ":"), let minute = digits(14, 2), bytes[16] == UInt8(ascii: ":"),
              let second = digits(17, 2) else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour < 24, minute < 60, second < 60 else { return nil }
        var index = 19
        var fraction: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var count = 0
            while index < bytes.count, (48...57).contains(bytes[index]) {
                if count < 6 { fraction = fraction * 10 + Int64(bytes[index] - 48) }
                count += 1
                index += 1
            }
            guard count > 0 else { return nil }
            for _ in 0..<max(0, 6 - count) { fraction *= 10 }  // more than 6 digits: already truncated
        }
        guard index < bytes.count else { return nil }
        var offsetSeconds: Int64 = 0
        if bytes[index] == UInt8(ascii: "Z") || bytes[index] == UInt8(ascii: "z") {
            index += 1
        } else if bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign: Int64 = bytes[index] == UInt8(ascii: "+") ? 1 : -1
            guard let offsetHours = digits(index + 1, 2), index + 3 < bytes.count, bytes[index + 3] == UInt8(ascii: ":"),
                  let offsetMinutes = digits(index + 4, 2), offsetHours < 24, offsetMinutes < 60 else { return nil }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
            index += 6
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let days = CivilDate(year: Int(year), month: Int(month), day: Int(day)).daysSinceEpoch
        return ((days * 86_400 + hour * 3600 + minute * 60 + second) - offsetSeconds) * 1_000_000 + fraction
    }

    public static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
