/// A run of integers as its first value and then either its deltas or its delta-of-deltas, whichever packs
/// smaller (`PackedIntegers`): noise around a level packs best as deltas, a counter or a clock as
/// delta-of-deltas. Arithmetic wraps, so every Int64 sequence comes back exactly.
///
/// Layout (for one value or more): first (zigzag varint); with two or more, order (1: deltas, 2:
/// delta-of-deltas); for order 2 the first delta (zigzag varint); then the packed rest.
enum IntegerSeries {
    static func encode(_ values: [Int64], into writer: inout ByteWriter) {
        guard let first = values.first else { return }
        writer.signedVarint(first)
        guard values.count >= 2 else { return }
        var deltas = [UInt64](repeating: 0, count: values.count - 1)
        var deltaHistogram = [Int](repeating: 0, count: 65)
        for index in 1..<values.count {
            let delta = zigzag(values[index] &- values[index - 1])
            deltas[index - 1] = delta
            deltaHistogram[bitLength(delta)] += 1
        }
        var dods = [UInt64](repeating: 0, count: values.count - 2)
        var dodHistogram = [Int](repeating: 0, count: 65)
        for index in 2..<max(values.count, 2) {
            let dod = zigzag((values[index] &- values[index - 1]) &- (values[index - 1] &- values[index - 2]))
            dods[index - 2] = dod
            dodHistogram[bitLength(dod)] += 1
        }
        let deltaCost = cost(deltaHistogram, count: deltas.count)
        let dodCost = cost(dodHistogram, count: dods.count) + 8 * varintLength(deltas[0])
        if dodCost < deltaCost {
            writer.byte(2)
            writer.varint(deltas[0])
            PackedIntegers.encode(dods, histogram: dodHistogram, into: &writer)
        } else {
            writer.byte(1)
            PackedIntegers.encode(deltas, histogram: deltaHistogram, into: &writer)
        }
    }

    static func cost(_ histogram: [Int], count: Int) -> Int {
        let width = PackedIntegers.cheapestWidth(histogram, count: count)
        var cost = count * width
        for bits in (width + 1)..<65 where bits <= 64 { cost += histogram[bits] * (8 + 8 * ((bits + 6) / 7)) }
        return cost
    }

    static func varintLength(_ value: UInt64) -> Int { max(1, (bitLength(value) + 6) / 7) }

    /// `count` values (replacing `output`'s contents); `scratch` is reused between calls.
    static func decode(count: Int, from reader: inout ByteReader, into output: inout [Int64], scratch: inout [UInt64]) throws(BlockDecodeError) {
        output.removeAll(keepingCapacity: true)
        guard count > 0 else { return }
        let first = try reader.signedVarint("first value")
        guard count >= 2 else { output.append(first); return }
        let order = try reader.byte("order")
        switch order {
        case 1:
            try PackedIntegers.decode(count: count - 1, from: &reader, into: &scratch)
            output = [Int64](unsafeUninitializedCapacity: count) { buffer, initialized in
                var value = first
                buffer[0] = value
                scratch.withUnsafeBufferPointer { deltas in
                    for index in 0..<deltas.count {
                        value = value &+ unzigzag(deltas[index])
                        buffer[index + 1] = value
                    }
                }
                initialized = count
            }
        case 2:
            var delta = try reader.signedVarint("first delta")
            try PackedIntegers.decode(count: count - 2, from: &reader, into: &scratch)
            output = [Int64](unsafeUninitializedCapacity: count) { buffer, initialized in
                var value = first &+ delta
                buffer[0] = first
                buffer[1] = value
                scratch.withUnsafeBufferPointer { dods in
                    for index in 0..<dods.count {
                        delta = delta &+ unzigzag(dods[index])
                        value = value &+ delta
                        buffer[index + 2] = value
                    }
                }
                initialized = count
            }
        default:
            throw reader.fail(.badHeader, "order \(order) is neither 1 (deltas) nor 2 (delta-of-deltas)")
        }
    }
}
