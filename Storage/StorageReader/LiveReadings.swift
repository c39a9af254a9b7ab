import Foundation
import Postgres
import SensorModel
import ServiceLifecycle
import StorageCore
import StorageEvents

/// Live readings for the query service's streams: one listener thread per database owns one connection,
/// LISTENs to `ReadingChanges.channel`, and for each notification that names a device somebody watches,
/// reads that device's readings newer than the last one sent, on the same connection, and hands them to
/// the subscribers. Writers notify after their commits (`ReadingChanges`), outside the transaction, so a
/// writer that dies between the two leaves a notification unsent: once per `catchUpInterval` the thread
/// also reads what the watched devices have newer than their cursors, one query per sensor type watched.
///
/// Each subscriber has a bounded buffer (`capacity` events): a client that does not keep up is dropped
/// (its stream ends; the dashboard reconnects) instead of growing it. A subscriber that goes away ends
/// its stream, which removes it. Streams cost no database connection each: one per database in all.
public final class LiveReadings: Service, @unchecked Sendable {
    public enum Event: Sendable, Equatable {
        case reading(StoredReading)
        /// The device's state changed (read from `DeviceStateChanges` at each catch-up).
        case state(DeviceStateChanges.Change)
        /// Every `heartbeat` seconds, so a vanished client is noticed at the next write.
        case heartbeat
    }

    private struct Key: Hashable {
        var sensor: String
        var deviceID: Int32
    }

    private struct Watch {
        /// The newest reading time sent for this device (readings at or before it are not sent again).
        var cursor: Int64
        var subscribers: [UInt64: AsyncStream<Event>.Continuation] = [:]
    }

    public let capacity: Int
    public let heartbeat: TimeInterval
    /// The longest a committed reading waits for a watching stream when its notification was lost.
    public let catchUpInterval: TimeInterval
    private let url: String
    private let sensors: [String: SensorType]
    /// Guards the state below; never held across a database round trip or a yield.
    private let lock = NSLock()
    private var watches: [Key: Watch] = [:]
    private var keysByID: [UInt64: Key] = [:]
    private var nextID: UInt64 = 0
    private var started = false
    private var stopped = false
    private var dropped = 0
    private var listening = false
    /// The last state change read (listener thread only); nil until the first connect, which starts at the
    /// newest (a reconnect goes on from where it was: changes logged meanwhile are sent).
    private var stateCursor: Int64?

    public init(url: String, sensors: [SensorType], capacity: Int = 256, heartbeat: TimeInterval = 15, catchUpInterval: TimeInterval = 1) {
        self.url = url
        self.sensors = Dictionary(uniqueKeysWithValues: sensors.map { ($0.name, $0) })
        self.capacity = capacity
        self.heartbeat = heartbeat
        self.catchUpInterval = catchUpInterval
    }

    /// The listener is connected and has caught up the streams open when it connected.
    public var isListening: Bool { lock.withLock { listening } }

    /// Streams currently open, and clients dropped so far for not keeping up.
    public var statistics: (subscribers: Int, dropped: Int) { lock.withLock { (keysByID.count, dropped) } }

    /// Readings of `deviceID` stored after `cursor` (µs), from now on. End the returned stream (stop
    /// iterating, or call `unsubscribe`) when the client goes.
    public func subscribe(sensor: String, deviceID: Int32, after cursor: Int64) -> (id: UInt64, events: AsyncStream<Event>) {
        let (events, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(capacity))
        let key = Key(sensor: sensor, deviceID: deviceID)
        let id: UInt64 = lock.withLock {
            nextID += 1
            var watch = watches[key] ?? Watch(cursor: cursor)
            watch.subscribers[nextID] = continuation
            watches[key] = watch
            keysByID[nextID] = key
            return nextID
        }
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        return (id, events)
    }

    public func unsubscribe(_ id: UInt64) {
        let continuation: AsyncStream<Event>.Continuation? = lock.withLock {
            guard let key = keysByID.removeValue(forKey: id) else { return nil }
            let continuation = watches[key]?.subscribers.removeValue(forKey: id)
            if watches[key]?.subscribers.isEmpty == true { watches[key] = nil }
            return continuation
        }
        continuation?.finish()
    }

