import Postgres
import StorageCore

/// A device's state (docs/devices.md#device-status).
public enum DeviceState: String, Sendable, CaseIterable {
    case online, silent, offline
}

/// The log of state changes the status pass (StorageOperations' `DeviceStatus`) writes, read by the live
/// streams: ids grow with every change, so a reader keeps the last it saw and asks for what came after.
public enum DeviceStateChanges {
    public struct Change: Sendable, Equatable {
        public var id: Int64
        public var deviceID: Int32
        public var sensor: String
        public var device: String
        public var state: DeviceState
        /// When the device entered the state (µs): its reading's arrival, its report, or when it became
        /// overdue; not when the pass noticed.
        public var since: Int64

        public init(id: Int64, deviceID: Int32, sensor: String, device: String, state: DeviceState, since: Int64) {
            self.id = id
            self.deviceID = deviceID
            self.sensor = sensor
            self.device = device
            self.state = state
            self.since = since
        }
    }

    package static func change(_ row: [String?]) -> Change? {
        guard let id = row[0].flatMap({ Int64($0) }), let deviceID = row[1].flatMap({ Int32($0) }), let sensor = row[2], let device = row[3],
            let state = row[4].flatMap(DeviceState.init(rawValue:)), let since = row[5].flatMap({ Int64($0) })
        else { return nil }
        return Change(id: id, deviceID: deviceID, sensor: sensor, device: device, state: state, since: since)
    }

    /// Changes logged after `id`, oldest first (at most `limit`).
    public static func after(_ id: Int64, limit: Int = 1000, on connection: PGConnection) throws(PGError) -> [Change] {
        try connection.query("""
            SELECT id, device_id, sensor, device, state, \(SQLTime.micros("since")) FROM device_state_changes WHERE id > $1 ORDER BY id LIMIT $2
            """, [String(id), String(limit)]).rows.compactMap(change)
    }

    /// The newest change's id (0 when none): where a reader that wants only what comes next starts.
    public static func last(on connection: PGConnection) throws(PGError) -> Int64 {
        Int64(try connection.execute("SELECT coalesce(max(id), 0) FROM device_state_changes")[0, 0] ?? "0") ?? 0
    }
}
