import Postgres
import SensorModel
import StorageCore
import StorageEvents

/// Device ids of one writer. A device's row is written when it is new, when a batch moves its first
/// seen earlier, or when its last seen advances by more than `refresh`: rewriting every device's row on
/// every batch cost PostgreSQL about one row update per two messages of 1-sample frames.
struct DeviceRegistry {
    /// `last_seen` is kept to within this much (microseconds).
    static let refresh: Int64 = 30_000_000
    private var known: [String: (id: Int32, first: Int64, last: Int64)] = [:]

    /// A batch's devices: the ids known, and the devices whose row the batch's transaction must write.
    struct Plan {
        var ids: [String: Int32] = [:]
        var stale: [String: (first: Int64, last: Int64)] = [:]
    }

    /// What the batch needs, without a round trip when every device is known and its row current enough.
    func plan(spans: [DeviceSpan], readings: ReadingBatch) -> Plan {
        var seen: [String: (first: Int64, last: Int64)] = [:]
        for span in spans {
            var first = Int64.max, last = Int64.min
            for row in span.rows {
                first = min(first, readings.times[row])
                last = max(last, readings.times[row])
            }
            if let other = seen[span.device] {
                seen[span.device] = (min(other.first, first), max(other.last, last))
            } else {
                seen[span.device] = (first, last)
            }
        }
        var plan = Plan()
        for (device, times) in seen {
            if let cached = known[device], times.first >= cached.first, times.last <= cached.last + Self.refresh {
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
        for (device, id) in try Self.upsert(plan.stale, sensor: sensor, on: connection) { plan.ids[device] = id }
    }

    /// The committed plan's devices, known from now on.
    mutating func remember(_ plan: Plan) {
        for (device, times) in plan.stale {
            guard let id = plan.ids[device] else { continue }
            let cached = known[device]
            known[device] = (id, min(cached?.first ?? .max, times.first), max(cached?.last ?? .min, times.last))
        }
    }

    /// Upserts devices (first/last seen from reading times) in device order, so concurrent writers lock
    /// rows in the same order; returns their ids.
    static func upsert(_ seen: [String: (first: Int64, last: Int64)], sensor: String, on connection: PGConnection) throws(PGError) -> [String: Int32] {
        let devices = seen.keys.sorted()
        // Device ids are 1-64 characters of A-Z a-z 0-9 . _ - (checked at the topic), so quoting is enough.
        let names = "{" + devices.map { "\"\($0)\"" }.joined(separator: ",") + "}"
        let firsts = SQLText.array(devices.map { seen[$0]!.first })
        let lasts = SQLText.array(devices.map { seen[$0]!.last })
        let result = try connection.query("""
            INSERT INTO devices (sensor, device, first_seen, last_seen)
            SELECT $1, d, timestamptz 'epoch' + f * interval '1 microsecond', timestamptz 'epoch' + l * interval '1 microsecond'
            FROM unnest($2::text[], $3::int8[], $4::int8[]) AS u(d, f, l) ORDER BY d
            ON CONFLICT (sensor, device) DO UPDATE
            SET first_seen = LEAST(devices.first_seen, excluded.first_seen), last_seen = GREATEST(devices.last_seen, excluded.last_seen)
            RETURNING device, id
            """, [sensor, names, firsts, lasts])
        var ids: [String: Int32] = [:]
        for row in result.rows {
            if let device = row[0], let id = row[1].flatMap({ Int32($0) }) { ids[device] = id }
        }
        return ids
    }
}
