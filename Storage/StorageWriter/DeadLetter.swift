import SensorModel

/// A message that could not be stored as readings, kept with its raw bytes.
public struct DeadLetter: Sendable, Equatable {
    public var sensor: String?
    public var topic: String
    /// Microseconds since the epoch.
    public var receivedAt: Int64
    public var reason: String
    public var payload: [UInt8]

    public init(sensor: String?, topic: String, receivedAt: Int64, reason: String, payload: [UInt8]) {
        self.sensor = sensor
        self.topic = topic
        self.receivedAt = receivedAt
        self.reason = reason
        self.payload = payload
    }
}