    /// Ends every stream and the listener thread.
    public func stop() {
        let all: [AsyncStream<Event>.Continuation] = lock.withLock {
            stopped = true
            let all = watches.values.flatMap { $0.subscribers.values }
            watches = [:]
            keysByID = [:]
            return all
        }
        for continuation in all { continuation.finish() }
    }

    // MARK: - The listener thread

    /// Runs the listener until a graceful shutdown (or cancellation), then ends every stream. Streams
    /// opened before it runs get their readings once it does.
    public func run() async throws {
        let start: Bool = lock.withLock {
            defer { started = true }
            return !started && !stopped
        }
        if start { startListener() }
        try? await gracefulShutdown()
        stop()
    }

    private func startListener() {
        let thread = Thread { [weak self] in
            var connection: PGConnection?
            var lastBeat = Date(), lastCatchUp = Date()
            while let hub = self, hub.listenOnce(&connection, lastBeat: &lastBeat, lastCatchUp: &lastCatchUp) {}
        }
        thread.name = "live-readings-listener"
        thread.start()
    }

    /// One turn: connect (and catch up) if needed, wait up to a second for notifications, deliver, and
    /// catch up when `catchUpInterval` has passed.
    private func listenOnce(_ connection: inout PGConnection?, lastBeat: inout Date, lastCatchUp: inout Date) -> Bool {
        if lock.withLock({ stopped }) { return false }
        if Date().timeIntervalSince(lastBeat) >= heartbeat {
            lastBeat = Date()
            var targets: [(UInt64, AsyncStream<Event>.Continuation, [Event])] = []
            lock.withLock {
                for watch in watches.values {
                    for (id, continuation) in watch.subscribers { targets.append((id, continuation, [.heartbeat])) }
                }
            }
            deliver(targets)
        }
        do {
            if connection == nil {
                // Connect for the first stream: a query service nobody watches holds no connection for it.
                if lock.withLock({ watches.isEmpty }) {
                    Thread.sleep(forTimeInterval: 0.1)
                    return true
                }
                guard let fresh = try? PGConnection(url: url, connectTimeoutSeconds: 2) else {
                    Thread.sleep(forTimeInterval: 0.5)  // database away: try again soon
                    return true
                }
                _ = try fresh.execute("LISTEN \(ReadingChanges.channel)")
                let newest = try DeviceStateChanges.last(on: fresh)
                if stateCursor == nil || stateCursor! > newest { stateCursor = newest }
                connection = fresh
                // Notifications sent while nobody listened are lost: read what every watched device missed.
                try catchUp(on: fresh)
                lastCatchUp = Date()
                lock.withLock { listening = true }
            }
            guard let current = connection else { return true }
            // Notifications that came while the last fetch's queries ran count, not only ones still on the socket.
            let wait = max(0.01, min(1, catchUpInterval - Date().timeIntervalSince(lastCatchUp)))
            for notification in try current.nextNotifications(timeout: wait) where notification.channel == ReadingChanges.channel {
                guard let change = ReadingChanges.parse(notification.payload) else { continue }
                try fetch(change, on: current)
            }
            if Date().timeIntervalSince(lastCatchUp) >= catchUpInterval {
                try catchUp(on: current)
                lastCatchUp = Date()
            }
        } catch {
            connection = nil
            lock.withLock { listening = false }
        }
        return true
    }

    /// Reads what every watched device has newer than its cursor, and the state changes since the last.
    private func catchUp(on connection: PGConnection) throws(PGError) {
        for sensor in Set(lock.withLock { watches.keys.map(\.sensor) }) {
            try fetch(ReadingChanges.Change(sensor: sensor, last: .max, deviceIDs: nil), on: connection)
        }
        while true {
            let changes = try DeviceStateChanges.after(stateCursor ?? 0, on: connection)
            guard let last = changes.last else { return }
            stateCursor = last.id
            let targets: [(UInt64, AsyncStream<Event>.Continuation, [Event])] = lock.withLock {
                changes.flatMap { change in
                    (watches[Key(sensor: change.sensor, deviceID: change.deviceID)]?.subscribers ?? [:]).map { ($0.key, $0.value, [Event.state(change)]) }
                }
            }
            deliver(targets)
        }
    }

