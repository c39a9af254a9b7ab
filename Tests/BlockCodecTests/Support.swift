import BlockCodec
import Foundation

/// One golden file of `testcases/`: a column's values and its bytes, or bytes that must be refused.
struct GoldenCase: Decodable {
    var doc: String
    /// times | integers | decimals | xor | doubles (whichever `DoubleColumn.encode` picks)
    var column: String
    /// Values as text: integers in decimal, doubles as Swift prints them or "nan", "inf", "-inf", "-0.0",
    /// "null" for a missing integer.
    var values: [String]?
    var hex: String
    /// The error code decoding must throw instead of values.
    var error: String?

    var bytes: [UInt8] {
        let digits = Array(hex.filter { $0.isHexDigit })
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }

    var doubles: [Double] { (values ?? []).map { $0 == "nan" ? .nan : Double($0)! } }
    var integers: [Int64?] { (values ?? []).map { $0 == "null" ? nil : Int64($0)! } }

    static func all() throws -> [(name: String, golden: GoldenCase)] {
        let directory = Bundle.module.url(forResource: "testcases", withExtension: nil)!
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            (name, try JSONDecoder().decode(GoldenCase.self, from: Data(contentsOf: directory.appendingPathComponent(name))))
        }
    }
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// Equal bit for bit, NaN equal to any NaN (a missing value).
func sameDoubles(_ a: [Double], _ b: [Double]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.isNaN ? $1.isNaN : $0.bitPattern == $1.bitPattern }
}

/// SplitMix64: the same random data on every run, so a failure repeats.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
