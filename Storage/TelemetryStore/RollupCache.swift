import Foundation
import Postgres
import SensorModel

/// The 1-hour rollup rows of all devices, by hour bucket, kept in memory by the query service so a
/// dashboard's week of hourly aggregates over 1,000 devices (168k rows) costs no database work.
///
/// Exact, not "fresh enough": writers NOTIFY `RollupChanges.channel` in every transaction that changes
/// rollups, a listener connection drops the hours they name, and every lookup first makes a round trip
/// on that connection, so each notification of a commit that happened before the request has been
/// handled. Hours read while a change to them was arriving are used once and not kept. Live ingest
/// therefore costs a re-read of the hours it writes (the current one), not of the whole range. Without
/// a working listener the cache answers nothing and queries read PostgreSQL.
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
        var lastUse: UInt64
    }

    /// A read from PostgreSQL in flight: changes to its hours heard meanwhile spoil those hours for keeping.
    private final class Fill {
        let sensor: String
        let hours: ClosedRange<Int64>
        var spoiled: [ClosedRange<Int64>] = []

        init(sensor: String, hours: ClosedRange<Int64>) {
            self.sensor = sensor
            self.hours = hours
        }

        func keeps(_ hour: Int64) -> Bool { !spoiled.contains { $0.contains(hour) } }
    }

    public let capacityBytes: Int
    private let url: String
    private let lock = NSLock()
    // Guarded by `lock`:
    private var listener: PGConnection?
    private var entries: [Key: Entry] = [:]
    private var usedBytes = 0
    private var useClock: UInt64 = 0
    private var fills: [Fill] = []
    /// Bumped when the listener (re)connects: changes may have gone unheard, so nothing read before is kept.
    private var epoch: UInt64 = 0
    private var started = false
    private var stopped = false
    private var counters = (hits: 0, misses: 0)

    /// - Parameter capacityBytes: memory for cached hours; the least recently used go first.
    public init(url: String, capacityBytes: Int) {
        self.url = url
        self.capacityBytes = capacityBytes
    }

    /// Hours served from memory and hours read from PostgreSQL so far, and the memory the kept hours take.
    public var statistics: (hits: Int, misses: Int, bytes: Int) {
        lock.withLock { (counters.hits, counters.misses, usedBytes) }
    }

    /// The 1-hour rollups of `sensor` for each hour of `hours` (hour numbers since the epoch), oldest
    /// first: from memory where it holds them, else read with `connection` (and kept). Nil when the
    /// cache can't vouch for being current.
    public func hourRollups(sensor: SensorType, hours: ClosedRange<Int64>, on connection: PGConnection) throws(PGError) -> [Hour]? {
        startIfNeeded()
        var found: [Hour?] = []
        var missing: [ClosedRange<Int64>] = []
        let fill: Fill?
        let epochSeen: UInt64
        do {
            lock.lock()
            defer { lock.unlock() }
            guard syncLocked() else { return nil }
            useClock += 1
            found.reserveCapacity(hours.count)
            for hour in hours {
                let key = Key(sensor: sensor.name, hour: hour)
                if var entry = entries[key] {
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
            epochSeen = epoch
            fill = missing.isEmpty ? nil : Fill(sensor: sensor.name, hours: missing.first!.lowerBound...missing.last!.upperBound)
            if let fill { fills.append(fill) }
        }
        guard let fill else { return found.map { $0! } }
        var read: [Int64: Hour] = [:]
        do {
            for run in missing {
                read.merge(try Self.readHours(sensor: sensor, hours: run, on: connection)) { first, _ in first }
            }
        } catch {
            lock.withLock { fills.removeAll { $0 === fill } }
            throw error
        }
        lock.withLock {
            fills.removeAll { $0 === fill }
            guard epoch == epochSeen else { return }
            for (hour, rows) in read where fill.keeps(hour) && rows.bytes <= capacityBytes {
                let key = Key(sensor: sensor.name, hour: hour)
                if let old = entries[key] { usedBytes -= old.hour.bytes }
                entries[key] = Entry(hour: rows, lastUse: useClock)
                usedBytes += rows.bytes
            }
            evictLocked()
        }
        return zip(hours, found).map { hour, cached in cached ?? read[hour]! }
    }

    /// Stops the listener thread (it also stops by itself once the cache is gone).
    public func stop() {
        lock.withLock {
            stopped = true
            listener = nil  // closed when the listener thread lets go of it too
            entries = [:]
        }
    }

    // MARK: - The listener

    private func startIfNeeded() {
        let start: Bool = lock.withLock {
            if started || stopped { return false }
            started = true
            return true
        }
        guard start else { return }
        let thread = Thread { [weak self] in
            while let cache = self, cache.listenOnce() {}
        }
        thread.name = "rollup-cache-listener"
        thread.start()
        // Answer from the first request on when the database is there (else queries go to PostgreSQL).
        _ = lock.withLock { connectLocked() }
    }

    /// One turn of the listener thread: connect if needed, wait a little for input, handle it. Returns
    /// false when the cache has been stopped.
    private func listenOnce() -> Bool {
        let current: PGConnection? = lock.withLock {
            if stopped { return nil }
            if listener == nil { _ = connectLocked() }
            return listener
        }
        guard let current else {
            if lock.withLock({ stopped }) { return false }
            Thread.sleep(forTimeInterval: 0.5)  // database away: try again soon
            return true
        }
        _ = try? current.waitForInput(timeout: 0.5)
        lock.withLock {
            guard listener === current else { return }
            do {
                handleLocked(try current.notifications())
            } catch {
                dropListenerLocked()
            }
        }
        return !lock.withLock { stopped }
    }

    /// Makes sure every notification of a commit that happened before this call is handled: a round
    /// trip on the listening connection (the server sends pending notifications before its answer).
    private func syncLocked() -> Bool {
        if listener == nil { guard connectLocked() else { return false } }
        guard let listener else { return false }
        do {
            _ = try listener.execute("SELECT 1")
            handleLocked(try listener.notifications())
            return true
        } catch {
            dropListenerLocked()
            return false
        }
    }

    private func connectLocked() -> Bool {
        guard !stopped else { return false }
        if listener != nil { return true }
        do {
            let connection = try PGConnection(url: url, connectTimeoutSeconds: 2)
            _ = try connection.execute("LISTEN \(RollupChanges.channel)")
            forgetAllLocked()  // changes made while nobody listened are unknown
            listener = connection
            return true
        } catch {
            return false
        }
    }

    private func dropListenerLocked() {
        listener = nil  // the listener thread may be polling it: it closes when the last reference goes
        forgetAllLocked()
    }

    private func handleLocked(_ notifications: [PGNotification]) {
        for notification in notifications where notification.channel == RollupChanges.channel {
            guard let change = RollupChanges.parse(notification.payload) else {
                // Unreadable: forget everything rather than risk keeping a changed hour.
                forgetAllLocked()
                continue
            }
            let hours = change.hours ?? Int64.min...Int64.max
            for fill in fills where fill.sensor == change.sensor && fill.hours.overlaps(hours) {
                fill.spoiled.append(hours)
            }
            if hours.upperBound &- hours.lowerBound >= 0, hours.upperBound - hours.lowerBound < Int64(entries.count) {
                for hour in hours { removeLocked(Key(sensor: change.sensor, hour: hour)) }
            } else {
                for key in entries.keys where key.sensor == change.sensor && hours.contains(key.hour) { removeLocked(key) }
            }
        }
    }

    private func forgetAllLocked() {
        epoch += 1
        entries = [:]
        usedBytes = 0
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
            WHERE bucket >= \(ReadingQueries.timestamp("$1")) AND bucket < \(ReadingQueries.timestamp("$2"))
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
