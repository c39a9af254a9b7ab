import CMosquitto
import Foundation
import Synchronization

public struct MQTTMessage: Sendable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: Int32
    public var retain: Bool
    /// The packet id the broker gave it (QoS 1): a redelivery after a reconnect keeps it.
    public var mid: Int32 = 0
    /// Which connection of this client it arrived on (1 for the first, counting reconnects).
    public var connection: UInt64 = 0
}
