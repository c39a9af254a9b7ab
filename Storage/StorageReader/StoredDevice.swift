import StorageEvents

public struct StoredDevice: Sendable, Equatable {
    public var id: Int32
    public var device: String
    public var firstSeen: Int64
    public var lastSeen: Int64
    /// When its last reading arrived (µs; kept to within half its expected interval, at most 30 s).
    public var lastHeard: Int64
    public var state: DeviceState
    public var stateSince: Int64
    /// Its own expected interval (µs), nil: its sensor type's.
    public var expectedInterval: Int64?
}
