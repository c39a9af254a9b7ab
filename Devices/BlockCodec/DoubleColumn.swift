/// Optional doubles of a block (one field): NaN in, NaN out, for a value that is not there. Encoded as
/// decimals when every present value is a decimal of at most `maximumScale` digits after the point (what
/// sensors report: 21.3, 1013.25), or the float32 nearest such decimals (what a device sending float32
/// reports); as float32 bit patterns when every present value is a float32; by Gorilla's XOR always.
/// `encode` takes decimals of a few digits, else the smallest.
///
/// Layout, all kinds: kind (3 to 6), count (varint), presence (`Presence`), then for decimals the scale
/// (1 byte; its high bit set when the places of -0.0 values among the present ones follow: their count and
/// gaps, varints) and the present values × 10^scale as an `IntegerSeries`; for float32 bits the present
/// values' ordered bit patterns as an `IntegerSeries`; for XOR the `GorillaXOR` bits.
public enum DoubleColumn {
    /// Beyond this, scaled values stop being exact integers of a double often enough to be worth trying.
    public static let maximumScale = 9
    static let powers: [Double] = (0...maximumScale).map { exponent in (0..<exponent).reduce(1.0) { value, _ in value * 10 } }

    public static func encode(_ values: [Double]) -> [UInt8] {
        guard values.contains(where: { !$0.isNaN }) else { return encodeXOR(values) }
        var candidates: [[UInt8]] = []
        if let (decimal, scale) = decimals(values, float32: false) ?? decimals(values, float32: true) {
            // A decimal of a few digits is as small as it gets (a steady value packs at width 0): nothing else tried.
            if scale <= 4 { return decimal }
            candidates.append(decimal)
        }
        if let bits = encodeFloat32Bits(values) { candidates.append(bits) }
        candidates.append(encodeXOR(values))
        return candidates.min { $0.count < $1.count }!
    }

    /// nil when a present value is not exactly a float32.
    public static func encodeFloat32Bits(_ values: [Double]) -> [UInt8]? {
        var integers: [Int64] = []
        integers.reserveCapacity(values.count)
        var missing = 0
        for value in values {
            if value.isNaN { missing += 1; continue }
            let single = Float(value)
            guard Double(single).bitPattern == value.bitPattern else { return nil }
            integers.append(ordered(single))
        }
        var writer = ByteWriter()
        writer.byte(ColumnKind.float32Bits.rawValue)
        writer.varint(UInt64(values.count))
        if missing == 0 { writer.byte(0) } else { Presence.encode(values.map { !$0.isNaN }, into: &writer) }
        IntegerSeries.encode(integers, into: &writer)
        return writer.bytes
    }

    /// A float32's bit pattern as an integer in the order of the values (negative patterns' magnitude bits
    /// flipped): -0.0 is -1, +0.0 is 0, and neighbouring floats are neighbouring integers.
    @inline(__always) static func ordered(_ value: Float) -> Int64 {
        let bits = Int32(bitPattern: value.bitPattern)
        return Int64(bits < 0 ? bits ^ 0x7FFF_FFFF : bits)
    }

    @inline(__always) static func float(ordered integer: Int32) -> Float {
        Float(bitPattern: UInt32(bitPattern: integer < 0 ? integer ^ 0x7FFF_FFFF : integer))
    }

    /// nil when a present value is not a decimal of at most `maximumScale` digits (or is an infinity, or too
    /// large to be an exact integer once scaled); with `float32`, the float32 nearest one.
    public static func encodeDecimal(_ values: [Double], float32: Bool = false) -> [UInt8]? { decimals(values, float32: float32)?.bytes }

    static func decimals(_ values: [Double], float32: Bool) -> (bytes: [UInt8], scale: Int)? {
        var scale = 0
        var power = 1.0  // powers[scale]
        var integers: [Int64] = []
        integers.reserveCapacity(values.count)
        var missing = 0
        // -0.0 is no integer's decimal: its places among the present values are listed apart.
        var negativeZeros: [Int] = []
        // One pass: each value's integer at the scale so far; a value that needs more digits raises the
        // scale and the integers so far are made again (a block's first values settle it).
        var index = 0
        while index < values.count {
            let value = values[index]
            index += 1
            if value.isNaN { missing += 1; continue }
            if value == 0 && value.sign == .minus {
                negativeZeros.append(integers.count)
                integers.append(0)
                continue
            }
            if let integer = exactInteger(value, power: power, float32: float32) {
                integers.append(integer)
                continue
            }
            repeat {
                scale += 1
                if scale > maximumScale { return nil }
            } while exactInteger(value, power: powers[scale], float32: float32) == nil
            power = powers[scale]
            integers.removeAll(keepingCapacity: true)
            negativeZeros.removeAll(keepingCapacity: true)
            missing = 0
            index = 0
        }
        var writer = ByteWriter()
        writer.byte(float32 ? ColumnKind.float32Decimals.rawValue : ColumnKind.decimals.rawValue)
        writer.varint(UInt64(values.count))
        if missing == 0 { writer.byte(0) } else { Presence.encode(values.map { !$0.isNaN }, into: &writer) }
        writer.byte(UInt8(scale) | (negativeZeros.isEmpty ? 0 : 0x80))
        if !negativeZeros.isEmpty {
            writer.varint(UInt64(negativeZeros.count))
            var previous = -1
            for position in negativeZeros {
                writer.varint(UInt64(position - previous - 1))
                previous = position
            }
        }
        IntegerSeries.encode(integers, into: &writer)
        return (writer.bytes, scale)
    }

