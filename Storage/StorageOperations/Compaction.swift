import Foundation
import Postgres
import SensorModel
import StorageCore

/// Compaction of closed hours (docs/storage.md, "Compaction"): readings older than `after` move, per
/// device and UTC hour, from the readings table into one `CompactedBlock` row. Each (hour, device group)
/// is one transaction that deletes the heap rows and writes their blocks, so a reading is in exactly one
/// of the two whatever happens to the process. Resumable (`compaction_horizons.done`), idempotent (a
/// chunk without heap rows does nothing), one compactor per sensor type at a time (a session advisory
/// lock: replicas skip), and writers are never held longer than the moment the horizon moves.
public enum Compaction {
    public struct Outcome: Sendable, Equatable {
        public var sensor: String
        /// (hour, device group) transactions that moved readings.
        public var chunks = 0
        /// Blocks written (new, or rewritten with late readings).
        public var blocks = 0
        public var readings = 0
        /// The heap rows' size (tuples as PostgreSQL stores them) and the blocks' (encoded columns and their
        /// fixed part): what compaction saves, before indexes.
        public var bytesBefore = 0
        public var bytesAfter = 0
        /// Readings partitions dropped because compaction emptied them.
        public var droppedPartitions: [String] = []
        /// Another process was compacting this sensor type.
        public var skipped = false
        /// Chunks left in the heap because their hour's block does not decode (SQLSTATE XX001): their
        /// readings stay readable there, and the hour is tried again at every pass until the block is mended.
        public var damaged: [String] = []
        /// Device hours left in the heap because they hold more than `maximumBlockReadings` readings.
        public var keptInHeap: [String] = []
        /// The longest transaction that moved readings: the most a writer storing a late reading of that
        /// chunk waited for it (the sensor type's other readings wait behind that writer's batch).
        public var longestTransaction: Duration = .zero

        public init(sensor: String) { self.sensor = sensor }
    }

    /// A device's hour with more readings than this stays heap rows (still read, never compacted): a block is
    /// decoded whole, and a transaction's readings are held in memory while its blocks are written. One
    /// reading every 3.4 ms for the hour; far below what a column may hold (`maximumColumnCount`).
    public static let maximumBlockReadings = 1 << 20

    /// Readings one transaction moves at most, but for a device hour that alone holds more (up to
    /// `maximumBlockReadings`): a writer storing a late reading of the chunk waits for its transaction, so
    /// this bounds that wait (about a tenth of a second here) for every device below 18 readings a second.
    public static let transactionReadings = 1 << 16

