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
        let divisor = Int64(bitPattern: unit)
        IntegerSeries.encode(times.map { unit == 1 ? $0 &- first : ($0 - first) / divisor }, into: &writer)
        return writer.bytes
    }

    /// The greatest common divisor of the offsets from the first time; 1 when one overflows (times far
    /// apart: offsets then wrap, and wrap back on decoding).
    static func commonUnit(_ times: [Int64]) -> UInt64 {
        var unit: UInt64 = 0
        for time in times.dropFirst() {
            let (offset, overflow) = time.subtractingReportingOverflow(times[0])
            if overflow { return 1 }
            unit = gcd(unit, offset.magnitude)
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
