import FuzzSupport

/// libFuzzer entry point: built with -DFUZZING and -sanitize=fuzzer by scripts/fuzz.sh.
/// A plain build decodes each file named on the command line once, to replay a crash.
/// Each input is decoded as `json` on `telemetry/...` and through every catalog-like source.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzDecode(start, count, format: .json)
    return 0
}

runFuzzer(fuzzJSON)
