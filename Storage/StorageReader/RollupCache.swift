import Foundation
import Postgres
import SensorModel
import ServiceLifecycle
import StorageCore
import StorageEvents

/// The 1-hour rollup rows of all devices, by hour bucket, kept in memory by the query service so a
/// dashboard's week of hourly aggregates over 1,000 devices (168k rows) costs no database work.
///
/// Exact, not "fresh enough": writers NOTIFY `RollupChanges.channel` in every transaction that changes
/// rollups, a listener connection drops the hours they name, and every lookup first makes a round trip
/// on that connection, so each notification of a commit that happened before the request has been
/// handled. Hours read while a change to them was arriving are used once and not kept. Live ingest
/// therefore costs a re-read of the hours it writes (the current one), not of the whole range. Without
/// a working listener the cache answers nothing and queries read PostgreSQL.
public final class RollupCache: Service, @unchecked Sendable {
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
    /// Guards the state below; never held across a database round trip.
    private let state = NSCondition()
    private var entries: [Key: Entry] = [:]
    private var usedBytes = 0
    private var useClock: UInt64 = 0
    private var fills: [Fill] = []
    /// Bumped when the listener (re)connects: changes may have gone unheard, so nothing read before is kept.
    private var epoch: UInt64 = 0
    private var started = false
    /// A lookup came: the listener connects only then, so a query service nobody asks holds no connection for it.
    private var wanted = false
    private var stopped = false
    private var listening = false
    private var connectFailed = false
    /// Sync tickets: a lookup takes the next number and waits until a round trip that began after it
    /// (`synced`) or a failure (`failed`) covers it. Concurrent lookups share one round trip.
    private var requested: UInt64 = 0
    private var synced: UInt64 = 0
    private var failed: UInt64 = 0
    /// When the oldest ticket not yet synced was taken: a listener that has not answered for
    /// `stallLimit` is treated as down, so lookups read PostgreSQL at once instead of queueing behind it.
    private var unansweredSince: Date?
    static let stallLimit: TimeInterval = 1
    private var counters = (hits: 0, misses: 0)
    /// Written by lookups to wake the listener thread from its wait on the connection.
    private let wake: (read: Int32, write: Int32)

