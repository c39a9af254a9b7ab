import SensorModel

public struct WriteOutcome: Sendable, Equatable {
    /// Readings newly stored.
    public var inserted: Int
    /// Readings already stored (redelivered or resent), dropped.
    public var duplicates: Int
    public var deadLettered: Int
}
