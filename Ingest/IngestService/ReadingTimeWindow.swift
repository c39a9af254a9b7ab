import SensorModel
import WireFormats

/// The reading times a pipeline stores: from `maxAge` before the message's receive time to `maxAhead`
/// after it. Anything else (a clock at 1970 or 9999, a firmware's garbage) is dead-lettered rather than
/// given a partition of its own. Relative to the receive time, so a replay decides as the first try did.
struct ReadingTimeWindow: Sendable {
    static let defaultMaxAge: Duration = .seconds(3650 * 86_400)
    let maxAge: Int64
    let maxAhead: Int64

    init(maxAge: Duration, maxAhead: Duration) {
        self.maxAge = maxAge.components.seconds * 1_000_000
        self.maxAhead = maxAhead.components.seconds * 1_000_000
    }

    func check(_ readings: ReadingBatch, rows: Range<Int>, receivedAt: Int64) throws(DecodeError) {
        let earliest = receivedAt - maxAge, latest = receivedAt + maxAhead
        for row in rows {
            let time = readings.times[row]
            guard time < earliest || time > latest else { continue }
            throw DecodeError(
                .timeOutOfWindow,
                "reading time \(Self.text(time)) is outside \(Self.text(earliest)) ... \(Self.text(latest)) (received \(Self.text(receivedAt)))")
        }
    }

    /// RFC 3339 within years 0...9999, else the number itself.
    static func text(_ micros: Int64) -> String {
        (-62_135_596_800_000_000...253_402_300_799_999_999).contains(micros) ? TimeText.format(micros) : "\(micros) µs since 1970"
    }
}
