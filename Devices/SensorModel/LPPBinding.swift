public struct LPPBinding: Sendable, Hashable, Codable {
    /// LPP data type (IPSO object id − 3200), e.g. 103 for temperature.
    public var type: Int
    /// Only this channel carries the field; nil takes the type from any channel.
    public var channel: Int?
    /// For multi-value types (accelerometer x/y/z, GPS lat/lon/alt): which component, 0-based.
    public var component: Int?

    public init(type: Int, channel: Int? = nil, component: Int? = nil) {
        self.type = type
        self.channel = channel
        self.component = component
    }
}
