extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a decoder's typed throws (the standard library's rethrows `any Error`).
    func decoding<Result>(_ body: (UnsafeRawBufferPointer) throws(DecodeError) -> Result) throws(DecodeError) -> Result {
        var outcome: Swift.Result<Result, DecodeError>!
        withUnsafeBytes { bytes in outcome = Swift.Result { () throws(DecodeError) in try body(bytes) } }
        return try outcome.get()
    }
}
