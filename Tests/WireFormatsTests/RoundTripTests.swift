import SensorModel
import Testing
@testable import WireFormats

/// Random readings, encoded and decoded again, for every sensor type, format and `tm` encoding.
@Suite struct RoundTripTests {
    static let iterations = 300

    enum Variant: CustomTestStringConvertible, Sendable, CaseIterable {
        case tmFloat32, tmFloat32CRC, tmFloat64, tmFloat64CRC, tmInt32Scaled, tmInt32ScaledCRC, lpp, senmlJSON, senmlCBOR
        case json, jsonFlat, text

        var testDescription: String { "\(self)" }
        var format: PayloadFormat {
            switch self {
            case .lpp: .lpp
            case .senmlJSON: .senmlJSON
            case .senmlCBOR: .senmlCBOR
            case .json, .jsonFlat: .json
            case .text: .text
            default: .tm
            }
        }
    }

    @Test(arguments: Variant.allCases)
    func roundTrip(_ variant: Variant) throws {
        var random = SeededRandom(seed: 0x5EED + UInt64(Variant.allCases.firstIndex(of: variant)!))
        // text carries one number: sensor types of one field.
        for sensor in catalog.sensors where variant != .text || sensor.fields.count == 1 {
            let decoder = MessageDecoder(sensor: sensor)
            for iteration in 0..<Self.iterations {
                let (rows, payload) = Self.sample(variant, sensor: sensor, using: &random)
                var batch = ReadingBatch(fieldCount: sensor.fields.count)
                do {
                    try decoder.decode(payload, format: variant.format, receivedAt: newYear2026, into: &batch)
                } catch {
                    Issue.record("\(sensor.name) #\(iteration): \(error) for \(rows)")
                    return
                }
                let decoded = WireFormatsTests.rows(batch)
                guard decoded == rows.sorted(by: { $0.time < $1.time }) else {
                    Issue.record("\(sensor.name) #\(iteration): decoded \(decoded), encoded \(rows)")
                    return
                }
            }
        }
    }

    /// Random rows the variant can carry exactly, and their encoding.
    static func sample(_ variant: Variant, sensor: SensorType, using random: inout SeededRandom) -> ([Row], [UInt8]) {
        let fields = sensor.fields
        let seq = UInt32.random(in: 0...UInt32.max, using: &random)
        let base = Int64.random(in: 1_500_000_000_000_000...2_500_000_000_000_000, using: &random)
        let count = variant == .lpp || variant == .text ? 1 : Int.random(in: 1...40, using: &random)
        var times = Set<Int64>()
        while times.count < count {
            switch variant {
            case .lpp: times.insert(base / 1_000_000 * 1_000_000)
            case .text: times.insert(newYear2026)  // the receive time
            // Half whole milliseconds (written as epoch ms), half not (written as RFC 3339).
            case .json, .jsonFlat:
                let time = base + Int64.random(in: 0...3_600_000_000, using: &random)
                times.insert(Bool.random(using: &random) ? time / 1000 * 1000 : time)
            default: times.insert(base + Int64.random(in: 0...3_600_000_000, using: &random))
            }
        }
        let scale = Int8.random(in: -4...0, using: &random)
        let rows: [Row] = times.shuffled(using: &random).map { time in
            var values: [Double?] = fields.map { field in
                switch variant {
                case .tmFloat32, .tmFloat32CRC:
                    return Double(Float(Double.random(in: field.min...field.max, using: &random)).clamped(field))
                case .tmFloat64, .tmFloat64CRC, .senmlJSON, .senmlCBOR, .json, .jsonFlat, .text:
                    return Double.random(in: field.min...field.max, using: &random)
                case .tmInt32Scaled, .tmInt32ScaledCRC:
                    let unit = TMDecoder.powerOfTen(scale)
                    let low = max((field.min / unit).rounded(.up), -2_000_000_000)
                    let high = min((field.max / unit).rounded(.down), 2_000_000_000)
                    return Double(Int64.random(in: Int64(low)...Int64(high), using: &random)) * unit
                case .lpp:
                    return lppValue(field, using: &random)
                }
            }
            // Partial readings where the format can carry them.
            if variant.format != .tm, values.count > 1 {
                let keep = Int.random(in: 0..<values.count, using: &random)
                for index in values.indices where index != keep && Bool.random(using: &random) {
                    if variant == .lpp, fields[index].lpp?.component != nil { continue }  // multi-value entries carry all parts
                    values[index] = nil
                }
            }
            return Row(time: time, seq: variant.format == .tm ? Int64(seq) : ReadingBatch.noSeq, values: values)
        }
        var batch = ReadingBatch(fieldCount: fields.count)
        for row in rows { batch.append(row) }
        let encoder: any PayloadEncoder
        switch variant {
        case .tmFloat32: encoder = TMEncoder(encoding: .float32, crc: false)
        case .tmFloat32CRC: encoder = TMEncoder(encoding: .float32, crc: true)
        case .tmFloat64: encoder = TMEncoder(encoding: .float64, crc: false)
        case .tmFloat64CRC: encoder = TMEncoder(encoding: .float64, crc: true)
        case .tmInt32Scaled: encoder = TMEncoder(encoding: .int32Scaled, crc: false, scale: scale)
        case .tmInt32ScaledCRC: encoder = TMEncoder(encoding: .int32Scaled, crc: true, scale: scale)
        case .lpp: encoder = LPPEncoder(sensor: sensor)
        case .senmlJSON: encoder = SenMLJSONEncoder(sensor: sensor)
        case .senmlCBOR: encoder = SenMLCBOREncoder(sensor: sensor)
        case .json: encoder = JSONTelemetryEncoder(sensor: sensor, shape: .tsValues)
        case .jsonFlat: encoder = JSONTelemetryEncoder(sensor: sensor, shape: .flat)
        case .text: encoder = TextEncoder(sensor: sensor)
        }
        return (rows, encoder.encode(batch, rows: 0..<batch.count, seq: seq))
    }

    /// A value on the LPP type's grid, inside both the catalog range and what the type's bytes hold.
    static func lppValue(_ field: Field, using random: inout SeededRandom) -> Double {
        let binding = field.lpp!
        let type = LPPType.byID[binding.type]!
        let divisor = type.divisors[binding.component ?? 0]
        let low = max((field.min * divisor).rounded(.up), Double(type.rawRange.lowerBound))
        let high = min((field.max * divisor).rounded(.down), Double(type.rawRange.upperBound))
        return Double(Int64.random(in: Int64(low)...Int64(high), using: &random)) / divisor
    }
}

extension Float {
    func clamped(_ field: Field) -> Float {
        // Float rounding can step just outside the catalog range.
        var value = self
        while Double(value) > field.max { value = value.nextDown }
        while Double(value) < field.min { value = value.nextUp }
        return value
    }
}
