/// Optional integers of a block (`seq`): which are there, then the present ones as an `IntegerSeries`.
///
/// Layout: kind (2), count (varint), presence (`Presence`), series of the present values.
public enum IntegerColumn {
    public static func encode(_ values: [Int64?]) -> [UInt8] {
        var writer = ByteWriter()
        writer.byte(ColumnKind.integers.rawValue)
        writer.varint(UInt64(values.count))
        Presence.encode(values.map { $0 != nil }, into: &writer)
        IntegerSeries.encode(values.compactMap { $0 }, into: &writer)
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(BlockDecodeError) -> [Int64?] {
        try columnBytes(bytes) { (buffer) throws(BlockDecodeError) in try decode(buffer) }
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(BlockDecodeError) -> [Int64?] {
        var reader = ByteReader(bytes)
        let kind = try reader.byte("kind")
        guard kind == ColumnKind.integers.rawValue else { throw reader.fail(.wrongKind, "kind \(kind) where integers (2) were expected") }
        let count = try reader.count("count")
        let presence = try Presence.decode(count: count, from: &reader)
        let present = presence.map { $0.lazy.filter { $0 }.count } ?? count
        var values: [Int64] = []
        var scratch: [UInt64] = []
        try IntegerSeries.decode(count: present, from: &reader, into: &values, scratch: &scratch)
        try reader.expectEnd()
        guard let presence else { return values }
        var next = 0
        return presence.map { (isThere: Bool) -> Int64? in
            guard isThere else { return nil }
            defer { next += 1 }
            return values[next]
        }
    }
}
