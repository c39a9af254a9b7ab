import Foundation
import Postgres
import SensorModel
import StorageCore
import StorageEvents

/// The 1-hour rollup rows of all devices, by hour bucket, kept in memory by the query service so a
/// dashboard's week of hourly aggregates over 1,000 devices (168k rows) costs no database work.
///
/// Exact, not "fresh enough": every transaction that changes an hour's rollups bumps that hour's
/// version (`RollupVersions`), in the same transaction. A lookup first reads the versions of the hours
/// it wants (one small query) and uses a kept hour only where its version is the one it was read at;
/// versions are read before the data, so a change committed in between makes the hour read again, never
/// kept stale. Live ingest therefore costs a re-read of the hours it writes (the current one), not of
/// the whole range, and no writer waits for the cache.
public final class RollupCache: @unchecked Sendable {
    /// One hour bucket of one sensor type's 1-hour rollups: a row per device that reported in it, in
    /// no particular order. NaN for a field's sum/min/max where its count is 0.
    public struct Hour: Sendable {
        public var deviceIDs: [Int32] = []
        public var counts: [[Int64]]
        public var sums: [[Double]]
        public var mins: [[Double]]
        public var maxs: [[Double]]

        init(fieldCount: Int) {
            counts = Array(repeating: [], count: fieldCount)
            sums = Array(repeating: [], count: fieldCount)
            mins = Array(repeating: [], count: fieldCount)
            maxs = Array(repeating: [], count: fieldCount)
        }

        var bytes: Int { 128 + deviceIDs.count * (4 + 32 * counts.count) }
    }

    private struct Key: Hashable {
        var sensor: String
        var hour: Int64
    }

    private struct Entry {
        var hour: Hour
        /// The hour's version when it was read (`RollupVersions.fingerprints`).
        var version: String
        var lastUse: UInt64
    }

    public let capacityBytes: Int
    /// Guards the state below; never held across a database round trip.
    private let state = NSLock()
    private var entries: [Key: Entry] = [:]
    private var usedBytes = 0
    private var useClock: UInt64 = 0
    private var counters = (hits: 0, misses: 0)

    /// - Parameter capacityBytes: memory for cached hours; the least recently used go first.
    public init(capacityBytes: Int) {
        self.capacityBytes = capacityBytes
    }

    /// Hours served from memory and hours read from PostgreSQL so far, and the memory the kept hours take.
    public var statistics: (hits: Int, misses: Int, bytes: Int) {
        state.withLock { (counters.hits, counters.misses, usedBytes) }
    }

    /// The 1-hour rollups of `sensor` for each hour of `hours` (hour numbers since the epoch), oldest
    /// first: from memory where the kept hour is current, else read with `connection` (and kept).
    public func hourRollups(sensor: SensorType, hours: ClosedRange<Int64>, on connection: PGConnection) throws(PGError) -> [Hour] {
        let versions = try RollupVersions.fingerprints(sensor: sensor.name, hours: hours, on: connection)
        var found: [Hour?] = []
        var missing: [ClosedRange<Int64>] = []
        state.withLock {
            useClock += 1
            found.reserveCapacity(hours.count)
            for hour in hours {
                let key = Key(sensor: sensor.name, hour: hour)
                if var entry = entries[key], entry.version == versions[hour] {
                    entry.lastUse = useClock
                    entries[key] = entry
                    found.append(entry.hour)
                } else {
                    found.append(nil)
                    if let last = missing.last, last.upperBound == hour - 1 {
                        missing[missing.count - 1] = last.lowerBound...hour
                    } else {
                        missing.append(hour...hour)
                    }
                }
            }
            let read = missing.reduce(0) { $0 + $1.count }
            counters.hits += hours.count - read
            counters.misses += read
        }
        guard !missing.isEmpty else { return found.map { $0! } }
        var read: [Int64: Hour] = [:]
        for run in missing {
            read.merge(try Self.readHours(sensor: sensor, hours: run, on: connection)) { first, _ in first }
        }
        state.withLock {
            for (hour, rows) in read where rows.bytes <= capacityBytes {
                let key = Key(sensor: sensor.name, hour: hour)
                if let old = entries[key] { usedBytes -= old.hour.bytes }
                entries[key] = Entry(hour: rows, version: versions[hour], lastUse: useClock)
                usedBytes += rows.bytes
            }
            evictLocked()
        }
        return zip(hours, found).map { hour, cached in cached ?? read[hour]! }
    }

