/// Writes the few CBOR items SenML packs use: arrays, maps, integers, text and float64.
struct CBORWriter {
    private(set) var bytes: [UInt8] = []

    mutating func head(major: UInt8, _ argument: UInt64) {
        let type = major << 5
        switch argument {
        case 0..<24: bytes.append(type | UInt8(argument))
        case 24...0xFF: bytes += [type | 24, UInt8(argument)]
        case 0x100...0xFFFF: bytes.append(type | 25); appendBigEndian(UInt16(argument))
        case 0x1_0000...0xFFFF_FFFF: bytes.append(type | 26); appendBigEndian(UInt32(argument))
        default: bytes.append(type | 27); appendBigEndian(argument)
        }
    }

    mutating func array(count: Int) { head(major: 4, UInt64(count)) }
    mutating func map(count: Int) { head(major: 5, UInt64(count)) }

    mutating func integer(_ value: Int64) {
        if value >= 0 { head(major: 0, UInt64(value)) } else { head(major: 1, UInt64(-1 - value)) }
    }

    mutating func text(_ value: String) {
        head(major: 3, UInt64(value.utf8.count))
        bytes += value.utf8
    }

    mutating func double(_ value: Double) {
        bytes.append(0xFB)
        appendBigEndian(value.bitPattern)
    }

    private mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes += $0 }
    }
}
