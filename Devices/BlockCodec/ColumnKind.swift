/// The first byte of every encoded column: what follows and how to read it.
public enum ColumnKind: UInt8, Sendable {
    /// Times in microseconds: the first, a unit, the first delta, then delta-of-deltas bit-packed.
    case times = 1
    /// Optional integers (`seq`): presence, the first, then deltas or delta-of-deltas bit-packed.
    case integers = 2
    /// Optional doubles that are decimals of a few digits (21.3): scaled to integers, then as `integers`.
    case decimals = 3
    /// Optional doubles of any bits: Gorilla's XOR with the previous value.
    case xor = 4
    /// Optional doubles that are float32 values of decimals (21.4 sent as a float32 is 21.399999618530273):
    /// scaled to integers as `decimals`, read back through `Float`.
    case float32Decimals = 5
    /// Optional doubles that are float32 values of no short decimal (a GPS fix sent as float32): their bit
    /// patterns as ordered integers (one float32 step apart is 1 apart), then as `integers`.
    case float32Bits = 6
}

/// The most values one column holds: a block is one device's hour, and even a reading every millisecond
/// stays far below it. A header announcing more is damage, refused before any memory is reserved.
public let maximumColumnCount = 1 << 24
