/// JSON numbers written into memory the caller has made room for (`maxBytes`), without Strings: a
/// 168k-point answer writes half a million of them.
enum NumberText {
    /// Room any double or integer needs (`-2.2250738585072014e-308` is 24 bytes).
    static let maxBytes = 32

    /// Whole numbers below 1e15 as integers; else the shortest digits that read back to the same double,
    /// exactly as `Double.description` writes them. Returns the bytes written. The value must be finite.
    @inline(__always)
    static func put(_ value: Double, at out: UnsafeMutablePointer<UInt8>) -> Int {
        if abs(value) < 1e15, Double(Int64(value)) == value { return put(Int64(value), at: out) }
        if let length = putShortDecimal(value, at: out) { return length }
        var sink = PointerSink(out: out)
        value.write(to: &sink)
        return sink.count
    }

    @inline(__always)
    static func put(_ value: Int64, at out: UnsafeMutablePointer<UInt8>) -> Int {
        if value < 0 {
            out[0] = UInt8(ascii: "-")
            return 1 + put(unsigned: value.magnitude, at: out + 1)
        }
        return put(unsigned: UInt64(value), at: out)
    }

    @inline(__always)
    static func put(unsigned value: UInt64, at out: UnsafeMutablePointer<UInt8>) -> Int {
        var digits = 1
        var limit: UInt64 = 10
        while digits < 20 && value >= limit {
            digits += 1
            limit = limit &* 10
        }
        var rest = value
        for index in stride(from: digits - 1, through: 0, by: -1) {
            out[index] = UInt8(truncatingIfNeeded: rest % 10) &+ 48
            rest /= 10
        }
        return digits
    }

    /// Values with at most six decimals between 1e-4 and 1e9 (sensor readings, their minimums and
    /// maximums) the fast way: in that range a double's spacing is below 1e-6, so the decimal that reads
    /// back to the same double, without trailing zeros, is the shortest one and what `description` writes.
    @inline(__always)
    private static func putShortDecimal(_ value: Double, at out: UnsafeMutablePointer<UInt8>) -> Int? {
        let magnitude = abs(value)
        guard magnitude >= 1e-4, magnitude < 1e9 else { return nil }
        let scaled = (magnitude * 1e6).rounded()
        guard scaled / 1e6 == magnitude else { return nil }
        var micros = UInt64(scaled)
        var length = 0
        if value < 0 {
            out[0] = UInt8(ascii: "-")
            length = 1
        }
        length += put(unsigned: micros / 1_000_000, at: out + length)
        micros %= 1_000_000
        out[length] = UInt8(ascii: ".")
        length += 1
        var divisor: UInt64 = 100_000
        repeat {
            out[length] = UInt8(truncatingIfNeeded: micros / divisor) &+ 48
            length += 1
            micros %= divisor
            divisor /= 10
        } while micros != 0 && divisor != 0
        return length
    }
}

