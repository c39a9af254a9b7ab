/// A block's reading times (microseconds since the epoch): the first as 8 bytes, a unit that divides every
/// offset from it (1 s when readings come on whole seconds), and the offsets in units as an
/// `IntegerSeries` — delta-of-deltas for a steady clock, where a reading every 10 s packs at width 0.
///
/// Layout: kind (1), count (varint); with one or more: first (8 bytes, little-endian); with two or more:
/// unit (varint, ≥ 1) and the series of offsets (the first is 0).
public enum TimeColumn {
    public static func encode(_ times: [Int64]) -> [UInt8] {
        var writer = ByteWriter()
        writer.byte(ColumnKind.times.rawValue)
        writer.varint(UInt64(times.count))
        guard let first = times.first else { return writer.bytes }
        writer.int64(first)
        guard times.count >= 2 else { return writer.bytes }
        let unit = commonUnit(times)
        writer.varint(unit)
        IntegerSeries.encode(offsets(times, unit: unit), into: &writer)
        return writer.bytes
    }

    /// `(time - first) / unit` of each time, wrapping when `unit` is 1. A steady clock repeats its step:
    /// the quotient of a step seen last is reused instead of dividing again.
    static func offsets(_ times: [Int64], unit: UInt64) -> [Int64] {
        let first = times[0]
        guard unit > 1 else { return times.map { $0 &- first } }
        let divisor = Int64(bitPattern: unit)
        var offsets = [Int64](repeating: 0, count: times.count)
        var lastStep: Int64 = 0, lastQuotient: Int64 = 0
        for index in 1..<times.count {
            let step = times[index] &- times[index - 1]
            if step != lastStep {
                lastStep = step
                lastQuotient = (times[index] - first) / divisor - (times[index - 1] - first) / divisor
            }
            offsets[index] = offsets[index - 1] &+ lastQuotient
        }
        return offsets
    }

    /// The greatest common divisor of the offsets from the first time (the same as of the steps between
    /// times, which a steady clock repeats: a repeated step costs no division); 1 when an offset or a step
    /// overflows (times far apart: offsets then wrap, and wrap back on decoding).
    static func commonUnit(_ times: [Int64]) -> UInt64 {
        var unit: UInt64 = 0
        var lastStep: Int64 = 0
        for index in 1..<times.count {
            let (_, overflow) = times[index].subtractingReportingOverflow(times[0])
            let (step, stepOverflow) = times[index].subtractingReportingOverflow(times[index - 1])
            if overflow || stepOverflow { return 1 }
            if step == lastStep { continue }
            lastStep = step
            if unit != 0 && step.magnitude % unit == 0 { continue }
            unit = gcd(unit, step.magnitude)
            if unit == 1 { return 1 }
        }
        return max(unit, 1)
    }

    static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }

    public static func decode(_ bytes: [UInt8]) throws(BlockDecodeError) -> [Int64] {
        try columnBytes(bytes) { (buffer) throws(BlockDecodeError) in try decode(buffer) }
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(BlockDecodeError) -> [Int64] {
        var times: [Int64] = []
        var scratch: [UInt64] = []
        try decode(bytes, into: &times, scratch: &scratch)
        return times
    }

    /// Into `times` (replacing its contents), reusing `scratch` between blocks.
    public static func decode(_ bytes: UnsafeRawBufferPointer, into times: inout [Int64], scratch: inout [UInt64]) throws(BlockDecodeError) {
        var reader = ByteReader(bytes)
        let kind = try reader.byte("kind")
        guard kind == ColumnKind.times.rawValue else { throw reader.fail(.wrongKind, "kind \(kind) where times (1) were expected") }
        let count = try reader.count("count")
        times.removeAll(keepingCapacity: true)
        guard count > 0 else { return try reader.expectEnd() }
        let first = try reader.int64("first time")
        guard count >= 2 else { times.append(first); return try reader.expectEnd() }
        let unit = try reader.varint("unit")
        guard unit >= 1 else { throw reader.fail(.badHeader, "unit 0") }
        try IntegerSeries.decode(count: count, from: &reader, into: &times, scratch: &scratch)
        try reader.expectEnd()
        let step = Int64(bitPattern: unit)
        times.withUnsafeMutableBufferPointer { buffer in
            for index in buffer.indices { buffer[index] = first &+ buffer[index] &* step }
        }
    }
}
