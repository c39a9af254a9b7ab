import Postgres
import StorageCore

/// Every batch that stored readings is announced once (per batch, not per reading) on one NOTIFY channel,
/// right after its commit: the sensor type, the newest reading time of the batch and the device ids it
/// wrote. After, not inside: PostgreSQL commits every notifying transaction of the cluster one at a time,
/// WAL flush included, under one lock (async.c, `PreCommit_Notify`), which six writers queued on. The
/// announcement is a transaction of its own that does not wait for its flush, in the same round trip as
/// the commit, so the query service's live streams (`LiveReadings`) hear of a batch once it is readable;
/// one lost with a crash between the two is made up by their periodic catch-up.
public enum ReadingChanges {
    public static let channel = "telemetry_readings"
    /// NOTIFY payloads must stay under 8000 bytes; a batch of more devices names none (`*`: any device).
    static let maxPayload = 7900

    public struct Change: Sendable, Equatable {
        public var sensor: String
        /// Microseconds since the epoch: no reading of the batch is newer.
        public var last: Int64
        /// Nil: any device of the sensor type.
        public var deviceIDs: [Int32]?

        package init(sensor: String, last: Int64, deviceIDs: [Int32]?) {
            self.sensor = sensor
            self.last = last
            self.deviceIDs = deviceIDs
        }
    }

    /// The statement that announces `change`: send it after the COMMIT (`synchronous_commit` off for
    /// its own transaction only, so it costs no WAL flush).
    package static func announcement(_ change: Change) -> String {
        "SELECT set_config('synchronous_commit', 'off', true), pg_notify('\(channel)', \(SQLText.literal(payload(change))))"
    }

    /// `<sensor> <last µs> <id>,<id>,...` or `<sensor> <last µs> *`.
    static func payload(_ change: Change) -> String {
        let head = "\(change.sensor) \(change.last) "
        guard let ids = change.deviceIDs else { return head + "*" }
        let list = ids.map(String.init).joined(separator: ",")
        return head.utf8.count + list.utf8.count <= maxPayload ? head + list : head + "*"
    }

    package static func parse(_ payload: String) -> Change? {
        let parts = payload.split(separator: " ")
        guard parts.count == 3, let last = Int64(parts[1]) else { return nil }
        if parts[2] == "*" { return Change(sensor: String(parts[0]), last: last, deviceIDs: nil) }
        var ids: [Int32] = []
        for text in parts[2].split(separator: ",") {
            guard let id = Int32(text) else { return nil }
            ids.append(id)
        }
        return Change(sensor: String(parts[0]), last: last, deviceIDs: ids)
    }
}
