import BlockCodec
import Testing

/// Random columns of every shape come back exactly: steady and jittery clocks, huge gaps, any Int64;
/// decimals of every scale, any bit pattern, NaN (missing), ±0, ±infinity; every prefix length.
@Suite struct RoundTripTests {
    @Test func times() throws {
        var random = SplitMix64(seed: 26)
        for round in 0..<3_000 {
            let count = round < 20 ? round : Int.random(in: 1...2_000, using: &random)
            var times: [Int64] = []
            var time = Int64.random(in: -2_000_000_000_000_000...4_000_000_000_000_000, using: &random)
            let step = [1, 1_000, 1_000_000, 10_000_000, 3_600_000_000][round % 5] as Int64
            for _ in 0..<count {
                times.append(time)
                switch Int.random(in: 0..<20, using: &random) {
                case 0: time &+= Int64.random(in: 1...Int64.max / 4, using: &random)  // a huge gap
                case 1: time = Int64.random(in: .min ... .max, using: &random)  // anything, even backwards
                case 2: time &+= step + Int64.random(in: -999...999, using: &random)  // jitter
                default: time &+= step
                }
            }
            let bytes = TimeColumn.encode(times)
            #expect(try TimeColumn.decode(bytes) == times, "round \(round)")
        }
    }

    @Test func integers() throws {
        var random = SplitMix64(seed: 27)
        for round in 0..<2_000 {
            let count = round < 20 ? round : Int.random(in: 1...1_000, using: &random)
            var value = Int64.random(in: .min ... .max, using: &random)
            // Half the rounds in steps of a sensor's resolution (a multiple of it, from a level near zero).
            let step = round % 2 == 0 ? 1 : Int64.random(in: 2...100_000, using: &random)
            if step > 1 { value = Int64.random(in: -1_000_000...1_000_000, using: &random) }
            let values: [Int64?] = (0..<count).map { _ in
                let jump = step > 1 ? Int64.random(in: -1_000_000...1_000_000, using: &random) : Int64.random(in: .min ... .max, using: &random)
                value &+= (Int.random(in: 0..<8, using: &random) == 0 ? jump : 1) &* step
                return round % 3 == 0 && Bool.random(using: &random) ? nil : value
            }
            #expect(try IntegerColumn.decode(IntegerColumn.encode(values)) == values, "round \(round)")
        }
    }

    @Test func doubles() throws {
        var random = SplitMix64(seed: 28)
        let specials: [Double] = [.nan, 0, -0.0, .infinity, -.infinity, .greatestFiniteMagnitude, .leastNonzeroMagnitude, 9_007_199_254_740_993]
        for round in 0..<3_000 {
            let count = round < 20 ? round : Int.random(in: 1...1_000, using: &random)
            let scale = Int.random(in: 0...11, using: &random)
            var level = Double(Int.random(in: -100_000...100_000, using: &random))
            let generated: [Double] = (0..<count).map { _ in
                switch Int.random(in: 0..<(round % 4 == 0 ? 4 : 40), using: &random) {
                case 0: return specials.randomElement(using: &random)!
                case 1: return Double(bitPattern: random.next())
                default:
                    level += Double(Int.random(in: -30...30, using: &random))
                    return (level / [1, 10, 100, 1_000, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11][scale])
                }
            }
            // A third of the rounds as a device sending float32 would deliver them.
            let values = round % 3 == 1 ? generated.map { Double(Float($0)) } : generated
            let picked = DoubleColumn.encode(values)
            #expect(sameDoubles(try DoubleColumn.decode(picked), values), "round \(round)")
            #expect(sameDoubles(try DoubleColumn.decode(DoubleColumn.encodeXOR(values)), values), "round \(round) as XOR")
            if let decimal = DoubleColumn.encodeDecimal(values) {
                #expect(sameDoubles(try DoubleColumn.decode(decimal), values), "round \(round) as decimals")
                #expect(picked.count <= decimal.count)
            }
            if let decimal = DoubleColumn.encodeDecimal(values, float32: true) {
                #expect(sameDoubles(try DoubleColumn.decode(decimal), values), "round \(round) as float32 decimals")
            }
            if let bits = DoubleColumn.encodeFloat32Bits(values) {
                #expect(sameDoubles(try DoubleColumn.decode(bits), values), "round \(round) as float32 bits")
                #expect(picked.count <= bits.count)
            }
            #expect((DoubleColumn.encodeFloat32Bits(values) != nil) == values.allSatisfy { $0.isNaN || Double(Float($0)).bitPattern == $0.bitPattern })
        }
    }