    /// `value`'s integer at `power` (10^scale) when it comes back from it bit for bit (through `Float` too).
    @inline(__always) static func exactInteger(_ value: Double, power: Double, float32: Bool) -> Int64? {
        let scaled = (value * power).rounded()
        guard scaled.magnitude <= 9_007_199_254_740_992 else { return nil }  // 2^53: integers exact in a double
        // Through the integer the column stores: -0.0 becomes 0 and is refused here.
        let integer = Int64(scaled)
        return decoded(integer, power: power, float32: float32).bitPattern == value.bitPattern ? integer : nil
    }

    @inline(__always) static func decoded(_ integer: Int64, power: Double, float32: Bool) -> Double {
        float32 ? Double(Float(Double(integer) / power)) : Double(integer) / power
    }

    public static func encodeXOR(_ values: [Double]) -> [UInt8] {
        var writer = ByteWriter()
        writer.byte(ColumnKind.xor.rawValue)
        writer.varint(UInt64(values.count))
        Presence.encode(values.map { !$0.isNaN }, into: &writer)
        writer.bytes += GorillaXOR.encode(values.filter { !$0.isNaN })
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(BlockDecodeError) -> [Double] {
        try columnBytes(bytes) { (buffer) throws(BlockDecodeError) in try decode(buffer) }
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(BlockDecodeError) -> [Double] {
        var values: [Double] = []
        var integers: [Int64] = []
        var scratch: [UInt64] = []
        try decode(bytes, into: &values, integers: &integers, scratch: &scratch)
        return values
    }

    /// Into `values` (replacing its contents), reusing the other buffers between blocks.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, into values: inout [Double], integers: inout [Int64], scratch: inout [UInt64]
    ) throws(BlockDecodeError) {
        var reader = ByteReader(bytes)
        let kind = try reader.byte("kind")
        guard let kind = ColumnKind(rawValue: kind), [.decimals, .xor, .float32Decimals, .float32Bits].contains(kind) else {
            throw reader.fail(.wrongKind, "kind \(kind) where decimals (3, 5), XOR (4) or float32 bits (6) were expected")
        }
        let count = try reader.count("count")
        let presence = try Presence.decode(count: count, from: &reader)
        let present = presence.map { $0.lazy.filter { $0 }.count } ?? count
        var dense: [Double]
        switch kind {
        case .float32Bits:
            try IntegerSeries.decode(count: present, from: &reader, into: &integers, scratch: &scratch)
            // A NaN pattern would read as a missing value where presence says one is there: no encoder writes it.
            if let wrong = integers.firstIndex(where: { Int32(exactly: $0).map { float(ordered: $0).isNaN } ?? true }) {
                throw reader.fail(.badValue, "value \(wrong) (\(integers[wrong])) is no float32 bit pattern of a number")
            }
            dense = integers.map { Double(float(ordered: Int32($0))) }
        case .decimals, .float32Decimals:
            let scaleByte = try reader.byte("scale")
            let scale = Int(scaleByte & 0x7F)
            guard scale <= maximumScale else { throw reader.fail(.badHeader, "scale \(scale) is more than \(maximumScale)") }
            var negativeZeros: [Int] = []
            if scaleByte & 0x80 != 0 {
                let count = try reader.count("negative zeros")
                guard count <= present else { throw reader.fail(.badHeader, "\(count) negative zeros among \(present) values") }
                var position = -1
                for _ in 0..<count {
                    let gap = try reader.varint("negative zero gap")
                    guard gap < UInt64(present) else { throw reader.fail(.badHeader, "negative zero gap \(gap)") }
                    position += Int(gap) + 1
                    guard position < present else { throw reader.fail(.badHeader, "negative zero at \(position) of \(present) values") }
                    negativeZeros.append(position)
                }
            }
            try IntegerSeries.decode(count: present, from: &reader, into: &integers, scratch: &scratch)
            let power = powers[scale]
            let float32 = kind == .float32Decimals
            dense = integers.withUnsafeBufferPointer { source in
                [Double](unsafeUninitializedCapacity: source.count) { buffer, initialized in
                    if float32 {
                        for index in source.indices { buffer[index] = Double(Float(Double(source[index]) / power)) }
                    } else {
                        for index in source.indices { buffer[index] = Double(source[index]) / power }
                    }
                    initialized = source.count
                }
            }
            for position in negativeZeros { dense[position] = -0.0 }
        default:
            let start = reader.offset
            dense = try GorillaXOR.decode(count: present, bits: try reader.bytes(reader.remaining, "XOR bits"), columnOffset: start)
        }
        try reader.expectEnd()
        guard let presence else { values = dense; return }
        var next = 0
        values = presence.map { isThere in
            guard isThere else { return .nan }
            defer { next += 1 }
            return dense[next]
        }
    }
}