    /// Reads `hours` of each sensor type into memory ahead of the first request (what a dashboard's
    /// first "last 7 days" asks for), with `connection`. Best effort: returns quietly when it can't.
    func warm(sensors: [SensorType], hours: ClosedRange<Int64>, on connection: PGConnection) {
        for sensor in sensors {
            guard (try? hourRollups(sensor: sensor, hours: hours, on: connection)) != nil else { return }
        }
    }

    private func removeLocked(_ key: Key) {
        if let entry = entries.removeValue(forKey: key) { usedBytes -= entry.hour.bytes }
    }

    private func evictLocked() {
        while usedBytes > capacityBytes, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
            removeLocked(oldest)
        }
    }

    // MARK: - Reading hours

    /// Every hour of `hours`, also those without rows (kept as empty, so they are not read again).
    static func readHours(sensor: SensorType, hours: ClosedRange<Int64>, on connection: PGConnection) throws(PGError) -> [Int64: Hour] {
        let tables = SensorTables(sensor)
        let columns = tables.rollupColumns(sensor.fields.map(\.name)).joined(separator: ", ")
        // No ORDER BY: the rows of an hour may come in any order, and sorting them cost PostgreSQL more than the scan.
        let sql = """
            SELECT device_id, bucket, \(columns) FROM \(tables.rollup(.hour))
            WHERE bucket >= \(SQLTime.timestamp("$1")) AND bucket < \(SQLTime.timestamp("$2"))
            """
        let parameters = [String(hours.lowerBound * Micros.perHour), String((hours.upperBound + 1) * Micros.perHour)]
        return try connection.withQuery(sql, parameters, binary: true) { (result) throws(PGError) -> [Int64: Hour] in
            var rows = [Hour](repeating: Hour(fieldCount: sensor.fields.count), count: hours.count)
            for row in 0..<result.rowCount {
                guard let device = result.int64(row, 0), let bucket = result.unixMicros(row, 1) else {
                    throw PGError(sqlState: nil, message: "rollup row without device or bucket")
                }
                let at = Int(Micros.hour(of: bucket) - hours.lowerBound)
                guard rows.indices.contains(at) else { continue }
                rows[at].deviceIDs.append(Int32(truncatingIfNeeded: device))
                for field in sensor.fields.indices {
                    let base = 2 + field * 4
                    rows[at].counts[field].append(result.int64(row, base) ?? 0)
                    rows[at].sums[field].append(result.double(row, base + 1) ?? .nan)
                    rows[at].mins[field].append(result.double(row, base + 2) ?? .nan)
                    rows[at].maxs[field].append(result.double(row, base + 3) ?? .nan)
                }
            }
            var byHour: [Int64: Hour] = [:]
            for (index, hour) in hours.enumerated() { byHour[hour] = rows[index] }
            return byHour
        }
    }
}

// The services' entry point: the same work on a `StoreConnection`.
extension RollupCache {
    /// Reads the last `days` whole days (and the current hour) of every sensor type's 1-hour rollups
    /// into memory, so the first dashboard request is served like the next ones.
    public func warm(sensors: [SensorType], days: Int, now: Int64, on connection: StoreConnection) {
        let last = Micros.hour(of: now)
        warm(sensors: sensors, hours: (last - Int64(days) * 24)...last, on: connection.pg)
    }
}
