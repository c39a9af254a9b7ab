import BlockCodec
import FuzzSupport

/// libFuzzer entry point: built with -DFUZZING and -sanitize=fuzzer by scripts/fuzz.sh.
/// A plain build decodes each file named on the command line once, to replay a crash.
/// Each input is read as every kind of compacted column; what decodes must encode and decode again to the
/// same values, bit for bit (NaN: missing).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBlocks(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let column = UnsafeRawBufferPointer(start: start, count: count)
    if let times = try? TimeColumn.decode(column) {
        precondition(try! TimeColumn.decode(TimeColumn.encode(times)) == times, "times did not round-trip")
    }
    if let integers = try? IntegerColumn.decode(column) {
        precondition(try! IntegerColumn.decode(IntegerColumn.encode(integers)) == integers, "integers did not round-trip")
    }
    if let doubles = try? DoubleColumn.decode(column) {
        let again = try! DoubleColumn.decode(DoubleColumn.encode(doubles))
        precondition(again.count == doubles.count, "doubles changed count")
        for (a, b) in zip(doubles, again) {
            precondition(a.isNaN ? b.isNaN : a.bitPattern == b.bitPattern, "doubles did not round-trip: \(a) became \(b)")
        }
    }
    return 0
}

runFuzzer(fuzzBlocks)
