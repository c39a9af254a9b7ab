import SensorModel

/// Decodes the native `tm` frame: fixed header, fixed-width samples, optional CRC-32C trailer.
public struct TMDecoder: PayloadDecoder {
    public let fieldCount: Int

    public init(sensor: SensorType) {
        self.fieldCount = sensor.fields.count
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
        let latest: Int64
        let sorted: Bool
        switch encoding {
        case .float32:
            (latest, sorted) = try Self.samples(payload, count: samples, fields: fields, width: width, baseTime: baseTime, seq: seq, into: &batch) {
                Double(Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: UInt32.self))))
            }
        case .float64:
            (latest, sorted) = try Self.samples(payload, count: samples, fields: fields, width: width, baseTime: baseTime, seq: seq, into: &batch) {
                Double(bitPattern: UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: UInt64.self)))
            }
        case .int32Scaled:
            (latest, sorted) = try Self.samples(payload, count: samples, fields: fields, width: width, baseTime: baseTime, seq: seq, into: &batch) {
                Double(Int32(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: Int32.self))) * multiplier
            }
        }
        guard latest <= TimeBounds.maximum else { throw DecodeError(.badTime, "a sample time is after year 9999") }
        if !sorted {
            var times = Array(batch.times[firstRow...])
            times.sort()
            for index in 1..<times.count where times[index] == times[index - 1] {
                throw DecodeError(.duplicateTime, "two samples of one frame have the same time")
            }
        }
    }

    /// The sample loop, specialized per value encoding: decodes into scratch columns (one allocation per
    /// frame), then appends them to the batch in bulk. Returns the latest time and whether times ascend.
    @inline(__always)
    private static func samples(
        _ payload: UnsafeRawBufferPointer, count: Int, fields: Int, width: Int, baseTime: Int64, seq: Int64, into batch: inout ReadingBatch,
        value: (UnsafeRawBufferPointer, Int) -> Double
    ) throws(DecodeError) -> (Int64, Bool) {
        // Scratch space on the stack when it is small enough (the common frame), else on the heap.
        try withUnsafeTemporaryAllocation(of: Int64.self, capacity: count) { (times) throws(DecodeError) in
            try withUnsafeTemporaryAllocation(of: Double.self, capacity: count * fields) { (columns) throws(DecodeError) in
                try fill(payload, count: count, fields: fields, width: width, baseTime: baseTime, seq: seq,
                         times: times, columns: columns, into: &batch, value: value)
            }
        }
    }

    @inline(__always)
    private static func fill(
        _ payload: UnsafeRawBufferPointer, count: Int, fields: Int, width: Int, baseTime: Int64, seq: Int64,
        times: UnsafeMutableBufferPointer<Int64>, columns: UnsafeMutableBufferPointer<Double>, into batch: inout ReadingBatch,
        value: (UnsafeRawBufferPointer, Int) -> Double
    ) throws(DecodeError) -> (Int64, Bool) {
        var sorted = true
        var previous = Int64.min
        var latest = Int64.min
        var allFinite = true
        var offset = TMFrame.headerSize
        for sample in 0..<count {
            let time = baseTime &+ Int64(UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            if time <= previous { sorted = false }
            previous = time
            latest = max(latest, time)
            times[sample] = time
            offset += 4
            for field in 0..<fields {
                let decoded = value(payload, offset)
                allFinite = allFinite && decoded.isFinite
                columns[field * count + sample] = decoded
                offset += width
            }
        }
        // NaN marks a missing value in a batch, so a NaN (or infinity) on the wire must be caught here.
        if !allFinite, let bad = columns.firstIndex(where: { !$0.isFinite }) {
            throw DecodeError(.nonFinite, "sample \(bad % count) value \(bad / count) is not a finite number")
        }
        batch.appendRows(times: UnsafeBufferPointer(times), seq: seq, columns: UnsafeBufferPointer(columns))
        return (latest, sorted)
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
