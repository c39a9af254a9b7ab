/// Cayenne LPP data types this decoder knows: payload size, components and resolution (big-endian).
/// Types outside the wire-format table are known only so multi-sensor payloads can skip them.
public struct LPPType: Sendable {
    public let id: UInt8
    public let name: String
    /// Bytes per component.
    public let width: Int
    public let components: Int
    public let signed: Bool
    /// Raw integer ÷ divisor = value in the catalog's unit; one divisor per component.
    public let divisors: [Double]

    public var size: Int { width * components }

    public static let unixTime: UInt8 = 133

    public static let known: [LPPType] = [
        LPPType(id: 0, name: "digital input", width: 1, components: 1, signed: false, divisors: [1]),
        LPPType(id: 1, name: "digital output", width: 1, components: 1, signed: false, divisors: [1]),
        LPPType(id: 2, name: "analog input", width: 2, components: 1, signed: true, divisors: [100]),
        LPPType(id: 3, name: "analog output", width: 2, components: 1, signed: true, divisors: [100]),
        LPPType(id: 101, name: "illuminance", width: 2, components: 1, signed: false, divisors: [1]),
        LPPType(id: 102, name: "presence", width: 1, components: 1, signed: false, divisors: [1]),
        LPPType(id: 103, name: "temperature", width: 2, components: 1, signed: true, divisors: [10]),
        LPPType(id: 104, name: "humidity", width: 1, components: 1, signed: false, divisors: [2]),
        LPPType(id: 113, name: "accelerometer", width: 2, components: 3, signed: true, divisors: [1000, 1000, 1000]),
        LPPType(id: 115, name: "barometer", width: 2, components: 1, signed: false, divisors: [10]),
        LPPType(id: 116, name: "voltage", width: 2, components: 1, signed: false, divisors: [100]),
        LPPType(id: 117, name: "current", width: 2, components: 1, signed: false, divisors: [1000]),
        LPPType(id: 128, name: "power", width: 2, components: 1, signed: false, divisors: [1]),
        LPPType(id: 131, name: "energy", width: 4, components: 1, signed: false, divisors: [1000]),
        LPPType(id: 133, name: "unix time", width: 4, components: 1, signed: false, divisors: [1]),
        LPPType(id: 134, name: "gyrometer", width: 2, components: 3, signed: true, divisors: [100, 100, 100]),
        LPPType(id: 136, name: "GPS", width: 3, components: 3, signed: true, divisors: [10_000, 10_000, 100]),
    ]

    /// Indexed by type id; nil for types this decoder does not know.
    public static let byID: [LPPType?] = {
        var table = [LPPType?](repeating: nil, count: 256)
        for type in known { table[Int(type.id)] = type }
        return table
    }()

    /// Reads component `index` of an entry whose data starts at `offset`.
    @inline(__always)
    func raw(_ payload: UnsafeRawBufferPointer, at offset: Int, component index: Int) -> Int64 {
        var value: UInt64 = 0
        let start = offset + index * width
        for byte in 0..<width { value = value << 8 | UInt64(payload[start + byte]) }
        guard signed else { return Int64(value) }
        let shift = UInt64(64 - 8 * width)
        return Int64(bitPattern: value << shift) >> Int64(shift)
    }

    /// Inclusive range of raw integers one component can carry.
    var rawRange: ClosedRange<Int64> {
        let bits = Int64(8 * width)
        return signed ? -(1 << (bits - 1))...((1 << (bits - 1)) - 1) : 0...((1 << bits) - 1)
    }
}
