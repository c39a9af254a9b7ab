/// A run of integers as its first value and then its offsets from the smallest, its deltas or its
/// delta-of-deltas, whichever packs smallest (`PackedIntegers`): noise around a steady level packs best as
/// offsets (a delta of noise spans twice the noise), a slowly moving one as deltas, a counter or a clock as
/// delta-of-deltas. Arithmetic wraps, so every Int64 sequence comes back exactly.
///
/// Values that are all a step apart from the first (a sensor reporting in steps of its resolution:
/// 0.0625 °C, 3.9 mg) are stored as the step and the series of their distances from the first in steps.
///
/// Layout (for one value or more): first (zigzag varint); with two or more, order (0: offsets, 1: deltas,
/// 2: delta-of-deltas, 3: in steps); for order 0 the first's offset from the smallest (varint), for order 2
/// the first delta (zigzag varint), for order 3 the step (varint, ≥ 2) and then the other values' distances
/// from the first in steps as a series of their own (of order 0, 1 or 2); then the packed rest.
enum IntegerSeries {
    /// `inSteps`: false for the distances of an order-3 series (never of order 3 again).
    static func encode(_ values: [Int64], into writer: inout ByteWriter, inSteps: Bool = true) {
        guard let first = values.first else { return }
        writer.signedVarint(first)
        guard values.count >= 2 else { return }
        if inSteps, let step = commonStep(values) {
            // A series of steps costs a few header bytes more: kept only when the values pack narrower.
            var plain = ByteWriter()
            encodeRest(values, into: &plain)
            var stepped = ByteWriter()
            stepped.byte(3)
            stepped.varint(step)
            let divisor = Int64(bitPattern: step)
            encode(values.dropFirst().map { ($0 - first) / divisor }, into: &stepped, inSteps: false)
            writer.bytes += stepped.bytes.count < plain.bytes.count ? stepped.bytes : plain.bytes
            return
        }
        encodeRest(values, into: &writer)
    }

    /// The greatest common divisor of the values' distances from the first, when it is 2 or more and no
    /// distance overflows (then every distance is exactly a whole number of steps).
    static func commonStep(_ values: [Int64]) -> UInt64? {
        let first = values[0]
        var step: UInt64 = 0
        for index in 1..<values.count {
            let (distance, overflow) = values[index].subtractingReportingOverflow(first)
            if overflow || distance == .min { return nil }
            let magnitude = distance.magnitude
            if step != 0 && magnitude % step == 0 { continue }
            step = TimeColumn.gcd(step, magnitude)
            if step == 1 { return nil }
        }
        return step >= 2 ? step : nil
    }

    /// The order byte and the packed values of orders 0 to 2, for two values or more after `first`.
    private static func encodeRest(_ values: [Int64], into writer: inout ByteWriter) {
        let first = values[0]
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
    /// `stepped`: inside an order-3 series, whose own series is never of order 3 again.
    static func decode(count: Int, from reader: inout ByteReader, into output: inout [Int64], scratch: inout [UInt64],
                       stepped: Bool = false) throws(BlockDecodeError) {
        output.removeAll(keepingCapacity: true)
        guard count > 0 else { return }
        let first = try reader.signedVarint("first value")
        guard count >= 2 else { output.append(first); return }
        let order = try reader.byte("order")
        switch order {
        case 3 where !stepped:
            let step = try reader.varint("step")
            guard step >= 2, step <= UInt64(Int64.max) else { throw reader.fail(.badHeader, "step \(step) is not within 2...\(Int64.max)") }
            try decode(count: count - 1, from: &reader, into: &output, scratch: &scratch, stepped: true)
            // The distances become values in place, from the end: each moves one place up, the first goes first.
            let divisor = Int64(step)
            output.append(0)
            output.withUnsafeMutableBufferPointer { values in
                for index in stride(from: count - 1, through: 1, by: -1) { values[index] = first &+ values[index - 1] &* divisor }
                values[0] = first
            }
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
            throw reader.fail(.badHeader, stepped ? "order \(order) inside a series in steps is none of 0 (offsets), 1 (deltas), 2 (delta-of-deltas)"
                                              : "order \(order) is none of 0 (offsets), 1 (deltas), 2 (delta-of-deltas), 3 (in steps)")
        }
    }
}
