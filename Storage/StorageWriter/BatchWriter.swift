import Postgres
import SensorModel
import StorageCore
import StorageEvents

/// Writes batches of one sensor type: readings by binary COPY into a staging table, then one statement
/// moves them into the partitioned table (ON CONFLICT DO NOTHING) and folds exactly the rows it inserted
/// into both rollups, keys in sorted order so concurrent writers cannot deadlock. Dead letters go in the
/// same transaction. Uses one connection from one thread.
public final class BatchWriter: @unchecked Sendable {
    public let sensor: SensorType
    public let tables: SensorTables
    let connection: PGConnection
    private let partitions: Partitions
    private let moveSQL: String
    private let copySQL: String
    private let stageSQL: String
    private let directCopySQL: String
    private let directRollups: DirectRollups
    private var devices = DeviceRegistry()

    public convenience init(connection: StoreConnection, sensor: SensorType) {
        self.init(connection: connection.pg, sensor: sensor)
    }

    public init(connection: PGConnection, sensor: SensorType) {
        self.connection = connection
        self.sensor = sensor
        self.tables = SensorTables(sensor)
        self.partitions = Partitions(sensor: sensor)
        let columns = (["device_id", "time", "seq"] + tables.fieldColumns).joined(separator: ", ")
        self.stageSQL = "CREATE TEMP TABLE IF NOT EXISTS \(tables.stage) (LIKE \(tables.readings)) ON COMMIT DELETE ROWS"
        self.copySQL = "COPY \(tables.stage) (\(columns)) FROM STDIN (FORMAT binary)"
        self.moveSQL = Self.moveStatement(tables: tables, columns: columns)
        self.directCopySQL = "COPY \(tables.readings) (\(columns)) FROM STDIN (FORMAT binary)"
        self.directRollups = DirectRollups(tables: tables)
    }

    /// How a rollup row absorbs a partial aggregate (`excluded`) of the same key.
    static func rollupMerge(tables: SensorTables) -> String {
        tables.sensor.fields.map(\.name).map { field in
            let count = tables.column(field, "count"), sum = tables.column(field, "sum")
            let min = tables.column(field, "min"), max = tables.column(field, "max")
            return """
                \(count) = r.\(count) + excluded.\(count), \
                \(sum) = CASE WHEN excluded.\(count) = 0 THEN r.\(sum) WHEN r.\(count) = 0 THEN excluded.\(sum) ELSE r.\(sum) + excluded.\(sum) END, \
                \(min) = LEAST(r.\(min), excluded.\(min)), \(max) = GREATEST(r.\(max), excluded.\(max))
                """
        }.joined(separator: ", ")
    }

    static func moveStatement(tables: SensorTables, columns: String) -> String {
        let fields = tables.sensor.fields.map(\.name)
        let returning = (["device_id", "time"] + tables.fieldColumns).joined(separator: ", ")
        func rollup(_ resolution: RollupResolution, _ name: String) -> String {
            let table = tables.rollup(resolution)
            let targetColumns = (["device_id", "bucket"] + tables.rollupColumns(fields)).joined(separator: ", ")
            let aggregates = fields.map { field in
                let column = tables.quoted(field)
                return "count(\(column)), sum(\(column)), min(\(column)), max(\(column))"
            }.joined(separator: ", ")
            let updates = rollupMerge(tables: tables)
            return """
                \(name) AS (
                    INSERT INTO \(table) AS r (\(targetColumns))
                    SELECT device_id, date_trunc('\(resolution.truncUnit)', time), \(aggregates)
                    FROM inserted GROUP BY 1, 2 ORDER BY 1, 2
                    ON CONFLICT (device_id, bucket) DO UPDATE SET \(updates)
                )
                """
        }
        return """
            WITH inserted AS (
                INSERT INTO \(tables.readings) (\(columns))
                SELECT \(columns) FROM \(tables.stage) ORDER BY device_id, time
                ON CONFLICT DO NOTHING
                RETURNING \(returning)
            ),
            \(rollup(.minute, "minute_rollup")),
            \(rollup(.hour, "hour_rollup")),
            \(ReadingCounts.cte(sensor: tables.sensor.name))
            SELECT count(*) FROM inserted
            """
    }

