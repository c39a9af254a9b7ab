import Postgres

/// Every transaction that changes a sensor type's rollups says so on one NOTIFY channel, naming the
/// hours it touched. PostgreSQL delivers a NOTIFY at commit and never for a rollback, so a listener
/// (the query service's `RollupCache`) learns of exactly the committed changes.
public enum RollupChanges {
    public static let channel = "telemetry_rollups"

    /// What one notification says: a sensor type and the hours (hour numbers since the epoch) it
    /// changed, or nil for "any hour" (retention, or a change made by hand).
    public struct Change: Sendable, Equatable {
        public var sensor: String
        public var hours: ClosedRange<Int64>?
    }

    /// Call inside the writing transaction.
    public static func notify(sensor: String, hours: ClosedRange<Int64>?, on connection: PGConnection) throws(PGError) {
        _ = try connection.query("SELECT pg_notify($1, $2)", [channel, payload(Change(sensor: sensor, hours: hours))])
    }

    /// `<sensor> <first hour> <last hour>` or `<sensor> *`. Someone changing rollups by hand can run
    /// `NOTIFY telemetry_rollups, 'power *'`.
    static func payload(_ change: Change) -> String {
        guard let hours = change.hours else { return "\(change.sensor) *" }
        return "\(change.sensor) \(hours.lowerBound) \(hours.upperBound)"
    }

    package static func parse(_ payload: String) -> Change? {
        let parts = payload.split(separator: " ")
        guard let sensor = parts.first.map(String.init) else { return nil }
        if parts.count == 2 && parts[1] == "*" { return Change(sensor: sensor, hours: nil) }
        guard parts.count == 3, let first = Int64(parts[1]), let last = Int64(parts[2]), first <= last else { return nil }
        return Change(sensor: sensor, hours: first...last)
    }
}
