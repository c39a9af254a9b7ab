import BlockCodec
import Testing

/// Every file of `testcases/`: its values encode to its bytes exactly, and its bytes decode to its values
/// (or are refused with its error code).
@Suite struct GoldenTests {
    @Test(arguments: try! GoldenCase.all().map(\.name))
    func golden(_ name: String) throws {
        let golden = try #require(try GoldenCase.all().first { $0.name == name }).golden
        if let code = golden.error {
            #expect(throws: BlockDecodeError.self, "\(name)") {
                switch golden.column {
                case "times": _ = try TimeColumn.decode(golden.bytes)
                case "integers": _ = try IntegerColumn.decode(golden.bytes)
                default: _ = try DoubleColumn.decode(golden.bytes)
                }
            }
            do {
                switch golden.column {
                case "times": _ = try TimeColumn.decode(golden.bytes)
                case "integers": _ = try IntegerColumn.decode(golden.bytes)
                default: _ = try DoubleColumn.decode(golden.bytes)
                }
            } catch {
                #expect(error.code.rawValue == code, "\(name): \(error)")
            }
            return
        }
        switch golden.column {
        case "times":
            let times = golden.integers.map { $0! }
            #expect(hex(TimeColumn.encode(times)) == hex(golden.bytes), "\(name)")
            #expect(try TimeColumn.decode(golden.bytes) == times, "\(name)")
        case "integers":
            #expect(hex(IntegerColumn.encode(golden.integers)) == hex(golden.bytes), "\(name)")
            #expect(try IntegerColumn.decode(golden.bytes) == golden.integers, "\(name)")
        case "decimals":
            #expect(DoubleColumn.encodeDecimal(golden.doubles).map(hex) == hex(golden.bytes), "\(name)")
            #expect(sameDoubles(try DoubleColumn.decode(golden.bytes), golden.doubles), "\(name)")
        case "xor":
            #expect(hex(DoubleColumn.encodeXOR(golden.doubles)) == hex(golden.bytes), "\(name)")
            #expect(sameDoubles(try DoubleColumn.decode(golden.bytes), golden.doubles), "\(name)")
        default:
            #expect(hex(DoubleColumn.encode(golden.doubles)) == hex(golden.bytes), "\(name)")
            #expect(sameDoubles(try DoubleColumn.decode(golden.bytes), golden.doubles), "\(name)")
        }
    }
}
