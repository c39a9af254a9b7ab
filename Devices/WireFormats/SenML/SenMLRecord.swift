/// The labels of a SenML record (RFC 8428 §4.1, §6), for JSON names and CBOR integer keys alike.
enum SenMLLabel: UInt8 {
    case baseName, baseTime, baseUnit, baseValue, baseSum, baseVersion
    case name, unit, value, stringValue, boolValue, dataValue, sum, time, updateTime
    /// A label this decoder does not know: ignored, as RFC 8428 §4.4 asks.
    case unknown
    /// An unknown label ending in `_`: the RFC says it must be understood, so the pack is rejected.
    case mustUnderstand

    init(cbor key: Int64) {
        switch key {
        case -1: self = .baseVersion
        case -2: self = .baseName
        case -3: self = .baseTime
        case -4: self = .baseUnit
        case -5: self = .baseValue
        case -6: self = .baseSum
        case 0: self = .name
        case 1: self = .unit
        case 2: self = .value
        case 3: self = .stringValue
        case 4: self = .boolValue
        case 5: self = .sum
        case 6: self = .time
        case 7: self = .updateTime
        case 8: self = .dataValue
        default: self = .unknown
        }
    }

    init(json key: UnsafeRawBufferPointer) {
        switch key.count {
        case 1:
            switch key[0] {
            case UInt8(ascii: "n"): self = .name
            case UInt8(ascii: "u"): self = .unit
            case UInt8(ascii: "v"): self = .value
            case UInt8(ascii: "t"): self = .time
            case UInt8(ascii: "s"): self = .sum
            default: self = .unknown
            }
        case 2:
            switch (key[0], key[1]) {
            case (UInt8(ascii: "b"), UInt8(ascii: "n")): self = .baseName
            case (UInt8(ascii: "b"), UInt8(ascii: "t")): self = .baseTime
            case (UInt8(ascii: "b"), UInt8(ascii: "u")): self = .baseUnit
            case (UInt8(ascii: "b"), UInt8(ascii: "v")): self = .baseValue
            case (UInt8(ascii: "b"), UInt8(ascii: "s")): self = .baseSum
            case (UInt8(ascii: "v"), UInt8(ascii: "s")): self = .stringValue
            case (UInt8(ascii: "v"), UInt8(ascii: "b")): self = .boolValue
            case (UInt8(ascii: "v"), UInt8(ascii: "d")): self = .dataValue
            case (UInt8(ascii: "u"), UInt8(ascii: "t")): self = .updateTime
            default: self = .unknown
            }
        case 4 where key[0] == UInt8(ascii: "b") && key[1] == UInt8(ascii: "v") && key[2] == UInt8(ascii: "e") && key[3] == UInt8(ascii: "r"):
            self = .baseVersion
        default:
            self = .unknown
        }
        if self == .unknown, key.last == UInt8(ascii: "_") { self = .mustUnderstand }
    }

    var text: String {
        ["bn", "bt", "bu", "bv", "bs", "bver", "n", "u", "v", "vs", "vb", "vd", "s", "t", "ut", "?", "?_"][Int(rawValue)]
    }
}

/// One record as read from the wire, before base values are applied.
struct SenMLRecord {
    var baseName: [UInt8]?
    var baseTime: Double?
    var baseUnit: [UInt8]?
    var baseValue: Double?
    var baseVersion: Double?
    var name: [UInt8]?
    var unit: [UInt8]?
    var value: Double?
    var time: Double?
    /// The label of a value a numeric field cannot take (`vs`, `vb`, `vd`) or a lone sum (`s`).
    var otherValue: SenMLLabel?
    var hasSum = false
    private var seen: UInt32 = 0

    /// Notes `label` once per record; a label given twice rejects the pack.
    mutating func mark(_ label: SenMLLabel) throws(DecodeError) {
        guard label != .unknown else { return }
        guard label != .mustUnderstand else {
            throw DecodeError(.badSenML, "senml record has an unknown label ending in '_', which must be understood")
        }
        let bit: UInt32 = 1 << label.rawValue
        guard seen & bit == 0 else { throw DecodeError(.badSenML, "senml record gives '\(label.text)' twice") }
        seen |= bit
    }
}