    /// Compacts every hour that ended at least `after` before `now` (µs), and the hours late readings
    /// reopened. `pause`: after each chunk that moved readings, rest this many times as long as it took
    /// (1: work half the time), so that a running platform's ingestion keeps its pace.
    /// `blockLimit`, `transactionLimit`: `maximumBlockReadings`, `transactionReadings` (tests give smaller ones).
    public static func run(
        sensor: SensorType, now: Int64, after: Duration, pause: Double = 0, blockLimit: Int = maximumBlockReadings,
        transactionLimit: Int = transactionReadings, on connection: PGConnection
    ) throws(PGError) -> Outcome {
        let limits = Limits(block: blockLimit, transaction: transactionLimit)
        var outcome = Outcome(sensor: sensor.name)
        let runLock = String(CompactionLocks.compactor(sensor.name))
        guard try connection.query("SELECT pg_try_advisory_lock($1::int8)", [runLock])[0, 0] == "t" else {
            outcome.skipped = true
            return outcome
        }
        defer { _ = try? connection.query("SELECT pg_advisory_unlock($1::int8)", [runLock]) }
        let tables = SensorTables(sensor)
        let target = floorHour(now - RetentionPolicy.micros(after))
        var (horizon, done) = try state(tables, start: target, on: connection)
        if target > horizon {
            try moveHorizon(sensor.name, to: target, on: connection)
            horizon = target
        }
        let groups = try deviceGroups(sensor.name, on: connection)
        let blockPartitions = Partitions(sensor: sensor, blocks: true)
        let days = Set(try RetentionPolicy.partitionDays(tables, on: connection).map(\.day))
        while done < horizon {
            let day = Micros.day(of: done)
            if days.contains(day) {
                try blockPartitions.ensure(days: [day], on: connection)
                for group in groups { try compactOrNote(tables, hour: done, devices: group, pause: pause, limits: limits, into: &outcome, on: connection) }
                done += CompactedBlock.span
            } else {
                // No readings partition, no readings: on to the next day that has one.
                done = min(days.filter { $0 > day }.min().map { $0 * Micros.perDay } ?? horizon, horizon)
            }
            _ = try connection.query(
                "UPDATE compaction_horizons SET done = \(SQLTime.timestamp("$2")) WHERE sensor = $1", [sensor.name, String(done)])
        }
        let reopened = try connection.query("""
            SELECT \(SQLTime.micros("bucket")), version FROM compaction_pending WHERE sensor = $1 AND bucket < \(SQLTime.timestamp("$2")) ORDER BY bucket
            """, [sensor.name, String(done)])
        // The devices again: one made during this pass may have marked a pending hour already (its marker is
        // read above; the groups read at the start would miss it and the marker be deleted below).
        let groupsNow = reopened.rows.isEmpty ? groups : try deviceGroups(sensor.name, on: connection)
        for row in reopened.rows {
            guard let hour = row[0].flatMap({ Int64($0) }), let version = row[1] else { continue }
            try blockPartitions.ensure(days: [Micros.day(of: hour)], on: connection)
            for group in groupsNow { try compactOrNote(tables, hour: hour, devices: group, pause: pause, limits: limits, into: &outcome, on: connection) }
            // Only if no other late reading came meanwhile: that one's hour is compacted at the next pass.
            _ = try connection.query(
                "DELETE FROM compaction_pending WHERE sensor = $1 AND bucket = \(SQLTime.timestamp("$2")) AND version = $3::int8",
                [sensor.name, String(hour), version])
        }
        // Not yesterday's or later: the writers make those ahead (`Partitions.ensureAhead`), and dropping one
        // would only have it made again, each drop a moment's exclusive lock on the readings table.
        outcome.droppedPartitions = try dropEmptyPartitions(tables, before: min(done, (Micros.day(of: now) - 1) * Micros.perDay), on: connection)
        return outcome
    }

    static func floorHour(_ micros: Int64) -> Int64 { Micros.hour(of: micros) * CompactedBlock.span }

    /// The stored horizon and progress; made at the first pass, starting at the oldest readings partition
    /// (or `start` when there is none).
    static func state(_ tables: SensorTables, start: Int64, on connection: PGConnection) throws(PGError) -> (horizon: Int64, done: Int64) {
        let select = "SELECT \(SQLTime.micros("horizon")), \(SQLTime.micros("done")) FROM compaction_horizons WHERE sensor = $1"
        var result = try connection.query(select, [tables.sensor.name])
        if result.count == 0 {
            let oldest = try RetentionPolicy.partitionDays(tables, on: connection).first.map { $0.day * Micros.perDay }
            let start = String(min(oldest ?? start, start))
            _ = try connection.query("""
                INSERT INTO compaction_horizons (sensor, horizon, done)
                VALUES ($1, \(SQLTime.timestamp("$2")), \(SQLTime.timestamp("$2"))) ON CONFLICT DO NOTHING
                """, [tables.sensor.name, start])
            result = try connection.query(select, [tables.sensor.name])
        }
        guard let horizon = result[0, 0].flatMap({ Int64($0) }), let done = result[0, 1].flatMap({ Int64($0) }) else {
            throw PGError(sqlState: nil, message: "no compaction state for \(tables.sensor.name)")
        }
        return (horizon, done)
    }

