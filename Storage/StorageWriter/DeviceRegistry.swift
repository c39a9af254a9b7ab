import Postgres
import SensorModel
import StorageCore
import StorageEvents

/// Device ids of one writer. A device's row is written when it is new, when a batch moves its first
/// seen earlier, or when its last seen or last heard advances by more than `refresh`: rewriting every
/// device's row on every batch cost PostgreSQL about one row update per two messages of 1-sample frames.
/// `last_heard` (when a reading last arrived) is what the device status reads, so the refresh is also how
/// far behind it may be: at most half the expected interval, the device's own where it has one (learnt
/// from its row each time the row is written), and 30 s (docs/devices.md#device-status).
struct DeviceRegistry {
    /// `last_seen` and `last_heard` are kept to within this much (microseconds), unless a device's own
    /// expected interval asks for less.
    let refresh: Int64
    private var known: [String: (id: Int32, first: Int64, last: Int64, heard: Int64, refresh: Int64)] = [:]

    static let longestRefresh: Int64 = 30_000_000

    init(expectedInterval: Duration = SensorType.defaultExpectedInterval) {
        refresh = Self.refresh(forInterval: expectedInterval.components.seconds * 1_000_000)
    }

    /// Half an expected interval (µs), between 1 s and 30 s.
    static func refresh(forInterval micros: Int64) -> Int64 { max(1_000_000, min(longestRefresh, micros / 2)) }

    /// A device's times in one batch: its readings' oldest and newest, and when its newest message arrived.
    typealias Times = (first: Int64, last: Int64, heard: Int64)

    /// A batch's devices: the ids known, and the devices whose row the batch's transaction must write.
    struct Plan {
        var ids: [String: Int32] = [:]
        var stale: [String: Times] = [:]
        /// The stale devices' own refresh, as their rows say (nil: none of their own).
        var refresh: [String: Int64?] = [:]
    }

    /// What the batch needs, without a round trip when every device is known and its row current enough.
    /// `reported`: devices that said something on their status topic in this batch, whose row is written
    /// in any case, so that the order of the report and the readings decides their state.
    func plan(spans: [DeviceSpan], readings: ReadingBatch, reported: Set<String> = []) -> Plan {
        var seen: [String: Times] = [:]
        for span in spans {
            var first = Int64.max, last = Int64.min
            for row in span.rows {
                first = min(first, readings.times[row])
                last = max(last, readings.times[row])
            }
            if let other = seen[span.device] {
                seen[span.device] = (min(other.first, first), max(other.last, last), max(other.heard, span.heardAt))
            } else {
                seen[span.device] = (first, last, span.heardAt)
            }
        }
        var plan = Plan()
        for (device, times) in seen {
            if let cached = known[device], !reported.contains(device), times.first >= cached.first, times.last <= cached.last + cached.refresh,
                times.heard <= cached.heard + cached.refresh
            {
                plan.ids[device] = cached.id
            } else {
                plan.stale[device] = times
            }
        }
        return plan
    }

    /// Writes the plan's stale devices inside the batch's transaction and completes its ids. Kept only
    /// by `remember`, after the commit: a rolled-back batch leaves no id behind that names no row.
    func write(_ plan: inout Plan, sensor: String, on connection: PGConnection) throws(PGError) {
        guard !plan.stale.isEmpty else { return }
        for (device, row) in try Self.upsert(plan.stale, sensor: sensor, on: connection) {
            plan.ids[device] = row.id
            plan.refresh[device] = row.expectedInterval.map(Self.refresh(forInterval:))
        }
    }

    /// The committed plan's devices, known from now on; those that reported a status are forgotten, so
    /// their next reading writes their row again (it may follow an `offline`).
    mutating func remember(_ plan: Plan, reported: Set<String> = []) {
        for (device, times) in plan.stale {
            guard let id = plan.ids[device] else { continue }
            let cached = known[device]
            let refresh = min(self.refresh, (plan.refresh[device] ?? nil) ?? self.refresh)
            known[device] = (id, min(cached?.first ?? .max, times.first), max(cached?.last ?? .min, times.last), max(cached?.heard ?? .min, times.heard), refresh)
        }
        for device in reported { known[device] = nil }
    }

