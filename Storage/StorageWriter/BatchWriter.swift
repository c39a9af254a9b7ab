import Postgres
import SensorModel
import StorageCore
import StorageEvents

/// Writes batches of one sensor type: readings by binary COPY straight into the partitioned table and
/// their rollups computed here (`insert`'s fast path); when a reading is there already (a redelivery, a
/// replay), by COPY into a staging table and one statement that moves only the new rows and folds exactly
/// those into both rollups, keys in sorted order so concurrent writers cannot deadlock. Dead letters, the
/// batch's new devices, reading counts and rollup versions go in the same transaction; the announcement
/// for the live streams right after it. Uses one connection from one thread.
public final class BatchWriter: @unchecked Sendable {
    public let sensor: SensorType
    public let tables: SensorTables
    let connection: PGConnection
    private let partitions: Partitions
    private let moveSQL: String
    /// The same, returning which readings it stored (`device_id`, µs time): the rules see only those.
    private let moveReturningSQL: String
    private let copySQL: String
    private let stageSQL: String
    private let directCopySQL: String
    private let directRollups: DirectRollups
    private var devices: DeviceRegistry
    private var alerts: AlertEvaluation
    /// The prepared fast-path statement's name, and the connection session it was prepared in.
    private let mergeStatement: String
    private var preparedSession: UInt64?
    /// Readings before it may be compacted (`compaction_horizons`), as this writer last read it; nil: read
    /// it before the next batch. Every batch checks it is still current (`telemetry_compaction_guard`).
    var horizon: Int64?

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
        self.moveReturningSQL = Self.moveStatement(tables: tables, columns: columns, returningStored: true)
        self.directCopySQL = "COPY \(tables.readings) (\(columns)) FROM STDIN (FORMAT binary)"
        self.directRollups = DirectRollups(tables: tables)
        self.mergeStatement = "telemetry_merge_\(sensor.name)"
        self.devices = DeviceRegistry(expectedInterval: sensor.expectedInterval)
        self.alerts = AlertEvaluation(sensor: sensor)
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

