import SensorModel

/// Encodes one reading as a Cayenne LPP payload, the way a multi-sensor node would.
/// Values are rounded to the type's resolution and clamped to what its bytes hold; a multi-value
/// entry (accelerometer, GPS) sends 0 for a component the reading lacks.
public struct LPPEncoder: PayloadEncoder {
    struct Entry {
        var type: LPPType
        var channel: UInt8
        /// Field index per component, nil where no field maps.
        var fields: [Int?]
    }

    let entries: [Entry]
    /// Prepend a unix time entry (type 133) carrying the reading's time in whole seconds.
    public var includeTime: Bool

    public init(sensor: SensorType) {
        self.init(sensor: sensor, includeTime: true)
    }

    /// Fields without a channel binding go on channel `defaultChannel`.
    public init(sensor: SensorType, includeTime: Bool, defaultChannel: UInt8 = 1) {
        self.includeTime = includeTime
        var entries: [Entry] = []
        for (index, field) in sensor.fields.enumerated() {
            guard let binding = field.lpp, let type = LPPType.byID[binding.type & 0xFF], binding.type < 256 else { continue }
            let channel = binding.channel.map { UInt8(clamping: $0) } ?? defaultChannel
            let component = binding.component ?? 0
            guard component < type.components else { continue }
            if let existing = entries.firstIndex(where: { $0.type.id == type.id && $0.channel == channel }) {
                entries[existing].fields[component] = index
            } else {
                var fields = [Int?](repeating: nil, count: type.components)
                fields[component] = index
                entries.append(Entry(type: type, channel: channel, fields: fields))
            }
        }
        self.entries = entries
    }

    /// LPP carries one reading per payload: `rows` must hold exactly one row. `seq` is not carried.
    public func encode(_ batch: ReadingBatch, rows: Range<Int>, seq: UInt32) -> [UInt8] {
        precondition(rows.count == 1, "an LPP payload carries one reading")
        let row = rows.lowerBound
        var out: [UInt8] = []
        if includeTime, let type = LPPType.byID[Int(LPPType.unixTime)] {
            out += [0, LPPType.unixTime]
            append(Int64(batch.times[row] / 1_000_000), type: type, to: &out)
        }
        for entry in entries {
            let values = entry.fields.map { $0.map { batch.values[$0][row] } ?? .nan }
            guard values.contains(where: { !$0.isNaN }) else { continue }
            out += [entry.channel, entry.type.id]
            for (component, value) in values.enumerated() {
                let scaled = (value * entry.type.divisors[component]).rounded()
                let range = entry.type.rawRange
                let raw = scaled.isNaN ? 0 : Int64(Swift.max(Double(range.lowerBound), Swift.min(Double(range.upperBound), scaled)))
                append(raw, type: entry.type, to: &out)
            }
        }
        return out
    }

    private func append(_ raw: Int64, type: LPPType, to out: inout [UInt8]) {
        for byte in (0..<type.width).reversed() {
            out.append(UInt8(truncatingIfNeeded: raw >> Int64(8 * byte)))
        }
    }
}
