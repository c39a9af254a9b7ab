import FuzzSupport
import SensorModel

/// libFuzzer entry point: built with -DFUZZING and -sanitize=fuzzer by scripts/fuzz.sh.
/// A plain build decodes each file named on the command line once, to replay a crash.
/// Each input is read as a network server's uplink (chirpstack) through LPP and json sources.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChirpStack(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzUplink(start, count, envelope: .chirpstack)
    return 0
}

runFuzzer(fuzzChirpStack)
