import Postgres
import SensorModel
import StorageCore
import StorageEvents

/// The read side: parameters only, never values in SQL text (table and column names come from the catalog).
public struct ReadingQueries: Sendable {
    public let sensor: SensorType
    public let tables: SensorTables

    public init(sensor: SensorType) {
        self.sensor = sensor
        self.tables = SensorTables(sensor)
    }

    static func micros(_ column: String) -> String { SQLTime.micros(column) }
    static func timestamp(_ parameter: String) -> String { SQLTime.timestamp(parameter) }

    /// Devices ordered by id string, after `cursor` (exclusive), whose id starts with `prefix` and whose
    /// state is `state` if given.
    public func devices(
        limit: Int, after cursor: String?, prefix: String? = nil, state: DeviceState? = nil, on connection: PGConnection
    ) throws(PGError) -> [StoredDevice] {
        // LIKE's own characters (device ids may hold `_`) are escaped; the (sensor, device) key serves the range.
        let pattern = prefix.map { $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "_", with: "\\_").replacingOccurrences(of: "%", with: "\\%") + "%" }
        let result = try connection.query("""
            SELECT \(Self.deviceColumns) FROM devices
            WHERE sensor = $1 AND ($2::text IS NULL OR device > $2) AND ($4::text IS NULL OR device LIKE $4) AND ($5::text IS NULL OR state = $5)
            ORDER BY device LIMIT $3
            """, [sensor.name, cursor, String(limit), pattern, state?.rawValue])
        return result.rows.compactMap(Self.device)
    }

    static let deviceColumns = [
        "id", "device", micros("first_seen"), micros("last_seen"), micros("coalesce(last_heard, last_seen)"), "state",
        micros("coalesce(state_since, first_seen)"), "(extract(epoch from expected_interval) * 1000000)::int8",
    ].joined(separator: ", ")

    static func device(_ row: [String?]) -> StoredDevice? {
        guard let id = row[0].flatMap({ Int32($0) }), let name = row[1], let first = row[2].flatMap({ Int64($0) }),
            let last = row[3].flatMap({ Int64($0) }), let heard = row[4].flatMap({ Int64($0) }),
            let state = row[5].flatMap(DeviceState.init(rawValue:)), let since = row[6].flatMap({ Int64($0) })
        else { return nil }
        return StoredDevice(
            id: id, device: name, firstSeen: first, lastSeen: last, lastHeard: heard, state: state, stateSince: since,
            expectedInterval: row[7].flatMap { Int64($0) })
    }

    /// Sets a device's own expected interval (nil: its sensor type's again); false when there is no such device.
    public func setExpectedInterval(_ interval: Duration?, device: String, on connection: PGConnection) throws(PGError) -> Bool {
        let micros = interval.map { String($0.components.seconds * 1_000_000) }
        return try connection.query("""
            UPDATE devices SET expected_interval = $3::int8 * interval '1 microsecond' WHERE sensor = $1 AND device = $2 RETURNING 1
            """, [sensor.name, device, micros]).count > 0
    }

    /// Id to name of every device of this sensor type (for aggregates grouped by device).
    public func deviceNames(on connection: PGConnection) throws(PGError) -> [Int32: String] {
        var names: [Int32: String] = [:]
        for row in try connection.query("SELECT id, device FROM devices WHERE sensor = $1", [sensor.name]).rows {
            names[Int32(row[0]!)!] = row[1]!
        }
        return names
    }

    public func device(named name: String, on connection: PGConnection) throws(PGError) -> StoredDevice? {
        try devices(named: [name], on: connection).first
    }

    public func devices(named names: [String], on connection: PGConnection) throws(PGError) -> [StoredDevice] {
        let result = try connection.query("""
            SELECT \(Self.deviceColumns) FROM devices
            WHERE sensor = $1 AND device = ANY($2::text[]) ORDER BY device
            """, [sensor.name, SQLText.textArray(names)])
        return result.rows.compactMap(Self.device)
    }

    /// Raw readings of one device in `[from, to)`, after the cursor time in the chosen order: the first
    /// `limit` heap rows and enough blocks to hold `limit` readings past the first (which the range or the
    /// cursor may cut), merged.
    public func readings(
        deviceID: Int32, from: Int64, to: Int64, after cursor: Int64?, ascending: Bool, limit: Int, on connection: PGConnection
    ) throws(PGError) -> [StoredReading] {
        let order = ascending ? "ASC" : "DESC"
        let heapCursor = ascending ? "time > \(Self.timestamp("$5"))" : "time < \(Self.timestamp("$5"))"
        let blockCursor = ascending ? "bucket > \(Self.timestamp("$5")) - interval '1 hour'" : "bucket < \(Self.timestamp("$5"))"
        let sql = """
            (SELECT \(heapSelect) FROM \(tables.readings)
             WHERE device_id = $1 AND time >= \(Self.timestamp("$2")) AND time < \(Self.timestamp("$3"))
               AND ($5::int8 IS NULL OR \(heapCursor))
             ORDER BY time \(order) LIMIT $4)
            UNION ALL
            (SELECT \(blockSelect) FROM (
                SELECT *, sum(count) OVER w - count - first_value(count) OVER w AS before FROM \(tables.blocks)
                WHERE device_id = $1 AND bucket > \(Self.timestamp("$2")) - interval '1 hour' AND bucket < \(Self.timestamp("$3"))
                  AND ($5::int8 IS NULL OR \(blockCursor))
                WINDOW w AS (ORDER BY bucket \(order))
             ) AS b WHERE before < $4)
            """
        var readings = try mergedReadings(
            sql, [String(deviceID), String(from), String(to), String(limit), cursor.map(String.init)], deviceID: deviceID,
            limit: limit, ascending: ascending, keep: { time in time >= from && time < to && cursor.map { ascending ? time > $0 : time < $0 } ?? true }, on: connection)
        readings.sort { ascending ? $0.time < $1.time : $0.time > $1.time }
        return Array(readings.prefix(limit))
    }

    /// The newest reading: the heap's newest or the newest block's last, whichever is later.
    public func latest(deviceID: Int32, on connection: PGConnection) throws(PGError) -> StoredReading? {
        let sql = """
            (SELECT \(heapSelect) FROM \(tables.readings) WHERE device_id = $1 ORDER BY time DESC LIMIT 1)
            UNION ALL
            (SELECT \(blockSelect) FROM \(tables.blocks) WHERE device_id = $1 ORDER BY bucket DESC LIMIT 1)
            """
        let readings = try mergedReadings(sql, [String(deviceID)], deviceID: deviceID, newestOnly: true, prepared: true, keep: { _ in true }, on: connection)
        return readings.max { $0.time < $1.time }
    }

    static func reading(_ row: [String?]) -> StoredReading {
        StoredReading(time: Int64(row[0]!)!, seq: row[1].flatMap { Int64($0) }, values: row[2...].map { $0.flatMap(Double.init) })
    }
}

