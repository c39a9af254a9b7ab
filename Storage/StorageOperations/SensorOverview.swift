import Postgres
import StorageCore
import StorageReader

/// One sensor type's line of the dashboard's overview.
public struct SensorOverview: Sendable, Equatable {
    public var sensor: String?
    public var devices: Int64 = 0
    /// Devices per state (`DeviceState`'s raw values).
    public var devicesByState: [String: Int64] = [:]
    /// Readings (rows, not field values) whose time falls in the current minute and the 59 before it.
    public var readingsLastHour: Int64 = 0
    /// Readings whose time falls in the current minute.
    public var readingsLastMinute: Int64 = 0
    /// Dead letters received in the last 60 minutes.
    public var rejectedLastHour: Int64 = 0
    /// Alert episodes not cleared (acknowledged ones included).
    public var openAlerts: Int64 = 0

    public init(sensor: String?) { self.sensor = sensor }
}
