import CCRC32C

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as the `tm` trailer uses: the CPU's CRC-32C
/// instruction where there is one (x86-64 SSE4.2, AArch64), else table-driven slicing-by-8.
public enum CRC32C {
    static let hardware = crc32c_hardware_available() != 0

    /// Eight 256-entry tables, back to back: table k advances a byte k positions further.
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for index in 0..<256 {
            var crc = UInt32(index)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            tables[index] = crc
        }
        for index in 0..<256 {
            for slice in 1..<8 {
                let previous = tables[(slice - 1) * 256 + index]
                tables[slice * 256 + index] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard hardware, let base = bytes.baseAddress else { return checksumSliced(bytes) }
        return crc32c_hardware_update(0xFFFF_FFFF, base, bytes.count) ^ 0xFFFF_FFFF
    }

    /// The table-driven path, whatever the CPU has (for tests and CPUs without the instruction).
    static func checksumSliced(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        update(0xFFFF_FFFF, bytes) ^ 0xFFFF_FFFF
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// Bytewise reference, for tests.
    static func checksumBytewise(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = tables[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return ~crc
    }

    /// The tables copied once into memory that is never freed, so the loop reads them without retains or checks.
    nonisolated(unsafe) private static let table: UnsafePointer<UInt32> = {
        let pointer = UnsafeMutablePointer<UInt32>.allocate(capacity: tables.count)
        pointer.initialize(from: tables, count: tables.count)
        return UnsafePointer(pointer)
    }()

    private static func update(_ start: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let t = table
        var crc = start
        guard var pointer = bytes.baseAddress else { return crc }
        let end = pointer + bytes.count
        while end - pointer >= 8 {
            let word = UInt64(littleEndian: pointer.loadUnaligned(as: UInt64.self))
            let low = UInt32(truncatingIfNeeded: word) ^ crc
            let high = UInt32(truncatingIfNeeded: word >> 32)
            crc = t[1792 + Int(low & 0xFF)] ^ t[1536 + Int((low >> 8) & 0xFF)]
                ^ t[1280 + Int((low >> 16) & 0xFF)] ^ t[1024 + Int(low >> 24)]
                ^ t[768 + Int(high & 0xFF)] ^ t[512 + Int((high >> 8) & 0xFF)]
                ^ t[256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
            pointer += 8
        }
        while pointer < end {
            crc = t[Int((crc ^ UInt32(pointer.load(as: UInt8.self))) & 0xFF)] ^ (crc >> 8)
            pointer += 1
        }
        return crc
    }
}
