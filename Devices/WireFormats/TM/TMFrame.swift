/// Layout constants of the native `tm` frame, version 1 (docs/wire-formats.md).
public enum TMFrame {
    public static let magic: (UInt8, UInt8) = (0x54, 0x4D)
    public static let version: UInt8 = 1
    public static let headerSize = 20
    public static let crcSize = 4
    public static let maxSamples = 4096
    public static let maxFields = 16

    public enum ValueEncoding: UInt8, Sendable, CaseIterable {
        case float32 = 0
        case float64 = 1
        case int32Scaled = 2

        public var width: Int { self == .float64 ? 8 : 4 }
    }

    public struct Flags: Sendable {
        public var crc: Bool
        public var encoding: ValueEncoding

        public init(crc: Bool, encoding: ValueEncoding) {
            self.crc = crc
            self.encoding = encoding
        }

        public var rawValue: UInt8 { (crc ? 1 : 0) | (encoding.rawValue << 1) }
    }
}