    /// Stores the batch in one transaction. When it throws, nothing of the batch is stored.
    public func write(_ batch: IngestBatch) throws(StoreError) -> WriteOutcome {
        try StoreError.wrap { () throws(PGError) in try writeBatch(batch) }
    }

    /// Reconnects when the connection broke (before a retry); throws while the server stays away.
    public func reconnectIfNeeded() throws(StoreError) {
        try StoreError.wrap { () throws(PGError) in try connection.resetIfNeeded() }
    }

    func writeBatch(_ batch: IngestBatch) throws(PGError) -> WriteOutcome {
        do {
            return try writeOnce(batch)
        } catch where error.sqlState == "23514" {
            // A check violation here is a row with no partition (the readings tables have no CHECK of their
            // own): retention, maybe in another process, dropped a day this writer had made. Make it again;
            // a second failure is permanent. By SQLSTATE, not the message, which a server may translate.
            partitions.forget()
            return try writeOnce(batch)
        }
    }

    private func writeOnce(_ batch: IngestBatch) throws(PGError) -> WriteOutcome {
        let readings = batch.readings
        var ids: [String: Int32] = [:]
        if !readings.isEmpty {
            try partitions.ensure(days: Set(readings.times.map(Micros.day(of:))), on: connection)
            ids = try devices.resolve(spans: batch.spans, readings: readings, sensor: sensor.name, on: connection)
        }
        let body = readings.isEmpty ? [] : copyBody(batch, ids: ids)
        return try connection.transaction { (connection) throws(PGError) -> WriteOutcome in
            var inserted = 0
            if !readings.isEmpty {
                inserted = try insert(batch, body: body, ids: ids, on: connection)
            }
            if inserted > 0, let first = readings.times.min(), let last = readings.times.max() {
                // Tells the query services' rollup caches which hours changed, at commit.
                try RollupChanges.notify(sensor: sensor.name, hours: Micros.hour(of: first)...Micros.hour(of: last), on: connection)
                // One notification per batch for the live streams: which devices, and how new.
                try ReadingChanges.notify(.init(sensor: sensor.name, last: last, deviceIDs: Array(Set(ids.values)).sorted()), on: connection)
            }
            if !batch.deadLetters.isEmpty {
                try DeadLetterWriter.write(batch.deadLetters, on: connection)
            }
            return WriteOutcome(inserted: inserted, duplicates: readings.count - inserted, deadLettered: batch.deadLetters.count)
        }
    }

    /// Fast path: binary COPY straight into the readings table and rollups computed here. A duplicate key
    /// (a redelivery, a replay, a resent frame) undoes it to the savepoint and takes the staging path,
    /// which inserts only new rows and folds exactly those into the rollups.
    private func insert(_ batch: IngestBatch, body: [UInt8], ids: [String: Int32], on connection: PGConnection) throws(PGError) -> Int {
        try connection.execute("SAVEPOINT direct_copy")
        do {
            try connection.copyIn(directCopySQL, data: body)
            try directRollups.write(batch, ids: ids, on: connection)
            try ReadingCounts.add(sensor: sensor.name, counts: Self.countsPerMinute(batch.readings.times), on: connection)
            try connection.execute("RELEASE SAVEPOINT direct_copy")
            return batch.readings.count
        } catch where error.isUniqueViolation {
            try connection.execute("ROLLBACK TO SAVEPOINT direct_copy")
        }
        try connection.execute(stageSQL)
        try connection.copyIn(copySQL, data: body)
        let result = try connection.execute(moveSQL)
        return Int(result[0, 0] ?? "0") ?? 0
    }

    /// Readings per 1-minute bucket (µs since the epoch, floor), for `ReadingCounts`.
    static func countsPerMinute(_ times: some Sequence<Int64>) -> [Int64: Int64] {
        var counts: [Int64: Int64] = [:]
        for time in times {
            let minute = time >= 0 ? time / 60_000_000 : (time - 59_999_999) / 60_000_000
            counts[minute * 60_000_000, default: 0] += 1
        }
        return counts
    }

