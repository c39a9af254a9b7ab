import SensorModel

/// Applies RFC 8428 §4.6 resolution to records in pack order and merges records with the same
/// resolved time into one reading of the sensor type.
struct SenMLResolver {
    static let supportedVersion = 10.0
    /// Resolved times below 2^28 s are relative to the receive time (RFC 8428 §4.5.3).
    static let relativeLimit = 268_435_456.0

    let fieldNames: [[UInt8]]
    let conversions: [[SenMLUnits.Conversion]]
    let receivedAt: Int64
    let firstRow: Int

    private var baseName: [UInt8] = []
    private var baseTime = 0.0
    private var baseUnit: [UInt8]?
    private var baseValue = 0.0
    private var rowByTime: [Int64: Int] = [:]
    private var lastRow = -1

    init(fields: SenMLFields, receivedAt: Int64, firstRow: Int) {
        self.fieldNames = fields.names
        self.conversions = fields.conversions
        self.receivedAt = receivedAt
        self.firstRow = firstRow
    }

    mutating func add(_ record: SenMLRecord, into batch: inout ReadingBatch) throws(DecodeError) {
        if let version = record.baseVersion, version > Self.supportedVersion {
            throw DecodeError(.badSenML, "senml version \(version) is newer than \(Int(Self.supportedVersion))")
        }
        if let name = record.baseName { baseName = name }
        if let time = record.baseTime { baseTime = time }
        if let unit = record.baseUnit { baseUnit = unit }
        if let value = record.baseValue { baseValue = value }

        guard let value = record.value else {
            if let other = record.otherValue {
                throw DecodeError(.badSenML, "senml record gives '\(other.text)' without 'v'; the sensor type's fields are numeric")
            }
            if record.name != nil { throw DecodeError(.badSenML, "senml record \(text(record.name ?? [])) has no value") }
            return  // a record of base values only
        }
        let field = try fieldIndex(name: record.name ?? [])
        let unit = record.unit ?? baseUnit
        var conversion = conversions[field][0]
        if let unit, !unit.elementsEqual(conversion.from) {
            guard let found = conversions[field].first(where: { $0.from.elementsEqual(unit) }) else {
                throw DecodeError(.badUnit, "senml unit '\(text(unit))' cannot be converted to \(text(conversions[field][0].from)) for \(text(fieldNames[field]))")
            }
            conversion = found
        }
        let converted = conversion.apply(baseValue + value)
        guard converted.isFinite else {
            throw DecodeError(.nonFinite, "senml value of \(text(fieldNames[field])) is not a finite number")
        }
        let time = try resolveTime(record.time ?? 0)
        let row = self.row(at: time, in: &batch)
        guard batch.values[field][row].isNaN else {
            throw DecodeError(.duplicateField, "senml pack gives \(text(fieldNames[field])) twice at time \(time) µs")
        }
        batch.set(field: field, row: row, converted)
    }

    private func resolveTime(_ time: Double) throws(DecodeError) -> Int64 {
        let total = baseTime + time
        guard total.isFinite, abs(baseTime) < 1e12, abs(time) < 1e12 else {
            throw DecodeError(.badTime, "senml time \(total) s is outside years 1970...9999")
        }
        // Whole microseconds of each part, so a large base time keeps a small offset's precision.
        var micros = Int64((baseTime * 1e6).rounded()) + Int64((time * 1e6).rounded())
        if total < Self.relativeLimit {
            let (sum, overflow) = receivedAt.addingReportingOverflow(micros)
            guard !overflow else { throw DecodeError(.badTime, "senml relative time \(total) s overflows") }
            micros = sum
        }
        guard micros >= TimeBounds.minimum, micros <= TimeBounds.maximum else {
            throw DecodeError(.badTime, "senml time \(micros) µs is outside years 1970...9999")
        }
        return micros
    }

    /// The reading at `time`, appended when it is the first record at that time.
    private mutating func row(at time: Int64, in batch: inout ReadingBatch) -> Int {
        if lastRow >= 0, batch.times[lastRow] == time { return lastRow }
        let rows = batch.count - firstRow
        if rows <= 16 {
            for row in firstRow..<batch.count where batch.times[row] == time {
                lastRow = row
                return row
            }
        } else {
            if rowByTime.isEmpty {
                for row in firstRow..<batch.count { rowByTime[batch.times[row]] = row }
            }
            if let row = rowByTime[time] {
                lastRow = row
                return row
            }
        }
        let row = batch.appendRow(time: time, seq: ReadingBatch.noSeq)
        if !rowByTime.isEmpty { rowByTime[time] = row }
        lastRow = row
        return row
    }

    /// Matches the resolved name's last part after `:` or `/` (or the whole name) to a field.
    private func fieldIndex(name: [UInt8]) throws(DecodeError) -> Int {
        let nameTail = Self.tail(name)
        // When the record's own name holds no separator, the base name's tail continues into it.
        let baseTail = nameTail.count == name.count ? Self.tail(baseName) : ArraySlice()
        guard baseTail.count + nameTail.count > 0 else { throw DecodeError(.badSenML, "senml record has no name") }
        for (index, field) in fieldNames.enumerated() where field.count == baseTail.count + nameTail.count {
            if field[..<baseTail.count].elementsEqual(baseTail), field[baseTail.count...].elementsEqual(nameTail) {
                return index
            }
        }
        throw DecodeError(.unknownField, "senml name '\(text(baseName + name))' matches none of \(fieldNames.map { text($0) })")
    }

    private static func tail(_ name: [UInt8]) -> ArraySlice<UInt8> {
        guard let separator = name.lastIndex(where: { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "/") }) else {
            return name[...]
        }
        return name[(separator + 1)...]
    }

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes.prefix(64), as: UTF8.self) }
}

/// What the SenML decoders need of a sensor type, prepared once.
struct SenMLFields: Sendable {
    let names: [[UInt8]]
    let conversions: [[SenMLUnits.Conversion]]

    init(sensor: SensorType) {
        names = sensor.fields.map { Array($0.name.utf8) }
        conversions = sensor.fields.map { SenMLUnits.conversions(into: $0.unit) }
    }
}
