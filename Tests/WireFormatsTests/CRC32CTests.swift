import Testing
@testable import WireFormats

@Suite struct CRC32CTests {
    @Test func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32C.checksumSliced($0) } == 0xE306_9283)
    }

    /// The instruction path (where the CPU has one), slicing-by-8 and the bytewise reference agree on
    /// every length, including the tails that are not a multiple of 8.
    @Test func everyPathMatchesBytewise() {
        var random = SeededRandom(seed: 32)
        for length in 0..<300 {
            let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            let bytewise = data.withUnsafeBytes { CRC32C.checksumBytewise($0) }
            #expect(CRC32C.checksum(data) == bytewise, "length \(length)")
            #expect(data.withUnsafeBytes { CRC32C.checksumSliced($0) } == bytewise, "length \(length)")
        }
    }

    @Test func usesTheInstructionOnX86() {
        #if arch(x86_64)
        // Every x86-64 CPU since 2008 has SSE4.2; if this fails, the C shim's detection is wrong.
        #expect(CRC32C.hardware)
        #endif
    }
}
