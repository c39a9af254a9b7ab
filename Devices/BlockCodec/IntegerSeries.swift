/// A run of integers as its first value and then its offsets from the smallest, its deltas or its
/// delta-of-deltas, whichever packs smallest (`PackedIntegers`): noise around a steady level packs best as
/// offsets (a delta of noise spans twice the noise), a slowly moving one as deltas, a counter or a clock as
/// delta-of-deltas. Arithmetic wraps, so every Int64 sequence comes back exactly.
///
/// Layout (for one value or more): first (zigzag varint); with two or more, order (0: offsets, 1: deltas,
/// 2: delta-of-deltas); for order 0 the first's offset from the smallest (varint), for order 2 the first
/// delta (zigzag varint); then the packed rest.
enum IntegerSeries {
    static func encode(_ values: [Int64], into writer: inout ByteWriter) {
        guard let first = values.first else { return }
        writer.signedVarint(first)
        guard values.count >= 2 else { return }
        // Histograms of the three orders' bit lengths first; only the order chosen is made.
        var deltaHistogram = [Int](repeating: 0, count: 65)
        var dodHistogram = [Int](repeating: 0, count: 65)
        var offsetHistogram = [Int](repeating: 0, count: 65)
        var smallest = first
        values.withUnsafeBufferPointer { values in
            deltaHistogram.withUnsafeMutableBufferPointer { deltaHistogram in
                dodHistogram.withUnsafeMutableBufferPointer { dodHistogram in
                    var previousDelta = values[1] &- values[0]
                    deltaHistogram[bitLength(zigzag(previousDelta))] += 1
                    smallest = min(smallest, values[1])
                    for index in 2..<values.count {
                        let delta = values[index] &- values[index - 1]
                        deltaHistogram[bitLength(zigzag(delta))] += 1
                        dodHistogram[bitLength(zigzag(delta &- previousDelta))] += 1
                        previousDelta = delta
                        smallest = min(smallest, values[index])
                    }
                }
            }
            offsetHistogram.withUnsafeMutableBufferPointer { offsetHistogram in
                for index in 1..<values.count { offsetHistogram[bitLength(UInt64(bitPattern: values[index] &- smallest))] += 1 }
            }
        }
        let firstDelta = zigzag(values[1] &- values[0])
        let firstOffset = UInt64(bitPattern: first &- smallest)
        let deltaCost = cost(deltaHistogram, count: values.count - 1)
        let dodCost = cost(dodHistogram, count: values.count - 2) + 8 * varintLength(firstDelta)
        let offsetCost = cost(offsetHistogram, count: values.count - 1) + 8 * varintLength(firstOffset)
        // Ties go to deltas, then delta-of-deltas: the orders older blocks were written in.
        if offsetCost < min(deltaCost, dodCost) {
            writer.byte(0)
            writer.varint(firstOffset)
            let offsets = [UInt64](unsafeUninitializedCapacity: values.count - 1) { buffer, initialized in
                for index in 1..<values.count { buffer[index - 1] = UInt64(bitPattern: values[index] &- smallest) }
                initialized = values.count - 1
            }
            PackedIntegers.encode(offsets, histogram: offsetHistogram, into: &writer)
        } else if dodCost < deltaCost {
            writer.byte(2)
            writer.varint(firstDelta)
            let dods = [UInt64](unsafeUninitializedCapacity: values.count - 2) { buffer, initialized in
                for index in 2..<values.count {
                    buffer[index - 2] = zigzag((values[index] &- values[index - 1]) &- (values[index - 1] &- values[index - 2]))
                }
                initialized = values.count - 2
            }
            PackedIntegers.encode(dods, histogram: dodHistogram, into: &writer)
        } else {
            writer.byte(1)
            let deltas = [UInt64](unsafeUninitializedCapacity: values.count - 1) { buffer, initialized in
                for index in 1..<values.count { buffer[index - 1] = zigzag(values[index] &- values[index - 1]) }
                initialized = values.count - 1
            }
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
        case 0:
            let smallest = first &- Int64(bitPattern: try reader.varint("first offset"))
            try PackedIntegers.decode(count: count - 1, from: &reader, into: &scratch)
            output = [Int64](unsafeUninitializedCapacity: count) { buffer, initialized in
                buffer[0] = first
                scratch.withUnsafeBufferPointer { offsets in
                    for index in 0..<offsets.count { buffer[index + 1] = smallest &+ Int64(bitPattern: offsets[index]) }
                }
                initialized = count
            }
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
            throw reader.fail(.badHeader, "order \(order) is none of 0 (offsets), 1 (deltas), 2 (delta-of-deltas)")
        }
    }
}
