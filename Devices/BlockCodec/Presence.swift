/// Which values of an optional column are there: all (0), none (2), or a bitmap (1) of `count` bits,
/// least significant first, no bit set past `count`.
enum Presence {
    static func encode(_ present: [Bool], into writer: inout ByteWriter) {
        let count = present.lazy.filter { $0 }.count
        if count == present.count { writer.byte(0); return }
        if count == 0 { writer.byte(2); return }
        writer.byte(1)
        var bitmap = [UInt8](repeating: 0, count: (present.count + 7) / 8)
        for index in present.indices where present[index] { bitmap[index >> 3] |= 1 << UInt8(index & 7) }
        writer.bytes += bitmap
    }

    /// nil: all present; otherwise one flag per value.
    static func decode(count: Int, from reader: inout ByteReader) throws(BlockDecodeError) -> [Bool]? {
        let kind = try reader.byte("presence")
        switch kind {
        case 0: return nil
        case 2: return [Bool](repeating: false, count: count)
        case 1:
            let bitmap = try reader.bytes((count + 7) / 8, "presence bitmap")
            if count % 8 != 0, bitmap[bitmap.count - 1] >> UInt8(count % 8) != 0 {
                throw reader.fail(.badPresence, "presence bits set past \(count) values")
            }
            return (0..<count).map { bitmap[$0 >> 3] & (1 << UInt8($0 & 7)) != 0 }
        default:
            throw reader.fail(.badHeader, "presence \(kind) is not 0 (all), 1 (bitmap) or 2 (none)")
        }
    }
}
