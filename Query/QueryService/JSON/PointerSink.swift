/// Takes the ASCII bytes `Double.write(to:)` hands over directly (`_writeASCII`), so printing a
/// number builds no String.
struct PointerSink: TextOutputStream {
    let out: UnsafeMutablePointer<UInt8>
    var count = 0

    mutating func write(_ string: String) {
        for byte in string.utf8 where count < NumberText.maxBytes {
            out[count] = byte
            count += 1
        }
    }

    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
        let length = min(buffer.count, NumberText.maxBytes - count)
        (out + count).update(from: buffer.baseAddress!, count: length)
        count += length
    }
}
