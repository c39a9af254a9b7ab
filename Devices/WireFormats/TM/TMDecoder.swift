import SensorModel

/// Decodes the native `tm` frame: fixed header, fixed-width samples, optional CRC-32C trailer.
/// A frame carries every field of every sample, so values are range-checked here while they are
/// converted, and `MessageDecoder` skips its separate normalization pass for `tm`.
public struct TMDecoder: PayloadDecoder {
    public let sensor: SensorType
    public let fieldCount: Int
    private let minimums: [Double]
    private let maximums: [Double]

    public init(sensor: SensorType) {
        self.sensor = sensor
        self.fieldCount = sensor.fields.count
        self.minimums = sensor.fields.map(\.min)
        self.maximums = sensor.fields.map(\.max)
    }

    public func decode(_ payload: UnsafeRawBufferPointer, receivedAt: Int64, into batch: inout ReadingBatch) throws(DecodeError) {
        guard payload.count >= TMFrame.headerSize else {
            throw DecodeError(.truncated, "tm frame is \(payload.count) bytes, shorter than its 20-byte header")
        }
        guard payload[0] == TMFrame.magic.0, payload[1] == TMFrame.magic.1 else {
            throw DecodeError(.badMagic, "tm frame must start with 54 4D")
        }
        guard payload[2] == TMFrame.version else {
            throw DecodeError(.badVersion, "tm frame version \(payload[2]) is not supported (1)")
        }
        let flags = payload[3]
        guard flags & 0xF8 == 0, let encoding = TMFrame.ValueEncoding(rawValue: (flags >> 1) & 0x03) else {
            throw DecodeError(.badFlags, "tm flags 0x\(String(flags, radix: 16)) set reserved bits or an unknown value encoding")
        }
        let hasCRC = flags & 0x01 != 0
        let fields = Int(payload[4])
        guard fields == fieldCount else {
            throw DecodeError(.fieldCount, "tm frame carries \(fields) values per sample, the sensor type has \(fieldCount)")
        }
        let scale = Int8(bitPattern: payload[5])
        guard encoding == .int32Scaled || scale == 0 else {
            throw DecodeError(.badScale, "tm scale must be 0 for float encodings, got \(scale)")
        }
        let samples = Int(payload.loadUnaligned(fromByteOffset: 6, as: UInt16.self).littleEndian)
        guard (1...TMFrame.maxSamples).contains(samples) else {
            throw DecodeError(.sampleCount, "tm sample count \(samples) is outside 1...4096")
        }
        let width = encoding.width
        let sampleSize = 4 + fields * width
        let expected = TMFrame.headerSize + samples * sampleSize + (hasCRC ? TMFrame.crcSize : 0)
        guard payload.count >= expected else {
            throw DecodeError(.truncated, "tm frame is \(payload.count) bytes, \(samples) samples need \(expected)")
        }
        guard payload.count == expected else {
            throw DecodeError(.overLong, "tm frame is \(payload.count) bytes, \(samples) samples need exactly \(expected)")
        }
        if hasCRC {
            let body = UnsafeRawBufferPointer(rebasing: payload[0..<(expected - TMFrame.crcSize)])
            let stored = payload.loadUnaligned(fromByteOffset: expected - TMFrame.crcSize, as: UInt32.self).littleEndian
            let computed = CRC32C.checksum(body)
            guard stored == computed else {
                throw DecodeError(.badCRC, "tm CRC-32C is 0x\(String(stored, radix: 16)), the frame's bytes give 0x\(String(computed, radix: 16))")
            }
        }
        let seq = Int64(payload.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian)
        let baseTime = Int64(littleEndian: payload.loadUnaligned(fromByteOffset: 12, as: Int64.self))
        // Keep times inside what PostgreSQL's timestamptz and our RFC 3339 output can hold.
        guard baseTime >= TimeBounds.minimum, baseTime <= TimeBounds.maximum else {
            throw DecodeError(.badTime, "tm base time \(baseTime) µs is outside years 1970...9999")
        }
        let multiplier = encoding == .int32Scaled ? Self.powerOfTen(scale) : 1
        let firstRow = batch.count
        let frame = Frame(payload: payload, count: samples, fields: fields, sampleSize: sampleSize, baseTime: baseTime, seq: seq)
        let sorted: Bool
        switch encoding {
        case .float32:
            sorted = try decodeSamples(frame, width: 4, into: &batch) {
                Double(Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: UInt32.self))))
            }
        case .float64:
            sorted = try decodeSamples(frame, width: 8, into: &batch) {
                Double(bitPattern: UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: UInt64.self)))
            }
        case .int32Scaled:
            sorted = try decodeSamples(frame, width: 4, into: &batch) {
                Double(Int32(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: Int32.self))) * multiplier
            }
        }
        if !sorted {
            var times = Array(batch.times[firstRow...])
            times.sort()
            for index in 1..<times.count where times[index] == times[index - 1] {
                throw DecodeError(.duplicateTime, "two samples of one frame have the same time")
            }
        }
    }

    /// What the sample loops need of a frame whose header has been checked.
    private struct Frame {
        var payload: UnsafeRawBufferPointer
        var count: Int
        var fields: Int
        var sampleSize: Int
        var baseTime: Int64
        var seq: Int64
    }

    /// The sample loops, specialized per value encoding: times first, then one tight strided loop per
    /// field that converts, range-checks (which also catches NaN and infinities, the catalog's bounds
    /// being finite) and stores a whole column, straight into the batch's columns.
    /// Returns whether the sample times ascend.
    @inline(__always)
    private func decodeSamples(
        _ frame: Frame, width: Int, into batch: inout ReadingBatch, value: (UnsafeRawPointer, Int) -> Double
    ) throws(DecodeError) -> Bool {
        let slots = batch.reserveRows(frame.count)
        let sorted = try fill(frame, width: width, times: slots.times, columns: slots, value: value)
        batch.commitRows(frame.count, seq: frame.seq)
        return sorted
    }

    @inline(__always)
    private func fill(
        _ frame: Frame, width: Int, times timePointer: UnsafeMutablePointer<Int64>, columns: RowSlots,
        value: (UnsafeRawPointer, Int) -> Double
    ) throws(DecodeError) -> Bool {
        let base = frame.payload.baseAddress!
        let count = frame.count
        let stride = frame.sampleSize
        var sorted = true
        var previous = Int64.min
        var latest = Int64.min
        var offset = TMFrame.headerSize
        for sample in 0..<count {
            let time = frame.baseTime &+ Int64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            sorted = sorted && time > previous
            previous = time
            latest = max(latest, time)
            timePointer[sample] = time
            offset &+= stride
        }
        guard latest <= TimeBounds.maximum else { throw DecodeError(.badTime, "a sample time is after year 9999") }
        for field in 0..<frame.fields {
            let minimum = minimums[field]
            let maximum = maximums[field]
            let column = columns[field]
            var outside = 0
            var offset = TMFrame.headerSize &+ 4 &+ field &* width
            for sample in 0..<count {
                let decoded = value(base, offset)
                column[sample] = decoded
                outside &+= decoded >= minimum && decoded <= maximum ? 0 : 1
                offset &+= stride
            }
            if outside != 0 { throw rangeError(field: field, column: UnsafeBufferPointer(start: column, count: count)) }
        }
        return sorted
    }

    /// The first offending value of a column that failed the range check, as `Normalization` reports it.
    private func rangeError(field: Int, column: UnsafeBufferPointer<Double>) -> DecodeError {
        let sample = column.firstIndex { !($0 >= minimums[field] && $0 <= maximums[field]) } ?? 0
        let value = column[sample]
        guard value.isFinite else {
            return DecodeError(.nonFinite, "sample \(sample) value \(field) is not a finite number")
        }
        return Normalization.outOfRange(sensor.fields[field], value)
    }

    static func powerOfTen(_ exponent: Int8) -> Double {
        var result = 1.0
        let base = exponent < 0 ? 0.1 : 10.0
        for _ in 0..<abs(Int(exponent)) { result *= base }
        // 10^-n computed as 1/10^n is exact-er for the decimal scales devices use.
        if exponent < 0 {
            var positive = 1.0
            for _ in 0..<Int(-Int(exponent)) { positive *= 10 }
            return 1 / positive
        }
        return result
    }
}

public enum TimeBounds {
    /// 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in microseconds.
    public static let minimum: Int64 = 0
    public static let maximum: Int64 = 253_402_300_799_999_999
}