    /// - Parameter capacityBytes: memory for cached hours; the least recently used go first.
    public init(url: String, capacityBytes: Int) {
        self.url = url
        self.capacityBytes = capacityBytes
        var descriptors: [Int32] = [-1, -1]
        if pipe(&descriptors) == 0 {
            for descriptor in descriptors {
                _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
                _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)  // not inherited by child processes
            }
        }
        wake = (descriptors[0], descriptors[1])
    }

    deinit {
        close(wake.read)
        close(wake.write)
    }

    /// Hours served from memory and hours read from PostgreSQL so far, and the memory the kept hours take.
    public var statistics: (hits: Int, misses: Int, bytes: Int) {
        state.withLock { (counters.hits, counters.misses, usedBytes) }
    }

    /// The 1-hour rollups of `sensor` for each hour of `hours` (hour numbers since the epoch), oldest
    /// first: from memory where it holds them, else read with `connection` (and kept). Nil when the
    /// cache can't vouch for being current.
    public func hourRollups(sensor: SensorType, hours: ClosedRange<Int64>, on connection: PGConnection) throws(PGError) -> [Hour]? {
        guard sync() else { return nil }
        var found: [Hour?] = []
        var missing: [ClosedRange<Int64>] = []
        let fill: Fill?
        let epochSeen: UInt64
        do {
            state.lock()
            defer { state.unlock() }
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
            state.withLock { fills.removeAll { $0 === fill } }
            throw error
        }
        state.withLock {
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

    /// Reads `hours` of each sensor type into memory ahead of the first request (what a dashboard's
    /// first "last 7 days" asks for), with `connection`. Best effort: returns quietly when it can't.
    func warm(sensors: [SensorType], hours: ClosedRange<Int64>, on connection: PGConnection) {
        for sensor in sensors {
            guard (try? hourRollups(sensor: sensor, hours: hours, on: connection)) != nil else { return }
        }
    }

    /// Stops the listener thread.
    public func stop() {
        state.withLock {
            stopped = true
            entries = [:]
            usedBytes = 0
            state.broadcast()
        }
        poke()
    }

    // MARK: - The listener

    /// Runs the listener until a graceful shutdown (or cancellation); lookups wait a moment for it to
    /// listen, then answer nil (the caller reads PostgreSQL).
    public func run() async throws {
        start()
        try? await gracefulShutdown()
        stop()
    }

    private func start() {
        let start: Bool = state.withLock {
            if started || stopped { return false }
            started = true
            return true
        }
        guard start else { return }
        let thread = Thread { [weak self] in
            // Owns the listening connection: nobody else touches it.
            var connection: PGConnection?
            while let cache = self, cache.listenOnce(&connection) {}
        }
        thread.name = "rollup-cache-listener"
        thread.start()
    }

    /// Waits until every notification of a commit that happened before this call is handled: the
    /// listener thread makes a round trip that began after the request (the server sends pending
    /// notifications before its answer). False when the listener is down or too slow to answer.
    private func sync() -> Bool {
        state.lock()
        defer { state.unlock() }
        if !wanted {
            wanted = true
            state.broadcast()
        }
        // The listener is connecting (just started, or the database came back): give it a moment
        // rather than answer from PostgreSQL; not while its last attempt failed.
        let connectDeadline = Date().addingTimeInterval(2)
        while !listening && !connectFailed && !stopped {
            guard state.wait(until: connectDeadline) else { break }
        }
        guard listening, !stopped else { return false }
        if let since = unansweredSince, Date().timeIntervalSince(since) > Self.stallLimit { return false }
        requested += 1
        let ticket = requested
        let since = unansweredSince ?? Date()
        unansweredSince = since
        poke()
        let deadline = since.addingTimeInterval(Self.stallLimit)
        while synced < ticket && failed < ticket && !stopped {
            guard state.wait(until: deadline) else { return false }
        }
        return synced >= ticket
    }

    /// A lookup is waiting for the listener's round trip (for tests).
    package var isWaitingOnListener: Bool { state.withLock { requested > synced && requested > failed } }

    private func poke() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    private func drainWake() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(wake.read, &buffer, buffer.count) > 0 {}
    }

    /// One turn of the listener thread: connect if needed, answer sync requests with a round trip, or
    /// wait a little for notifications. Returns false when the cache has been stopped.
    private func listenOnce(_ connection: inout PGConnection?) -> Bool {
        let stop: Bool = state.withLock {
            while connection == nil && !wanted && !stopped { state.wait() }
            return stopped
        }
        if stop { return false }
        guard let current = connection ?? connect() else {
            state.withLock {
                connectFailed = true
                failed = requested
                unansweredSince = nil
                state.broadcast()
            }
            Thread.sleep(forTimeInterval: 0.5)  // database away: try again soon (queries go to PostgreSQL)
            return true
        }
        connection = current
        let target: UInt64 = state.withLock { requested }
        do {
            if target > state.withLock({ synced }) {
                _ = try current.execute("SELECT 1")
                let notifications = try current.notifications()
                state.withLock {
                    handleLocked(notifications)
                    synced = target
                    // Tickets taken during this round trip wait for the next one, from now.
                    unansweredSince = requested > synced ? Date() : nil
                    state.broadcast()
                }
            } else {
                let notifications = try current.nextNotifications(timeout: 0.5, orReadable: wake.read)
                drainWake()
                if !notifications.isEmpty { state.withLock { handleLocked(notifications) } }
            }
        } catch {
            connection = nil
            state.withLock {
                listening = false
                forgetAllLocked()
                failed = requested
                unansweredSince = nil
                state.broadcast()
            }
        }
        return true
    }

    /// A new listening connection; everything kept before is forgotten (changes made while nobody
    /// listened are unknown).
    private func connect() -> PGConnection? {
        do {
            let connection = try PGConnection(url: url, connectTimeoutSeconds: 2)
            _ = try connection.execute("LISTEN \(RollupChanges.channel)")
            state.withLock {
                forgetAllLocked()
                listening = true
                connectFailed = false
                state.broadcast()
            }
            return connection
        } catch {
            return nil
        }
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
