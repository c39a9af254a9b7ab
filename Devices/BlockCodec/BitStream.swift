/// Writes bits most significant first, so a column reads left to right as Gorilla's figures draw it.
struct BitWriter {
    private(set) var bytes: [UInt8] = []
    private var buffer: UInt64 = 0
    private var count = 0  // bits in `buffer`, < 64

    init(reservingBits bits: Int = 0) { bytes.reserveCapacity(bits / 8 + 8) }

    /// The low `bits` (0...64) bits of `value`.
    @inline(__always) mutating func write(_ value: UInt64, bits: Int) {
        guard bits > 0 else { return }
        let value = bits == 64 ? value : value & ((1 &<< UInt64(bits)) &- 1)
        let free = 64 - count
        if bits < free {
            buffer = (buffer &<< UInt64(bits)) | value
            count += bits
        } else {
            let rest = bits - free
            let head = rest == 0 ? value : value &>> UInt64(rest)
            buffer = free == 64 ? head : (buffer &<< UInt64(free)) | head
            flushWord()
            buffer = rest == 0 ? 0 : value & ((1 &<< UInt64(rest)) &- 1)
            count = rest
        }
    }

    @inline(__always) mutating func bit(_ set: Bool) { write(set ? 1 : 0, bits: 1) }

    private mutating func flushWord() {
        withUnsafeBytes(of: buffer.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// The bits written, the last byte padded with zeros.
    mutating func finish() -> [UInt8] {
        if count > 0 {
            let word = buffer &<< UInt64(64 - count)
            withUnsafeBytes(of: word.bigEndian) { bytes.append(contentsOf: $0.prefix((count + 7) / 8)) }
            buffer = 0
            count = 0
        }
        return bytes
    }
}

/// Reads bits most significant first from a byte range; never loads a byte outside it.
struct BitReader {
    let base: UnsafeRawBufferPointer
    /// Where the range starts in its column, for errors.
    let columnOffset: Int
    private(set) var position = 0  // in bits
    let end: Int  // in bits

    init(_ base: UnsafeRawBufferPointer, columnOffset: Int) {
        self.base = base
        self.columnOffset = columnOffset
        self.end = base.count * 8
    }

    func fail(_ code: BlockDecodeError.Code, _ context: String) -> BlockDecodeError {
        BlockDecodeError(code, at: columnOffset + position / 8, context)
    }

    /// The 64 bits starting at byte `index`, zeros past the end.
    @inline(__always) func word(at index: Int) -> UInt64 {
        if index + 8 <= base.count { return UInt64(bigEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self)) }
        var word: UInt64 = 0
        for offset in 0..<8 {
            word <<= 8
            if index + offset < base.count { word |= UInt64(base[index + offset]) }
        }
        return word
    }

    /// `bits` (1...64) bits as the low bits of the result.
    @inline(__always) mutating func read(_ bits: Int) throws(BlockDecodeError) -> UInt64 {
        guard end - position >= bits else { throw fail(.truncated, "\(bits) bits needed, \(end - position) left") }
        if bits > 56 {
            let high = try read(bits - 32)
            return high << 32 | (try read(32))
        }
        let value = (word(at: position >> 3) &<< UInt64(position & 7)) &>> UInt64(64 - bits)
        position += bits
        return value
    }

    @inline(__always) mutating func bit() throws(BlockDecodeError) -> Bool { try read(1) == 1 }

    /// The padding after the last value: fewer than 8 bits, all zero.
    func expectEnd() throws(BlockDecodeError) {
        guard end - position < 8 else { throw fail(.trailingBytes, "\((end - position) / 8) bytes after the last value") }
        if end > position, try remainder() != 0 { throw fail(.trailingBytes, "padding bits set") }
    }

    private func remainder() throws(BlockDecodeError) -> UInt64 {
        var copy = self
        return try copy.read(end - position)
    }
}
