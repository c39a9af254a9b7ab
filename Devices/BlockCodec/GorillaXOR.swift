/// Facebook Gorilla's value compression (Pelkonen et al., VLDB 2015, section 4.1.2): the first value's 64
/// bits, then each value XOR'd with the previous one: '0' when equal; '10' and the meaningful bits when
/// they fit the previous window of leading and trailing zeros; '11', 5 bits of leading zeros (at most 31),
/// 6 bits of meaningful length (64 written as 0) and the meaningful bits otherwise.
enum GorillaXOR {
    static func encode(_ values: [Double]) -> [UInt8] {
        guard let first = values.first else { return [] }
        var bits = BitWriter(reservingBits: values.count * 16)
        bits.write(first.bitPattern, bits: 64)
        var previous = first.bitPattern
        var leading = -1, trailing = 0  // no window yet
        for value in values.dropFirst() {
            let xor = value.bitPattern ^ previous
            previous = value.bitPattern
            if xor == 0 { bits.bit(false); continue }
            bits.bit(true)
            let newLeading = min(xor.leadingZeroBitCount, 31), newTrailing = xor.trailingZeroBitCount
            if leading >= 0 && newLeading >= leading && newTrailing >= trailing {
                bits.bit(false)
                bits.write(xor &>> UInt64(trailing), bits: 64 - leading - trailing)
            } else {
                leading = newLeading
                trailing = newTrailing
                let length = 64 - leading - trailing
                bits.bit(true)
                bits.write(UInt64(leading), bits: 5)
                bits.write(UInt64(length & 63), bits: 6)
                bits.write(xor &>> UInt64(trailing), bits: length)
            }
        }
        return bits.finish()
    }

    static func decode(count: Int, bits bytes: UnsafeRawBufferPointer, columnOffset: Int) throws(BlockDecodeError) -> [Double] {
        var reader = BitReader(bytes, columnOffset: columnOffset)
        guard count > 0 else { try reader.expectEnd(); return [] }
        // Each value after the first takes at least one bit: a count the bytes cannot hold is refused
        // before anything is reserved.
        guard count - 1 <= bytes.count * 8 else { throw reader.fail(.truncated, "\(count) values in \(bytes.count) bytes") }
        var values = [Double]()
        values.reserveCapacity(count)
        var previous = try reader.read(64)
        values.append(Double(bitPattern: previous))
        var leading = -1, trailing = 0
        for _ in 1..<count {
            if try reader.bit() {
                if try reader.bit() {
                    leading = Int(try reader.read(5))
                    let length = Int(try reader.read(6))
                    let meaningful = length == 0 ? 64 : length
                    guard leading + meaningful <= 64 else { throw reader.fail(.badHeader, "\(leading) leading zeros and \(meaningful) meaningful bits") }
                    trailing = 64 - leading - meaningful
                } else if leading < 0 {
                    throw reader.fail(.noWindow, "a value reuses the window before one was set")
                }
                previous ^= try reader.read(64 - leading - trailing) &<< UInt64(trailing)
            }
            values.append(Double(bitPattern: previous))
        }
        try reader.expectEnd()
        return values
    }
}
