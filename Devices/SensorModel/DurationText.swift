/// Durations written as `Ns`, `Nm`, `Nh` or `Nd`, as in the catalog and the REST API's buckets.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        // Digits only, no sign, no leading zero: what format writes and the API documents.
        let digits = text.utf8.dropLast()
        guard let unit = text.last, let first = digits.first, (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(first),
            digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), let number = Int64(text.dropLast()), number > 0
        else { return nil }
        let seconds: Int64
        switch unit {
        case "s": seconds = 1
        case "m": seconds = 60
        case "h": seconds = 3600
        case "d": seconds = 86_400
        default: return nil
        }
        let (total, overflow) = number.multipliedReportingOverflow(by: seconds)
        guard !overflow, total <= 100 * 365 * 86_400 else { return nil }
        return .seconds(total)
    }

    /// The text `parse` reads back: the largest unit that divides it (sub-second parts are dropped).
    public static func format(_ duration: Duration) -> String {
        let seconds = max(1, duration.components.seconds)
        for (unit, size) in [("d", Int64(86_400)), ("h", 3600), ("m", 60)] where seconds % size == 0 {
            return "\(seconds / size)\(unit)"
        }
        return "\(seconds)s"
    }
}
