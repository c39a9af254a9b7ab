public struct StoredDevice: Sendable, Equatable {
    public var id: Int32
    public var device: String
    public var firstSeen: Int64
    public var lastSeen: Int64
}
