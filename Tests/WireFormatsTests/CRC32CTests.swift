import Testing
@testable import WireFormats

@Suite struct CRC32CTests {
    @Test func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
    }

    @Test func slicingMatchesBytewise() {
        var random = SeededRandom(seed: 32)
        for length in 0..<300 {
            let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            let sliced = CRC32C.checksum(data)
            let bytewise = data.withUnsafeBytes { CRC32C.checksumBytewise($0) }
            #expect(sliced == bytewise, "length \(length)")
        }
    }
}
