import FuzzSupport

/// libFuzzer entry point: built with -DFUZZING and -sanitize=fuzzer by scripts/fuzz.sh.
/// A plain build decodes each file named on the command line once, to replay a crash.
/// Each input is read as a Sparkplug B payload: by metric names alone, and through an edge node whose
/// BIRTH defined aliases.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSparkplug(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzSparkplugPayload(start, count)
    return 0
}

runFuzzer(fuzzSparkplug)