    /// Rows one round of `fetch` reads at most (beside a floor per device, below).
    static let roundRows = 10_000
    static let minimumRowsPerDevice = 100

    /// Reads and sends the readings `change` may have brought to watched devices. Each device is read from
    /// its own cursor with a share of the round's rows, and rounds repeat for the devices that filled their
    /// share: one device's backlog neither hides the others' readings nor waits for the next notification.
    private func fetch(_ change: ReadingChanges.Change, on connection: PGConnection) throws(PGError) {
        guard let sensor = sensors[change.sensor] else { return }
        var named = change.deviceIDs.map(Set.init)
        while true {
            let cursors: [Int32: Int64] = lock.withLock {
                var cursors: [Int32: Int64] = [:]
                for (key, watch) in watches where key.sensor == change.sensor && named?.contains(key.deviceID) != false {
                    cursors[key.deviceID] = watch.cursor
                }
                return cursors
            }
            guard !cursors.isEmpty else { return }
            let share = max(Self.minimumRowsPerDevice, Self.roundRows / cursors.count)
            let rows = try ReadingQueries(sensor: sensor).readings(after: cursors, through: change.last, limit: share, on: connection)
            var byDevice: [Int32: [StoredReading]] = [:]
            for (deviceID, reading) in rows { byDevice[deviceID, default: []].append(reading) }
            deliver(advance(change.sensor, byDevice))
            let more = byDevice.filter { $0.value.count == share }.keys
            guard !more.isEmpty else { return }
            named = Set(more)
        }
    }

    /// Moves the watches' cursors past `byDevice`'s readings; returns what goes to whom.
    private func advance(_ sensor: String, _ byDevice: [Int32: [StoredReading]]) -> [(UInt64, AsyncStream<Event>.Continuation, [Event])] {
        lock.withLock {
            var targets: [(UInt64, AsyncStream<Event>.Continuation, [Event])] = []
            for (deviceID, readings) in byDevice {
                let key = Key(sensor: sensor, deviceID: deviceID)
                guard var watch = watches[key] else { continue }
                let fresh = readings.filter { $0.time > watch.cursor }
                guard let newest = fresh.last?.time else { continue }
                watch.cursor = newest
                watches[key] = watch
                for (id, continuation) in watch.subscribers { targets.append((id, continuation, fresh.map(Event.reading))) }
            }
            return targets
        }
    }

    /// Yields outside the lock; a subscriber whose buffer is full is dropped.
    private func deliver(_ targets: [(UInt64, AsyncStream<Event>.Continuation, [Event])]) {
        for (id, continuation, events) in targets {
            for event in events {
                if case .dropped = continuation.yield(event) {
                    lock.withLock { dropped += 1 }
                    unsubscribe(id)
                    break
                }
            }
        }
    }
}

extension ReadingQueries {
    /// Per device, its readings with time in `(cursor, through]`, oldest first, at most `limit` of each.
    func readings(after cursors: [Int32: Int64], through: Int64, limit: Int, on connection: PGConnection) throws(PGError) -> [(Int32, StoredReading)] {
        let ids = Array(cursors.keys)
        let columns = (["r.device_id", "\(Self.micros("r.time"))", "r.seq"] + tables.fieldColumns.map { "r.\($0)" }).joined(separator: ", ")
        let result = try connection.query("""
            SELECT \(columns) FROM unnest($1::int4[], $2::int8[]) AS w(id, after)
            CROSS JOIN LATERAL (
                SELECT * FROM \(tables.readings)
                WHERE device_id = w.id AND time > \(Self.timestamp("w.after")) AND time <= \(Self.timestamp("$3"))
                ORDER BY time LIMIT $4
            ) r
            ORDER BY r.device_id, r.time
            """, [
                SQLText.array(ids), SQLText.array(ids.map { cursors[$0]! }),
                String(min(through, 253_402_300_799_999_999)), String(limit),
            ])
        return result.rows.map { row in (Int32(row[0]!)!, Self.reading(Array(row[1...]))) }
    }
}
