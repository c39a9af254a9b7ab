import Foundation
import Postgres
import SensorModel

/// The 1-hour rollup rows of whole UTC days, all devices, kept in memory by the query service so a
/// dashboard's week of hourly aggregates over 1,000 devices (168k rows) costs no database work.
///
/// Exact, not "fresh enough": writers NOTIFY `RollupChanges.channel` in every transaction that changes
/// rollups, a listener connection drops the days they name, and every lookup first makes a round trip on
/// that connection, so each notification of a commit that happened before the request has been handled.
/// Rows read while a change to their day was arriving are used once and not kept. Without a working
/// listener the cache answers nothing and queries read PostgreSQL.
public final class RollupCache: @unchecked Sendable {
    /// One day of one sensor type's 1-hour rollups, sorted by (device id, bucket). NaN for a field's
    /// sum/min/max where its count is 0.
    public struct Day: Sendable {
        public var deviceIDs: [Int32] = []
        public var buckets: [Int64] = []
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

        var bytes: Int { 64 + buckets.count * (12 + 32 * counts.count) }
    }

    private struct Key: Hashable {
        var sensor: String
        var day: Int64
    }

    private struct Entry {
        var day: Day
        var lastUse: UInt64
    }

    public let capacityBytes: Int
    private let url: String
    private let lock = NSLock()
    // Guarded by `lock`:
    private var listener: PGConnection?
    private var entries: [Key: Entry] = [:]
    private var usedBytes = 0
    private var useClock: UInt64 = 0
    /// Bumped per key when a change to it is heard, and for all keys (epoch) when the listener (re)connects.
    private var generations: [Key: UInt64] = [:]
    private var wildcardGenerations: [String: UInt64] = [:]
    private var epoch: UInt64 = 0
    private var started = false
    private var stopped = false
    private var counters = (hits: 0, misses: 0)

    /// - Parameter capacityBytes: memory for cached days; the least recently used go first.
    public init(url: String, capacityBytes: Int) {
        self.url = url
        self.capacityBytes = capacityBytes
    }

    /// Days served from memory and days read from PostgreSQL so far.
    public var statistics: (hits: Int, misses: Int) {
        lock.withLock { counters }
    }

    /// The 1-hour rollups of `sensor` for each day of `days`, oldest first: from memory where it holds
    /// them, else read with `connection` (and kept). Nil when the cache can't vouch for being current.
    public func hourRollups(sensor: SensorType, days: ClosedRange<Int64>, on connection: PGConnection) throws(PGError) -> [Day]? {
        startIfNeeded()
        var found: [Int64: Day] = [:]
        var missing: [Int64] = []
        let seen: (epoch: UInt64, generations: [Int64: UInt64], wildcard: UInt64)
        do {
            lock.lock()
            defer { lock.unlock() }
            guard syncLocked() else { return nil }
            useClock += 1
            var generationsSeen: [Int64: UInt64] = [:]
            for day in days {
                let key = Key(sensor: sensor.name, day: day)
                if var entry = entries[key] {
                    entry.lastUse = useClock
                    entries[key] = entry
                    found[day] = entry.day
                } else {
                    missing.append(day)
                    generationsSeen[day] = generations[key, default: 0]
                }
            }
            counters.hits += found.count
            counters.misses += missing.count
            seen = (epoch, generationsSeen, wildcardGenerations[sensor.name, default: 0])
        }
        var read: [Int64: Day] = [:]
        for day in missing {
            read[day] = try Self.readDay(sensor: sensor, day: day, on: connection)
        }
        if !read.isEmpty {
            lock.withLock {
                guard epoch == seen.epoch, wildcardGenerations[sensor.name, default: 0] == seen.wildcard else { return }
                for (day, rows) in read {
                    let key = Key(sensor: sensor.name, day: day)
                    guard generations[key, default: 0] == seen.generations[day], rows.bytes <= capacityBytes else { continue }
                    if let old = entries[key] { usedBytes -= old.day.bytes }
                    entries[key] = Entry(day: rows, lastUse: useClock)
                    usedBytes += rows.bytes
                }
                evictLocked()
            }
        }
        return days.map { found[$0] ?? read[$0]! }
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
            // Changes made while nobody listened are unknown: start empty.
            epoch += 1
            entries = [:]
            usedBytes = 0
            listener = connection
            return true
        } catch {
            return false
        }
    }

    private func dropListenerLocked() {
        listener = nil  // the listener thread may be polling it: it closes when the last reference goes
        epoch += 1
        entries = [:]
        usedBytes = 0
    }

    private func handleLocked(_ notifications: [PGNotification]) {
        for notification in notifications where notification.channel == RollupChanges.channel {
            guard let change = RollupChanges.parse(notification.payload) else {
                // Unreadable: forget everything rather than risk keeping a changed day.
                epoch += 1
                entries = [:]
                usedBytes = 0
                continue
            }
            guard let days = change.days else {
                wildcardGenerations[change.sensor, default: 0] += 1
                for key in entries.keys where key.sensor == change.sensor { removeLocked(key) }
                continue
            }
            // Clamp absurd ranges (a hand-written notification) to the days actually cached.
            if days.count > 10_000 {
                wildcardGenerations[change.sensor, default: 0] += 1
                for key in entries.keys where key.sensor == change.sensor && days.contains(key.day) { removeLocked(key) }
                continue
            }
            for day in days {
                let key = Key(sensor: change.sensor, day: day)
                generations[key, default: 0] += 1
                removeLocked(key)
            }
        }
    }

    private func removeLocked(_ key: Key) {
        if let entry = entries.removeValue(forKey: key) { usedBytes -= entry.day.bytes }
    }

    private func evictLocked() {
        while usedBytes > capacityBytes, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
            removeLocked(oldest)
        }
    }

    // MARK: - Reading a day

    static func readDay(sensor: SensorType, day: Int64, on connection: PGConnection) throws(PGError) -> Day {
        let tables = SensorTables(sensor)
        let columns = sensor.fields.map { field in
            ["count", "sum", "min", "max"].map { tables.column(field.name, $0) }.joined(separator: ", ")
        }.joined(separator: ", ")
        let sql = """
            SELECT device_id, bucket, \(columns) FROM \(tables.rollup(.hour))
            WHERE bucket >= \(ReadingQueries.timestamp("$1")) AND bucket < \(ReadingQueries.timestamp("$2"))
            ORDER BY device_id, bucket
            """
        let parameters = [String(day * Micros.perDay), String((day + 1) * Micros.perDay)]
        return try connection.withQuery(sql, parameters, binary: true) { (result) throws(PGError) -> Day in
            var rows = Day(fieldCount: sensor.fields.count)
            rows.deviceIDs.reserveCapacity(result.rowCount)
            rows.buckets.reserveCapacity(result.rowCount)
            for row in 0..<result.rowCount {
                guard let device = result.int64(row, 0), let bucket = result.unixMicros(row, 1) else {
                    throw PGError(sqlState: nil, message: "rollup row without device or bucket")
                }
                rows.deviceIDs.append(Int32(truncatingIfNeeded: device))
                rows.buckets.append(bucket)
                for field in sensor.fields.indices {
                    let base = 2 + field * 4
                    rows.counts[field].append(result.int64(row, base) ?? 0)
                    rows.sums[field].append(result.double(row, base + 1) ?? .nan)
                    rows.mins[field].append(result.double(row, base + 2) ?? .nan)
                    rows.maxs[field].append(result.double(row, base + 3) ?? .nan)
                }
            }
            return rows
        }
    }
}