// The services' entry point: the same work on a `StoreConnection`.
extension ReadingQueries {
    public func devices(
        limit: Int, after cursor: String?, prefix: String? = nil, state: DeviceState? = nil, on connection: StoreConnection
    ) throws(StoreError) -> [StoredDevice] {
        try StoreError.wrap { () throws(PGError) in try devices(limit: limit, after: cursor, prefix: prefix, state: state, on: connection.pg) }
    }

    public func setExpectedInterval(_ interval: Duration?, device: String, on connection: StoreConnection) throws(StoreError) -> Bool {
        try StoreError.wrap { () throws(PGError) in try setExpectedInterval(interval, device: device, on: connection.pg) }
    }

    public func deviceNames(on connection: StoreConnection) throws(StoreError) -> [Int32: String] {
        try StoreError.wrap { () throws(PGError) in try deviceNames(on: connection.pg) }
    }

    public func device(named name: String, on connection: StoreConnection) throws(StoreError) -> StoredDevice? {
        try StoreError.wrap { () throws(PGError) in try device(named: name, on: connection.pg) }
    }

    public func devices(named names: [String], on connection: StoreConnection) throws(StoreError) -> [StoredDevice] {
        try StoreError.wrap { () throws(PGError) in try devices(named: names, on: connection.pg) }
    }

    public func readings(
        deviceID: Int32, from: Int64, to: Int64, after cursor: Int64?, ascending: Bool, limit: Int, on connection: StoreConnection
    ) throws(StoreError) -> [StoredReading] {
        try StoreError.wrap { () throws(PGError) in
            try readings(deviceID: deviceID, from: from, to: to, after: cursor, ascending: ascending, limit: limit, on: connection.pg)
        }
    }

    public func latest(deviceID: Int32, on connection: StoreConnection) throws(StoreError) -> StoredReading? {
        try StoreError.wrap { () throws(PGError) in try latest(deviceID: deviceID, on: connection.pg) }
    }

    public func aggregates(
        _ query: AggregateQuery, deviceNames: [Int32: String], cache: RollupCache? = nil, on connection: StoreConnection
    ) throws(StoreError) -> [AggregateSeries] {
        try StoreError.wrap { () throws(PGError) in try aggregates(query, deviceNames: deviceNames, cache: cache, on: connection.pg) }
    }
}