    /// A GPS fix wandering at walking pace, sent as float32 (no short decimal): one float32 step apart is
    /// one apart as bit patterns, so a reading costs a few bits, where XOR pays for every changed mantissa bit.
    @Test func aWanderingFloat32FixIsSmall() throws {
        var random = SplitMix64(seed: 30)
        var latitude = 45.123
        let fixes: [Double] = (0..<360).map { _ in
            latitude += Double(Int.random(in: -20...20, using: &random)) * 1e-6
            return Double(Float(latitude))
        }
        let bits = try #require(DoubleColumn.encodeFloat32Bits(fixes)).count
        let xor = DoubleColumn.encodeXOR(fixes).count
        #expect(bits * 8 < 360 * 6, "float32 bits: \(bits) bytes")
        #expect(bits < xor, "float32 bits \(bits) bytes, XOR \(xor)")
        #expect(DoubleColumn.encode(fixes).count == bits)
        #expect(sameDoubles(try DoubleColumn.decode(DoubleColumn.encode(fixes)), fixes))
    }

    /// Noise around a steady level: offsets from the smallest pack narrower than deltas, which span twice
    /// the noise.
    @Test func noiseAroundALevelPacksAsOffsets() throws {
        var random = SplitMix64(seed: 31)
        let readings: [Int64?] = (0..<360).map { _ in 1_000 + Int64.random(in: 0...15, using: &random) }
        let bytes = IntegerColumn.encode(readings)
        // Kind, count, presence, first, order, first offset, width, exceptions: 10 bytes; then 4 bits a value.
        #expect(bytes.count <= 10 + 360 * 4 / 8, "\(bytes.count) bytes")
        #expect(try IntegerColumn.decode(bytes) == readings)
    }

    /// A DS18B20 reports in steps of 0.0625 °C: as decimals those are 625 apart, and stored in steps a
    /// reading costs the bits of its noise in steps, not 9 more.
    @Test func valuesInStepsOfTheSensorsResolutionPackInSteps() throws {
        var random = SplitMix64(seed: 32)
        var sixteenths = 21 * 16
        let temperatures: [Double] = (0..<360).map { _ in
            sixteenths += Int.random(in: -1...1, using: &random)
            return Double(sixteenths) / 16
        }
        let bytes = try #require(DoubleColumn.encodeDecimal(temperatures))
        // Kind, count, presence, scale, first, order, step, then the distances' series: a few bytes; then
        // 2 bits a reading (deltas of -1, 0, 1: zigzag 0 to 2, width 2).
        #expect(bytes.count <= 16 + 360 * 2 / 8, "\(bytes.count) bytes")
        #expect(sameDoubles(try DoubleColumn.decode(bytes), temperatures))
        #expect(DoubleColumn.encode(temperatures) == bytes)
    }

    /// What a block of a sensor reporting every 10 s costs: its clock nothing but a header, its 0.1 °C
    /// temperature a few bits a reading as decimals, more as XOR.
    @Test func aSteadySensorsHourIsSmall() throws {
        var random = SplitMix64(seed: 29)
        let times = (0..<360).map { 1_767_225_600_000_000 + Int64($0) * 10_000_000 }
        var tenths = 213
        let temperatures: [Double] = (0..<360).map { _ in
            tenths += Int.random(in: -2...2, using: &random)
            return Double(tenths) / 10
        }
        let timeBytes = TimeColumn.encode(times).count
        let decimal = try #require(DoubleColumn.encodeDecimal(temperatures)).count
        let xor = DoubleColumn.encodeXOR(temperatures).count
        #expect(timeBytes < 24, "times: \(timeBytes) bytes")
        #expect(decimal * 8 < 360 * 4, "decimals: \(decimal) bytes")
        #expect(decimal < xor, "decimals \(decimal) bytes, XOR \(xor)")
        #expect(DoubleColumn.encode(temperatures).count == decimal)
    }

    /// Any bytes: an error or values, never a crash or a read past the end (the fuzz target goes further).
    @Test func randomBytesNeverCrash() {
        var random = SplitMix64(seed: 30)
        for _ in 0..<20_000 {
            var bytes = (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            if !bytes.isEmpty { bytes[0] = UInt8.random(in: 1...4, using: &random) }
            _ = try? TimeColumn.decode(bytes)
            _ = try? IntegerColumn.decode(bytes)
            _ = try? DoubleColumn.decode(bytes)
        }
    }
}
