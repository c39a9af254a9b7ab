import FuzzSupport

/// libFuzzer entry point: built with -DFUZZING and -sanitize=fuzzer by scripts/fuzz.sh.
/// A plain build decodes each file named on the command line once, to replay a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTM(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzDecode(start, count, format: .tm)
    return 0
}

runFuzzer(fuzzTM)
