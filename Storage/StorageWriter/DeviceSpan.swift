import SensorModel

public struct DeviceSpan: Sendable, Equatable {
    public var device: String
    public var rows: Range<Int>
    /// When the newest of its messages arrived (µs since the epoch): the device's `last_heard`.
    public var heardAt: Int64
}

/// What a device said on its status topic (`StatusTopics`): connected or gone, and when it arrived.
public struct StatusReport: Sendable, Equatable {
    public var device: String
    public var online: Bool
    public var at: Int64

    public init(device: String, online: Bool, at: Int64) {
        self.device = device
        self.online = online
        self.at = at
    }
}