    /// Moves the horizon forward under the exclusive side of the lock every batch holds shared: a batch
    /// either committed before (its readings are in the heap, compacted below) or starts after and learns
    /// the new horizon (`telemetry_compaction_guard`).
    static func moveHorizon(_ sensor: String, to horizon: Int64, on connection: PGConnection) throws(PGError) {
        try connection.transaction { (connection) throws(PGError) in
            try connection.execute("SET LOCAL lock_timeout = '30s'")
            _ = try connection.query("SELECT pg_advisory_xact_lock($1::int8)", [String(CompactionLocks.horizon(sensor))])
            _ = try connection.query("""
                UPDATE compaction_horizons SET horizon = \(SQLTime.timestamp("$2")) WHERE sensor = $1 AND horizon < \(SQLTime.timestamp("$2"))
                """, [sensor, String(horizon)])
        }
    }

    /// The sensor type's device ids in lock groups (`CompactionLocks.groupSize` consecutive ids).
    static func deviceGroups(_ sensor: String, on connection: PGConnection) throws(PGError) -> [[Int32]] {
        var groups: [Int32: [Int32]] = [:]
        for row in try connection.query("SELECT id FROM devices WHERE sensor = $1 ORDER BY id", [sensor]).rows {
            guard let id = row[0].flatMap({ Int32($0) }) else { continue }
            groups[id / CompactionLocks.groupSize, default: []].append(id)
        }
        return groups.keys.sorted().map { groups[$0]! }
    }

    struct Limits {
        var block: Int
        var transaction: Int
    }

    /// `compact`, but a damaged block fails only its own chunk: noted in the outcome and the hour marked
    /// pending again (its version raised, so this pass does not forget it), and the pass goes on.
    static func compactOrNote(
        _ tables: SensorTables, hour: Int64, devices: [Int32], pause: Double, limits: Limits, into outcome: inout Outcome, on connection: PGConnection
    ) throws(PGError) {
        for chunk in try chunks(tables, hour: hour, devices: devices, limits: limits, into: &outcome, on: connection) {
            do {
                try compact(tables, hour: hour, devices: chunk, pause: pause, into: &outcome, on: connection)
            } catch where error.sqlState == "XX001" {
                // Only this chunk: the group's other chunks are compacted (a damaged one first would hold them all).
                let start = Date(timeIntervalSince1970: Double(hour) / 1e6).formatted(.iso8601)
                outcome.damaged.append("the hour from \(start) of device ids \(chunk.first!)...\(chunk.last!): \(error.message)")
                try connection.execute(CompactionLocks.markPending(sensor: tables.sensor.name, hours: [hour]))
            }
        }
    }