    /// Upserts devices (first/last seen from reading times) in device order, so concurrent writers lock
    /// rows in the same order; returns their ids.
    static func upsert(_ seen: [String: Times], sensor: String, on connection: PGConnection) throws(PGError) -> [String: (id: Int32, expectedInterval: Int64?)] {
        let devices = seen.keys.sorted()
        // Device ids are 1-64 characters of A-Z a-z 0-9 . _ - (checked at the topic), so quoting is enough.
        let names = "{" + devices.map { "\"\($0)\"" }.joined(separator: ",") + "}"
        let firsts = SQLText.array(devices.map { seen[$0]!.first })
        let lasts = SQLText.array(devices.map { seen[$0]!.last })
        let heards = SQLText.array(devices.map { seen[$0]!.heard })
        let result = try connection.query("""
            INSERT INTO devices (sensor, device, first_seen, last_seen, last_heard, state_since)
            SELECT $1, d, \(SQLTime.timestamp("f")), \(SQLTime.timestamp("l")), \(SQLTime.timestamp("h")), \(SQLTime.timestamp("h"))
            FROM unnest($2::text[], $3::int8[], $4::int8[], $5::int8[]) AS u(d, f, l, h) ORDER BY d
            ON CONFLICT (sensor, device) DO UPDATE
            SET first_seen = LEAST(devices.first_seen, excluded.first_seen), last_seen = GREATEST(devices.last_seen, excluded.last_seen),
                last_heard = GREATEST(devices.last_heard, excluded.last_heard)
            RETURNING device, id, (extract(epoch FROM expected_interval) * 1000000)::int8
            """, [sensor, names, firsts, lasts, heards])
        var rows: [String: (id: Int32, expectedInterval: Int64?)] = [:]
        for row in result.rows {
            if let device = row[0], let id = row[1].flatMap({ Int32($0) }) { rows[device] = (id, row[2].flatMap { Int64($0) }) }
        }
        return rows
    }

    /// Locks the rows of `devices` there are, in device order (the order every writer locks them in).
    static func lockRows(_ devices: Set<String>, sensor: String) -> String {
        let names = "{" + devices.sorted().map { "\"\($0)\"" }.joined(separator: ",") + "}"
        return "SELECT 1 FROM devices WHERE sensor = \(SQLText.literal(sensor)) AND device = ANY('\(names)'::text[]) ORDER BY device FOR UPDATE"
    }

    /// Records what devices reported (the newest per device wins), in device order; devices of no row
    /// here (no reading of this sensor type yet) are left alone. Returns the statement, to ride along
    /// with the batch's others.
    static func reportStatus(_ reports: [StatusReport], sensor: String) -> String? {
        var newest: [String: StatusReport] = [:]
        for report in reports where report.at >= newest[report.device]?.at ?? .min {
            newest[report.device] = report
        }
        guard !newest.isEmpty else { return nil }
        let devices = newest.keys.sorted()
        let names = "{" + devices.map { "\"\($0)\"" }.joined(separator: ",") + "}"
        let said = "{" + devices.map { newest[$0]!.online ? "online" : "offline" }.joined(separator: ",") + "}"
        let times = SQLText.array(devices.map { newest[$0]!.at })
        return """
            WITH said AS (SELECT * FROM unnest('\(names)'::text[], '\(said)'::text[], '\(times)'::int8[]) AS u(device, said, at)),
            locked AS (
                SELECT d.id, s.said, s.at FROM devices d JOIN said s ON d.sensor = \(SQLText.literal(sensor)) AND d.device = s.device
                ORDER BY d.device FOR UPDATE OF d
            )
            UPDATE devices d SET reported = l.said, reported_at = \(SQLTime.timestamp("l.at"))
            FROM locked l WHERE d.id = l.id AND (d.reported_at IS NULL OR d.reported_at <= \(SQLTime.timestamp("l.at")))
            """
    }
}
