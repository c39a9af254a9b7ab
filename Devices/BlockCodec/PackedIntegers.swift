/// Unsigned integers bit-packed at one width with patched exceptions: the width that makes the column
/// smallest, and the few values wider than it kept apart as (position gap, value) varints. A run of
/// regular readings packs at width 0, so it costs nothing but its exceptions.
///
/// Layout: width (1 byte, 0...64), exception count (varint), `count × width` bits most significant first
/// (exceptions' slots zero), then each exception's position gap and value (varints).
enum PackedIntegers {
    /// `histogram`: how many values need each bit length (0...64), when the caller counted them already.
    static func encode(_ values: [UInt64], histogram counted: [Int]? = nil, into writer: inout ByteWriter) {
        var histogram = counted ?? [Int](repeating: 0, count: 65)
        if counted == nil { for value in values { histogram[bitLength(value)] += 1 } }
        let width = cheapestWidth(histogram, count: values.count)
        let limit: UInt64 = width == 64 ? .max : (1 << UInt64(width)) - 1
        let exceptions = values.indices.filter { values[$0] > limit }
        writer.byte(UInt8(width))
        writer.varint(UInt64(exceptions.count))
        var bits = BitWriter(reservingBits: values.count * width)
        for value in values { bits.write(value > limit ? 0 : value, bits: width) }
        writer.bytes += bits.finish()
        var previous = 0
        for position in exceptions {
            writer.varint(UInt64(position - previous))
            writer.varint(values[position])
            previous = position
        }
    }

    /// The width whose packed bits plus exceptions cost least (an exception: about a gap byte and a varint).
    static func cheapestWidth(_ histogram: [Int], count: Int) -> Int {
        var best = 64, bestCost = Int.max
        var exceptionCost = 0
        for width in stride(from: 64, through: 0, by: -1) {
            if width < 64 { exceptionCost += histogram[width + 1] * (8 + 8 * ((width + 1 + 6) / 7)) }
            let cost = count * width + exceptionCost
            if cost <= bestCost { best = width; bestCost = cost }
        }
        return best
    }

    /// `count` values into `output` (replacing its contents).
    static func decode(count: Int, from reader: inout ByteReader, into output: inout [UInt64]) throws(BlockDecodeError) {
        let width = Int(try reader.byte("width"))
        guard width <= 64 else { throw reader.fail(.badHeader, "width \(width) is more than 64") }
        let exceptionCount = try reader.count("exception count")
        guard exceptionCount <= count else { throw reader.fail(.badHeader, "\(exceptionCount) exceptions among \(count) values") }
        let packedStart = reader.offset
        let packed = try reader.bytes((count * width + 7) / 8, "packed values")
        output = [UInt64](repeating: 0, count: count)
        if width > 0 {
            output.withUnsafeMutableBufferPointer { out in unpack(packed, width: width, into: out) }
            // Only the padding after the last value may follow it: all zero.
            if (count * width) % 8 != 0 {
                let padding = 8 - (count * width) % 8
                guard packed[packed.count - 1] & UInt8((1 << padding) - 1) == 0 else {
                    throw BlockDecodeError(.trailingBytes, at: packedStart + packed.count - 1, "padding bits set")
                }
            }
        }
        var position = -1
        for index in 0..<exceptionCount {
            let gap = try reader.varint("exception gap")
            guard gap <= UInt64(count), (index == 0 || gap > 0) else { throw reader.fail(.badHeader, "exception gap \(gap)") }
            position += Int(gap) + (index == 0 ? 1 : 0)
            guard position < count else { throw reader.fail(.badHeader, "exception at \(position) of \(count) values") }
            output[position] = try reader.varint("exception value")
        }
    }

    /// Fixed-width values, one unaligned big-endian load each where 8 bytes remain, bit by bit near the end.
    @inline(__always) static func unpack(_ packed: UnsafeRawBufferPointer, width: Int, into out: UnsafeMutableBufferPointer<UInt64>) {
        let count = out.count
        if width > 56 {
            var reader = BitReader(packed, columnOffset: 0)
            for index in 0..<count { out[index] = (try? reader.read(width)) ?? 0 }
            return
        }
        let shiftDown = UInt64(64 - width)
        // Values whose 8-byte load stays inside the packed bytes.
        let safe = packed.count >= 8 ? min(count, ((packed.count - 8) * 8) / width + 1) : 0
        var bit = 0
        for index in 0..<safe {
            let word = UInt64(bigEndian: packed.loadUnaligned(fromByteOffset: bit >> 3, as: UInt64.self))
            out[index] = (word &<< UInt64(bit & 7)) &>> shiftDown
            bit += width
        }
        let reader = BitReader(packed, columnOffset: 0)
        for index in safe..<count {
            out[index] = (reader.word(at: bit >> 3) &<< UInt64(bit & 7)) &>> shiftDown
            bit += width
        }
    }
}
