/// Why a compacted column could not be read: a stable code and where in the column it happened. A block
/// that fails to decode is a damaged block (or a bug): the storage layer reports it and never guesses.
public struct BlockDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The column ends before what its header announces.
        public static let truncated = Code(rawValue: "truncated")
        /// Bytes left after the last value: a column is read to its last byte.
        public static let trailingBytes = Code(rawValue: "trailing_bytes")
        /// The first byte names another kind of column than the caller asked for.
        public static let wrongKind = Code(rawValue: "wrong_kind")
        /// A count, width, scale, order or position outside what an encoder writes.
        public static let badHeader = Code(rawValue: "bad_header")
        /// A varint longer than 10 bytes or past 64 bits.
        public static let badVarint = Code(rawValue: "bad_varint")
        /// An XOR value that reuses a window before any was set.
        public static let noWindow = Code(rawValue: "no_window")
        /// A value no encoder writes (a float32 bit pattern wider than 32 bits, or a NaN's).
        public static let badValue = Code(rawValue: "bad_value")
        /// Presence bits set past the column's count.
        public static let badPresence = Code(rawValue: "bad_presence")
    }

    public var code: Code
    /// Byte offset in the column where reading stopped.
    public var offset: Int
    public var context: String

    public init(_ code: Code, at offset: Int, _ context: String) {
        self.code = code
        self.offset = offset
        self.context = context
    }

    public var description: String { "\(code) at byte \(offset): \(context)" }
}
