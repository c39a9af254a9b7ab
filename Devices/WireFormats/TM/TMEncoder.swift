import SensorModel

/// Encodes readings as `tm` frames. Missing values cannot be carried by `tm`: encode full readings.
public struct TMEncoder: PayloadEncoder {
    public var encoding: TMFrame.ValueEncoding
    public var crc: Bool
    /// Decimal exponent for `.int32Scaled` (value = raw × 10^scale).
    public var scale: Int8

    public init(sensor: SensorType) {
        self.init(encoding: .float32, crc: false, scale: 0)
    }

    public init(encoding: TMFrame.ValueEncoding, crc: Bool, scale: Int8 = 0) {
        self.encoding = encoding
        self.crc = crc
        self.scale = encoding == .int32Scaled ? scale : 0
    }

    public func encode(_ batch: ReadingBatch, rows: Range<Int>, seq: UInt32) -> [UInt8] {
        precondition(!rows.isEmpty && rows.count <= TMFrame.maxSamples)
        let base = rows.map { batch.times[$0] }.min()!
        var out: [UInt8] = []
        out.reserveCapacity(TMFrame.headerSize + rows.count * (4 + batch.fieldCount * encoding.width) + 4)
        out += [TMFrame.magic.0, TMFrame.magic.1, TMFrame.version,
                TMFrame.Flags(crc: crc, encoding: encoding).rawValue,
                UInt8(batch.fieldCount), UInt8(bitPattern: scale)]
        append(UInt16(rows.count), to: &out)
        append(seq, to: &out)
        append(UInt64(bitPattern: base), to: &out)
        let divisor = TMDecoder.powerOfTen(scale)
        for row in rows {
            append(UInt32(truncatingIfNeeded: batch.times[row] - base), to: &out)
            for field in 0..<batch.fieldCount {
                let value = batch.values[field][row]
                switch encoding {
                case .float32: append(Float(value).bitPattern, to: &out)
                case .float64: append(value.bitPattern, to: &out)
                case .int32Scaled:
                    let raw = (value / divisor).rounded()
                    append(UInt32(bitPattern: Int32(clamping: raw.isFinite ? Int64(clamping: raw) : 0)), to: &out)
                }
            }
        }
        if crc {
            let checksum = out.withUnsafeBytes { CRC32C.checksum($0) }
            append(checksum, to: &out)
        }
        return out
    }

    private func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }
}

extension Int64 {
    init(clamping value: Double) {
        if value >= 9.2e18 { self = .max } else if value <= -9.2e18 { self = .min } else { self = Int64(value) }
    }
}