    static func moveStatement(tables: SensorTables, columns: String, returningStored: Bool = false) -> String {
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
            \(ReadingCounts.cte(sensor: tables.sensor.name)),
            \(RollupVersions.cte(sensor: tables.sensor.name))
            \(returningStored ? "SELECT device_id, \(SQLTime.micros("time")) FROM inserted" : "SELECT count(*) FROM inserted")
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
        } catch where error.sqlState == "TCH01" {
            // Compaction moved the horizon since this writer read it: read it again, and the batch's
            // readings before it are checked against the blocks.
            horizon = nil
            return try writeBatch(batch)
        } catch where error.sqlState == "23514" {
            // A check violation here is a row with no partition (the readings tables have no CHECK of their
            // own): retention, maybe in another process, dropped a day this writer had made. Make it again;
            // a second failure is permanent. By SQLSTATE, not the message, which a server may translate.
            partitions.forget()
            return try writeOnce(batch)
        }
    }

    /// What a session keeps for the fast path: the rollups' staging table and one prepared statement that
    /// merges them, adds the reading counts and bumps the rollup versions. Made again after a reconnect.
    private func prepareSession() throws(PGError) {
        guard preparedSession != connection.session else { return }
        try connection.execute(directRollups.createSQL)
        let exists = try connection.query("SELECT 1 FROM pg_prepared_statements WHERE name = $1", [mergeStatement])
        if exists.count == 0 {
            try connection.execute("""
                PREPARE \(tables.quoted(mergeStatement)) (int8[], int8[], int8[]) AS
                WITH \(directRollups.mergeCTEs),
                \(ReadingCounts.cte(sensor: sensor.name, buckets: "$1", counts: "$2")),
                \(RollupVersions.cte(sensor: sensor.name, hours: "$3"))
                SELECT 1
                """)
        }
        preparedSession = connection.session
    }

    /// One transaction in as few round trips as it takes: statements that return nothing the writer
    /// needs ride along with the next one (`pending`). The common batch, all devices known and no
    /// duplicate: BEGIN + COPY readings, COPY rollups, merge + COMMIT + announcement.
    private func writeOnce(_ batch: IngestBatch) throws(PGError) -> WriteOutcome {
        let readings = batch.readings
        guard !batch.isEmpty else { return WriteOutcome(inserted: 0, duplicates: 0, deadLettered: 0) }
        let reported = Set(batch.statusReports.map(\.device))
        var plan = DeviceRegistry.Plan()
        var ruled = Set<String>()
        var knownHorizon = Int64.min
        if !readings.isEmpty {
            try prepareSession()
            knownHorizon = try self.knownHorizon()
            try partitions.ensure(days: Set(readings.times.map(Micros.day(of:))), on: connection)
            plan = devices.plan(spans: batch.spans, readings: readings, reported: reported)
            try alerts.refreshIfChanged(on: connection)
            ruled = alerts.devices(in: batch)
        }
        var pending = ["BEGIN"]
        if !readings.isEmpty {
            pending.append("SELECT telemetry_compaction_guard(\(CompactionLocks.horizon(sensor.name)), '\(sensor.name)', \(knownHorizon))")
        }
        let report = DeviceRegistry.reportStatus(batch.statusReports, sensor: sensor.name)
        if report != nil || !ruled.isEmpty {
            // Every device row the batch writes or evaluates rules for, locked first and in one order: the
            // upsert's and the report's are two sets, and a report after the rollups would lock a device after
            // them; a device's rules are evaluated by one writer at a time.
            pending.append(DeviceRegistry.lockRows(Set(plan.stale.keys).union(reported).union(ruled), sensor: sensor.name))
        }
        do {
            if !plan.stale.isEmpty {
                try connection.execute(pending.joined(separator: "; "))
                pending = []
                try devices.write(&plan, sensor: sensor.name, on: connection)
            }
            if let report { pending.append(report) }
            var inserted = 0
            var stored: Set<AlertEvaluation.Reading>?
            if !readings.isEmpty {
                // Readings before the horizon may be in blocks already (a replay, a late reading): those
                // are left out, the others stored by the staging path and their hours compacted again.
                let late = readings.times.min()! < knownHorizon
                let compacted = late ? try compactedReadings(batch, ids: plan.ids, before: knownHorizon, pending: &pending) : []
                (inserted, stored) = try insert(
                    batch, ids: plan.ids, returningStored: !ruled.isEmpty, excluding: compacted, horizon: late ? knownHorizon : nil, pending: &pending)
            }
            if !batch.deadLetters.isEmpty {
                if !pending.isEmpty { try connection.execute(pending.joined(separator: "; ")) }
                pending = []
                try DeadLetterWriter.write(batch.deadLetters, on: connection)
            }
            pending += SparkplugAliasStore.statements(births: batch.sparkplugBirths, aliases: batch.sparkplugAliases, sensor: sensor.name)
            if !ruled.isEmpty {
                guard let statements = try evaluateAlerts(batch, ids: plan.ids, devices: ruled, stored: stored, pending: pending) else {
                    // A rule changed since the writer loaded the rules: the whole batch again, with the new ones.
                    try connection.execute("ROLLBACK")
                    alerts.forgetRules()
                    return try writeOnce(batch)
                }
                pending = statements
            }
            pending.append("COMMIT")
            let commit = pending.count - 1
            if inserted > 0, let last = readings.times.max() {
                // For the live streams, after the commit: which devices, and how new.
                pending.append(ReadingChanges.announcement(.init(sensor: sensor.name, last: last, deviceIDs: Array(Set(plan.ids.values)).sorted())))
            }
            try Self.committed(try connection.executeEach(pending.joined(separator: "; ")), commitAt: commit)
            devices.remember(plan, reported: reported)
            return WriteOutcome(inserted: inserted, duplicates: readings.count - inserted, deadLettered: batch.deadLetters.count)
        } catch {
            if connection.isHealthy { _ = try? connection.execute("ROLLBACK") }
            throw error
        }
    }

    /// Runs what is pending with a read of the rule states of `devices` (under the rules' change lock, with
    /// their version), evaluates the batch's readings and returns the statements that write the outcome
    /// (before the COMMIT); nil when the rules changed since they were loaded. `stored`: the readings stored,
    /// when not all of them were.
    private func evaluateAlerts(_ batch: IngestBatch, ids: [String: Int32], devices ruled: Set<String>, stored: Set<AlertEvaluation.Reading>?,
                                pending: [String]) throws(PGError) -> [String]? {
        let deviceIDs = ruled.compactMap { ids[$0] }.sorted()
        let reads = [AlertRules.lockShared, "SELECT version FROM alert_rules_version", AlertEvaluation.stateQuery(deviceIDs: deviceIDs)]
        let outcomes = try connection.executeEach((pending + reads).joined(separator: "; "))
        var results: [PGResult] = []
        for outcome in outcomes {
            switch outcome {
            case .failure(let error): throw error
            case .success(let result): results.append(result)
            }
        }
        guard results.count == pending.count + reads.count else {
            throw PGError(sqlState: nil, message: "the alert states were not read")
        }
        let version = results[results.count - 2][0, 0].flatMap { Int64($0) }
        guard version == alerts.version else { return nil }
        let states = results[results.count - 1]
        return alerts.statements(alerts.evaluate(batch, ids: ids, states: AlertEvaluation.states(states), stored: stored))
    }

    /// Whether the string ending in COMMIT (and maybe the announcement) committed: throws the error that
    /// stopped it before the COMMIT took effect. An announcement that failed after it is no failure of the
    /// batch (the live streams' catch-up reads what it would have announced).
    static func committed(_ outcomes: [Result<PGResult, PGError>], commitAt commit: Int) throws(PGError) {
        for outcome in outcomes.prefix(commit + 1) {
            if case .failure(let error) = outcome { throw error }
        }
        guard outcomes.indices.contains(commit), case .success(let result) = outcomes[commit], result.command == "COMMIT" else {
            throw PGError(sqlState: nil, message: "the batch's transaction did not commit")
        }
    }

    /// Fast path: binary COPY straight into the readings table and rollups computed here. A duplicate key
    /// (a redelivery, a replay, a resent frame) undoes it to the savepoint and takes the staging path,
    /// which inserts only new rows and folds exactly those into the rollups; with `returningStored` it says
    /// which (nil: every reading of the batch). Leaves in `pending` what must run before the commit.
    /// `horizon`: the batch has readings before it (late, maybe in blocks): those take the staging path, the
    /// others still the fast one (one late reading made a whole batch twice as slow).
    private func insert(_ batch: IngestBatch, ids: [String: Int32], returningStored: Bool, excluding compacted: Set<AlertEvaluation.Reading>,
                        horizon: Int64?, pending: inout [String]) throws(PGError) -> (count: Int, stored: Set<AlertEvaluation.Reading>?) {
        if let horizon {
            if compacted.count == batch.readings.count { return (0, []) }
            let fresh = batch.readings(where: { $0 >= horizon })
            let old = fresh.readings.isEmpty ? batch : batch.readings(where: { $0 < horizon })
            var inserted = 0
            var stored: Set<AlertEvaluation.Reading>?
            if !fresh.readings.isEmpty {
                (inserted, stored) = try insert(fresh, ids: ids, returningStored: returningStored, excluding: [], horizon: nil, pending: &pending)
                if returningStored && stored == nil { stored = Self.readings(of: fresh, ids: ids) }
            }
            if !pending.isEmpty { try connection.execute(pending.joined(separator: "; ")) }
            pending = []
            // The fresh part may have taken the staging path (a duplicate): its rows are still staged.
            let staged = try stageAndMove(copyBody(old, ids: ids, excluding: compacted), returningStored: returningStored, clearing: !fresh.readings.isEmpty)
            return (inserted + staged.count, returningStored ? (stored ?? []).union(staged.stored ?? []) : nil)
        }
        let body = copyBody(batch, ids: ids)
        do {
            try connection.copyIn((pending + ["SAVEPOINT direct_copy", directCopySQL]).joined(separator: "; "), data: body)
            pending = []
            try connection.copyIn(directRollups.copySQL, data: directRollups.copyBody(batch, ids: ids))
            let counts = Self.countsPerMinute(batch.readings.times)
            let buckets = counts.keys.sorted()
            let hours = Set(batch.readings.times.map(Micros.hour(of:))).sorted()
            pending = ["EXECUTE \(tables.quoted(mergeStatement))('\(SQLText.array(buckets))', '\(SQLText.array(buckets.map { counts[$0]! }))', '\(SQLText.array(hours))')"]
            return (batch.readings.count, nil)
        } catch where error.isUniqueViolation {
            try connection.execute("ROLLBACK TO SAVEPOINT direct_copy")
            pending = []
        }
        return try stageAndMove(body, returningStored: returningStored)
    }

    /// The staging path: COPY into the session's staging table, then one statement moves the new rows and
    /// folds exactly those into the rollups.
    private func stageAndMove(_ body: [UInt8], returningStored: Bool, clearing: Bool = false) throws(PGError) -> (count: Int, stored: Set<AlertEvaluation.Reading>?) {
        try connection.execute(clearing ? "\(stageSQL); DELETE FROM \(tables.stage)" : stageSQL)
        try connection.copyIn(copySQL, data: body)
        guard returningStored else { return (Int(try connection.execute(moveSQL)[0, 0] ?? "0") ?? 0, nil) }
        let rows = try connection.execute(moveReturningSQL).rows
        return (rows.count, Set(rows.compactMap { row in
            row[0].flatMap { Int32($0) }.flatMap { device in row[1].flatMap { Int64($0) }.map { AlertEvaluation.Reading(device: device, time: $0) } }
        }))
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

    /// Every reading of the batch, as the alert evaluation names them.
    static func readings(of batch: IngestBatch, ids: [String: Int32]) -> Set<AlertEvaluation.Reading> {
        var all = Set<AlertEvaluation.Reading>()
        for span in batch.spans {
            let id = ids[span.device]!
            for row in span.rows { all.insert(AlertEvaluation.Reading(device: id, time: batch.readings.times[row])) }
        }
        return all
    }

    private func copyBody(_ batch: IngestBatch, ids: [String: Int32], excluding compacted: Set<AlertEvaluation.Reading> = []) -> [UInt8] {
        let readings = batch.readings
        let columns = 3 + readings.fieldCount
        var copy = PGBinaryCopy(reservingCapacity: readings.count * (2 + 4 * columns + 20 + 8 * columns))
        for span in batch.spans {
            let id = ids[span.device]!
            for row in span.rows {
                if !compacted.isEmpty && compacted.contains(AlertEvaluation.Reading(device: id, time: readings.times[row])) { continue }
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