    /// The devices of a group with heap rows in the hour, in transactions of at most `limits.transaction`
    /// readings (heap rows and the hour's block counted), or one device alone that holds more; a device over
    /// `limits.block` is left out and noted.
    static func chunks(
        _ tables: SensorTables, hour: Int64, devices: [Int32], limits: Limits, into outcome: inout Outcome, on connection: PGConnection
    ) throws(PGError) -> [[Int32]] {
        let counts = try connection.query("""
            SELECT r.device_id, r.n + coalesce(b.count, 0) FROM (
                SELECT device_id, count(*) AS n FROM \(tables.readings)
                WHERE device_id = ANY($1::int4[]) AND time >= \(SQLTime.timestamp("$2")) AND time < \(SQLTime.timestamp("$3"))
                GROUP BY device_id) AS r
            LEFT JOIN \(tables.blocks) AS b ON b.device_id = r.device_id AND b.bucket = \(SQLTime.timestamp("$2"))
            ORDER BY r.device_id
            """, [SQLText.array(devices), String(hour), String(hour + CompactedBlock.span)])
        var chunks: [[Int32]] = []
        var current: [Int32] = [], readings = 0
        for row in counts.rows {
            guard let device = row[0].flatMap({ Int32($0) }), let count = row[1].flatMap({ Int($0) }) else { continue }
            guard count <= limits.block else {
                let start = Date(timeIntervalSince1970: Double(hour) / 1e6).formatted(.iso8601)
                outcome.keptInHeap.append("device \(device), the hour from \(start): \(count) readings, more than a block holds (\(limits.block))")
                continue
            }
            if readings + count > limits.transaction && !current.isEmpty {
                chunks.append(current)
                current = []
                readings = 0
            }
            current.append(device)
            readings += count
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }

    /// One hour of one device group: its heap rows deleted and written, with any block the hour already
    /// had, as blocks, in one transaction under the chunk's lock (writers storing late readings there wait).
    static func compact(
        _ tables: SensorTables, hour: Int64, devices: [Int32], pause: Double, into outcome: inout Outcome, on connection: PGConnection
    ) throws(PGError) {
        let began = ContinuousClock.now
        let sensor = tables.sensor
        let fieldCount = sensor.fields.count
        let (classKey, objectKey) = CompactionLocks.chunk(sensor.name, hour: Micros.hour(of: hour), deviceID: devices[0])
        let ids = SQLText.array(devices)
        let moved = try connection.transaction { (connection) throws(PGError) -> (blocks: Int, readings: Int, before: Int, after: Int) in
            _ = try connection.query("SELECT pg_advisory_xact_lock($1::int4, $2::int4)", [String(classKey), String(objectKey)])
            let columns = (["device_id", "time", "seq"] + tables.fieldColumns).map { "r.\($0)" }.joined(separator: ", ")
            var byDevice: [Int32: [Reading]] = [:]
            var before = 0
            try connection.withQuery("""
                DELETE FROM \(tables.readings) AS r
                WHERE r.device_id = ANY($1::int4[]) AND r.time >= \(SQLTime.timestamp("$2")) AND r.time < \(SQLTime.timestamp("$3"))
                RETURNING \(columns), pg_column_size(r.*)
                """, [ids, String(hour), String(hour + CompactedBlock.span)], binary: true) { (result) throws(PGError) in
                for row in 0..<result.rowCount {
                    guard let device = result.int64(row, 0).map({ Int32(truncatingIfNeeded: $0) }), let time = result.unixMicros(row, 1) else { continue }
                    let values = (0..<fieldCount).map { result.double(row, 3 + $0) ?? .nan }
                    byDevice[device, default: []].append(Reading(time: time, seq: result.int64(row, 2), values: values))
                    before += Int(result.int64(row, 3 + fieldCount) ?? 0) + 4  // + the line pointer
                }
            }
            guard !byDevice.isEmpty else { return (0, 0, 0, 0) }
            let heapReadings = byDevice.values.reduce(0) { $0 + $1.count }
            var rewritten = 0  // the bytes of blocks written again with late readings
            let touched = SQLText.array(byDevice.keys.sorted())
            // Late readings join the hour's block: read it, and it is written again whole.
            let encoded = CompactedBlock.encodedColumns(tables).joined(separator: ", ")
            try connection.withQuery("""
                DELETE FROM \(tables.blocks) AS b WHERE bucket = \(SQLTime.timestamp("$1")) AND device_id = ANY($2::int4[])
                RETURNING pg_column_size(b.*), device_id, \(encoded)
                """, [String(hour), touched], binary: true) { (result) throws(PGError) in
                for row in 0..<result.rowCount {
                    guard let device = result.int64(row, 1).map({ Int32(truncatingIfNeeded: $0) }) else { continue }
                    rewritten += Int(result.int64(row, 0) ?? 0) + 28
                    let block = try CompactedBlock.decode(result, row: row, from: 2, deviceID: device, bucket: hour, fieldCount: fieldCount)
                    for index in 0..<block.count {
                        byDevice[device, default: []].append(Reading(time: block.times[index], seq: block.seqs[index], values: block.values.map { $0[index] }))
                    }
                }
            }
            var copy = PGBinaryCopy(reservingCapacity: 4096)
            for device in byDevice.keys.sorted() {
                CompactedBlock(device: device, hour: hour, readings: byDevice[device]!, fieldCount: fieldCount).append(to: &copy)
            }
            let body = copy.finish()
            try connection.copyIn("COPY \(tables.blocks) (\(CompactedBlock.columns(tables).joined(separator: ", "))) FROM STDIN (FORMAT binary)", data: body)
            // A block row: its tuple header and line pointer (28 bytes) beside what the COPY carried; what the
            // rewritten blocks took before is no cost of these readings.
            return (byDevice.count, heapReadings, before, body.count + 28 * byDevice.count - rewritten)
        }
        guard moved.readings > 0 else { return }
        let took = ContinuousClock.now - began
        outcome.longestTransaction = max(outcome.longestTransaction, took)
        if pause > 0 { Thread.sleep(forTimeInterval: took / .seconds(1) * pause) }
        outcome.chunks += 1
        outcome.blocks += moved.blocks
        outcome.readings += moved.readings
        outcome.bytesBefore += moved.before
        outcome.bytesAfter += moved.after
    }

    struct Reading {
        var time: Int64
        var seq: Int64?
        var values: [Double]
    }

    /// Readings partitions of days compaction finished that hold no row any more: dropped (a late reading
    /// makes its day again, `BatchWriter`). Skipped when busy or when a late reading is pending there.
    static func dropEmptyPartitions(_ tables: SensorTables, before done: Int64, on connection: PGConnection) throws(PGError) -> [String] {
        var dropped: [String] = []
        for (day, name) in try RetentionPolicy.partitionDays(tables, on: connection) where (day + 1) * Micros.perDay <= done {
            let pending = try connection.query("""
                SELECT 1 FROM compaction_pending WHERE sensor = $1 AND bucket >= \(SQLTime.timestamp("$2")) AND bucket < \(SQLTime.timestamp("$3")) LIMIT 1
                """, [tables.sensor.name, String(day * Micros.perDay), String((day + 1) * Micros.perDay)])
            guard pending.count == 0 else { continue }
            do {
                // Emptied by compaction, the partition is all dead rows: VACUUM (no lock on the readings table)
                // first, so the check below reads nothing while every writer waits.
                try connection.execute("VACUUM \(tables.quoted(name))")
                let emptied = try connection.transaction { (connection) throws(PGError) -> Bool in
                    try connection.execute("SET LOCAL lock_timeout = '1s'")
                    // The readings table before its partition, the order every statement on it locks them in:
                    // the other order deadlocked with a reader holding the table and waiting for the partition.
                    try connection.execute("LOCK TABLE \(tables.readings) IN ACCESS EXCLUSIVE MODE")
                    guard try connection.execute("SELECT 1 FROM \(tables.quoted(name)) LIMIT 1").count == 0 else { return false }
                    try connection.execute("DROP TABLE \(tables.quoted(name))")
                    return true
                }
                if emptied { dropped.append(name) }
            } catch where error.sqlState == "55P03" {
                continue  // busy: the next pass drops it
            }
        }
        return dropped
    }
}

extension CompactedBlock {
    /// A block from readings in any order (times distinct: a duplicate keeps the first one given).
    init(device: Int32, hour: Int64, readings: [Compaction.Reading], fieldCount: Int) {
        var sorted = readings
        sorted.sort { $0.time < $1.time }
        var unique: [Compaction.Reading] = []
        unique.reserveCapacity(sorted.count)
        for reading in sorted where unique.last?.time != reading.time { unique.append(reading) }
        self.init(
            deviceID: device, bucket: hour, times: unique.map(\.time), seqs: unique.map(\.seq),
            values: (0..<fieldCount).map { field in unique.map { $0.values[field] } })
    }
}

// The services' entry point: the same work on a `StoreConnection`.
extension Compaction {
    public static func run(sensor: SensorType, now: Int64, after: Duration, pause: Double = 0, on connection: StoreConnection) throws(StoreError) -> Outcome {
        try StoreError.wrap { () throws(PGError) in try run(sensor: sensor, now: now, after: after, pause: pause, on: connection.pg) }
    }
}
