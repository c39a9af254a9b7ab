import FuzzSupport
import SensorModel

/// libFuzzer entry point: built with -DFUZZING and -sanitize=fuzzer by scripts/fuzz.sh.
/// A plain build decodes each file named on the command line once, to replay a crash.
/// Each input is read as a network server's uplink (ttn) through LPP and json sources.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTTN(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzUplink(start, count, envelope: .ttn)
    return 0
}

runFuzzer(fuzzTTN)
