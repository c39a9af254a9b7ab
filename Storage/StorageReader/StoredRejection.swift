public struct StoredRejection: Sendable, Equatable {
    public var id: Int64
    public var sensor: String?
    public var topic: String
    public var receivedAt: Int64
    public var reason: String
    public var payload: [UInt8]
}