    private func copyBody(_ batch: IngestBatch, ids: [String: Int32]) -> [UInt8] {
        let readings = batch.readings
        let columns = 3 + readings.fieldCount
        var copy = PGBinaryCopy(reservingCapacity: readings.count * (2 + 4 * columns + 20 + 8 * columns))
        for span in batch.spans {
            let id = ids[span.device]!
            for row in span.rows {
                copy.startRow(columns: columns)
                copy.appendInt32(id)
                copy.appendTimestamp(unixMicros: readings.times[row])
                let seq = readings.seqs[row]
                if seq == ReadingBatch.noSeq { copy.appendNull() } else { copy.appendInt64(seq) }
                for field in 0..<readings.fieldCount {
                    copy.appendFloat64OrNull(readings.values[field][row])
                }
            }
        }
        return copy.finish()
    }
}

/// Device ids of one writer. A device's row is written when it is new, when a batch moves its first
/// seen earlier, or when its last seen advances by more than `refresh`: rewriting every device's row on
/// every batch cost PostgreSQL about one row update per two messages of 1-sample frames.
struct DeviceRegistry {
    /// `last_seen` is kept to within this much (microseconds).
    static let refresh: Int64 = 30_000_000
    private var known: [String: (id: Int32, first: Int64, last: Int64)] = [:]

    mutating func resolve(spans: [DeviceSpan], readings: ReadingBatch, sensor: String, on connection: PGConnection) throws(PGError) -> [String: Int32] {
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
        var ids: [String: Int32] = [:]
        var stale: [String: (first: Int64, last: Int64)] = [:]
        for (device, times) in seen {
            if let cached = known[device], times.first >= cached.first, times.last <= cached.last + Self.refresh {
                ids[device] = cached.id
            } else {
                stale[device] = times
            }
        }
        guard !stale.isEmpty else { return ids }
        for (device, id) in try Self.upsert(stale, sensor: sensor, on: connection) {
            ids[device] = id
            let times = stale[device]!
            let cached = known[device]
            known[device] = (id, min(cached?.first ?? .max, times.first), max(cached?.last ?? .min, times.last))
        }
        return ids
    }

    /// Upserts devices (first/last seen from reading times) in device order, so concurrent writers lock
    /// rows in the same order; returns their ids.
    static func upsert(_ seen: [String: (first: Int64, last: Int64)], sensor: String, on connection: PGConnection) throws(PGError) -> [String: Int32] {
        let devices = seen.keys.sorted()
        // Device ids are 1-64 characters of A-Z a-z 0-9 . _ - (checked at the topic), so quoting is enough.
        let names = "{" + devices.map { "\"\($0)\"" }.joined(separator: ",") + "}"
        let firsts = "{" + devices.map { String(seen[$0]!.first) }.joined(separator: ",") + "}"
        let lasts = "{" + devices.map { String(seen[$0]!.last) }.joined(separator: ",") + "}"
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

/// Dead letters go through a staging table so that one already stored (the same message replayed from
/// the journal after a crash: same topic, receive time and bytes) is skipped by `rejected`'s message key.
enum DeadLetterWriter {
    static let stageSQL = "CREATE TEMP TABLE IF NOT EXISTS rejected_stage (sensor text, topic text, received_at timestamptz, reason text, payload bytea) ON COMMIT DELETE ROWS"
    static let moveSQL = """
        INSERT INTO rejected (sensor, topic, received_at, reason, payload)
        SELECT sensor, topic, received_at, reason, payload FROM rejected_stage
        ON CONFLICT (received_at, topic, coalesce(sensor, ''), md5(payload)) DO NOTHING
        """

    static func write(_ letters: [DeadLetter], on connection: PGConnection) throws(PGError) {
        var copy = PGBinaryCopy(reservingCapacity: letters.reduce(0) { $0 + $1.payload.count + $1.topic.utf8.count + 64 })
        for letter in letters {
            copy.startRow(columns: 5)
            if let sensor = letter.sensor { copy.appendText(sensor) } else { copy.appendNull() }
            copy.appendText(letter.topic)
            copy.appendTimestamp(unixMicros: letter.receivedAt)
            copy.appendText(letter.reason)
            copy.appendBytes(letter.payload)
        }
        try connection.execute(stageSQL)
        try connection.copyIn("COPY rejected_stage (sensor, topic, received_at, reason, payload) FROM STDIN (FORMAT binary)", data: copy.finish())
        try connection.execute(moveSQL)
    }
}
