import WireFormats

/// One received message as the journal keeps it.
public struct JournalRecord: Sendable, Equatable {
    public var seq: UInt64
    /// Receive time, microseconds since the epoch.
    public var receivedAt: Int64
    public var topic: String
    public var payload: [UInt8]

    public init(seq: UInt64, receivedAt: Int64, topic: String, payload: [UInt8]) {
        self.seq = seq
        self.receivedAt = receivedAt
        self.topic = topic
        self.payload = payload
    }

    /// `[u32 body length][u32 CRC-32C of body][body]`, body = `[u64 seq][i64 receivedAt][u16 topic length][topic][payload]`.
    static let frameOverhead = 8
    static let bodyHeader = 18

    func encoded() -> [UInt8] {
        let topicBytes = Array(topic.utf8)
        var body: [UInt8] = []
        body.reserveCapacity(Self.bodyHeader + topicBytes.count + payload.count)
        appendLittleEndian(seq, to: &body)
        appendLittleEndian(UInt64(bitPattern: receivedAt), to: &body)
        appendLittleEndian(UInt16(topicBytes.count), to: &body)
        body += topicBytes
        body += payload
        var frame: [UInt8] = []
        frame.reserveCapacity(Self.frameOverhead + body.count)
        appendLittleEndian(UInt32(body.count), to: &frame)
        appendLittleEndian(CRC32C.checksum(body), to: &frame)
        frame += body
        return frame
    }

    /// Reads the record at `offset`; nil at the end or at a torn or corrupt tail.
    static func decode(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> (JournalRecord, next: Int)? {
        guard bytes.count - offset >= frameOverhead else { return nil }
        let length = Int(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
        let crc = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self).littleEndian
        let start = offset + frameOverhead
        guard length >= bodyHeader, bytes.count - start >= length else { return nil }
        let body = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)])
        guard CRC32C.checksum(body) == crc else { return nil }
        let seq = body.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
        let receivedAt = Int64(bitPattern: body.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian)
        let topicLength = Int(body.loadUnaligned(fromByteOffset: 16, as: UInt16.self).littleEndian)
        guard bodyHeader + topicLength <= length else { return nil }
        let topic = String(decoding: body[bodyHeader..<(bodyHeader + topicLength)], as: UTF8.self)
        let payload = Array(body[(bodyHeader + topicLength)...])
        return (JournalRecord(seq: seq, receivedAt: receivedAt, topic: topic, payload: payload), start + length)
    }
}

@inline(__always)
func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
}
