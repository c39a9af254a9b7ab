import SensorModel

public struct DeviceSpan: Sendable, Equatable {
    public var device: String
    public var rows: Range<Int>
}
