import WireFormats

/// Recognises a broker's redelivery of a message this pipeline already journaled. While PostgreSQL is
/// away the message callback blocks on the full queue, the MQTT thread sends no PINGREQ, and after 1.5
/// keepalives the broker drops the connection: PUBACKs of messages already journaled never reach it,
/// and it sends them again (same packet id, same topic and bytes) on the next connection. Journaling
/// them again would store time-less payloads (`text`, `json` without a time) twice.
///
/// Only the first `window` messages of a new connection are checked, and only against the last
/// `window` messages of the connection before: a broker resends what was in flight (at most its
/// `max_inflight_messages`) before anything new, and a new message gets the next packet id, so a
/// match there is the same message. Used on the MQTT network thread only.
final class RedeliveryFilter {
    static let window: UInt64 = 1000
    private struct Entry {
        var fingerprint: UInt64
        var connection: UInt64
        var order: UInt64
    }
    /// By packet id (1...65535).
    private var slots = [Entry?](repeating: nil, count: 65536)
    private var received: UInt64 = 0
    private var connection: UInt64 = 0
    private var receivedBeforeThisConnection: UInt64 = 0
    private var checkedOnThisConnection: UInt64 = 0

    /// True for a redelivery of a message received (and journaled) on an earlier connection.
    func isRedelivery(mid: Int32, connection: UInt64, topic: String, payload: [UInt8]) -> Bool {
        guard mid > 0, mid < 65536 else { return false }
        if connection != self.connection {
            self.connection = connection
            receivedBeforeThisConnection = received
            checkedOnThisConnection = 0
        }
        received += 1
        let fingerprint = UInt64(CRC32C.checksum(Array(topic.utf8))) << 32 | UInt64(CRC32C.checksum(payload))
        let previous = slots[Int(mid)]
        slots[Int(mid)] = Entry(fingerprint: fingerprint, connection: connection, order: received)
        guard checkedOnThisConnection < Self.window else { return false }
        checkedOnThisConnection += 1
        guard let previous, previous.connection < connection, previous.fingerprint == fingerprint,
              previous.order + Self.window > receivedBeforeThisConnection else { return false }
        return true
    }
}
