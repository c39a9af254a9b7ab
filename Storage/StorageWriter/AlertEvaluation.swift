import Postgres
import SensorModel
import StorageCore
import StorageEvents

/// The threshold rules of one sensor type, evaluated in the writer's batch on the readings it commits
/// (docs/alerts.md#where-rules-are-evaluated): a rule's state per device (`alert_state`), its episodes and
/// their outbox rows are written in the batch's own transaction, so an episode exists if and only if the
/// readings that raised it are stored, whatever restarts, replays or replicas. The batch has locked the rows
/// of its devices that have rules, so two writers never evaluate one device at once.
struct AlertEvaluation {
    let sensor: SensorType
    private(set) var rules: [AlertRule] = []
    private var fields: [Int] = []
    /// The rules' version they were loaded at.
    private(set) var version: Int64?
    /// Rule indices per device, worked out once per device and set of rules.
    private var byDevice: [String: [Int]] = [:]

    init(sensor: SensorType) { self.sensor = sensor }

    /// With these rules loaded (their fields must be the sensor type's), as the unit tests use it.
    init(sensor: SensorType, rules: [AlertRule]) {
        self.sensor = sensor
        self.rules = rules
        fields = rules.map { sensor.fieldIndex(named: $0.field ?? "")! }
    }

    /// Reloads the rules when their version moved: read once per batch, outside any transaction, once the
    /// batch is complete, so a rule whose change was answered before a reading arrived applies to it. (A
    /// LISTEN for the change saved this round trip, but its notification could reach the writer after the
    /// reading: under load the reading right after a new rule raised nothing.)
    mutating func refreshIfChanged(on connection: PGConnection) throws(PGError) {
        let current = try AlertRules.version(on: connection)
        guard current != version else { return }
        let loaded = try AlertRules.load(sensors: [sensor.name], on: connection).filter { $0.condition != .silent }
        rules = []
        fields = []
        for rule in loaded {
            guard let field = rule.field.flatMap(sensor.fieldIndex(named:)), rule.threshold != nil else { continue }
            rules.append(rule)
            fields.append(field)
        }
        byDevice = [:]
        version = current
    }

    /// Loads the rules again before the next batch.
    mutating func forgetRules() { version = nil }

    mutating func rules(for device: String) -> [Int] {
        if let cached = byDevice[device] { return cached }
        let matching = rules.indices.filter { rules[$0].applies(to: device) }
        if byDevice.count > 200_000 { byDevice = [:] }
        byDevice[device] = matching
        return matching
    }

    /// The batch's devices some rule looks at.
    mutating func devices(in batch: IngestBatch) -> Set<String> {
        guard !rules.isEmpty else { return [] }
        var devices = Set<String>()
        for span in batch.spans where !devices.contains(span.device) && !rules(for: span.device).isEmpty {
            devices.insert(span.device)
        }
        return devices
    }

    /// The current states of these devices' rules (rows exist only for pairs that ever breached).
    static func stateQuery(deviceIDs: [Int32]) -> String {
        "SELECT rule_id::text, device_id, state, \(SQLTime.micros("since")) FROM alert_state WHERE device_id = ANY('\(SQLText.array(deviceIDs))'::int4[])"
    }

    struct Key: Hashable {
        var rule: String
        var device: Int32
    }

    enum Phase: String {
        case normal, pending, raised
    }

    struct State: Equatable {
        var phase: Phase
        /// The reading time it entered the phase; readings at or before it are not evaluated again.
        var since: Int64
        /// For `pending`: the first breaching reading (the episode's start).
        var started: Int64 { since }
    }

    static func states(_ result: PGResult) -> [Key: State] {
        var states: [Key: State] = [:]
        for row in result.rows {
            guard let rule = row[0], let device = row[1].flatMap({ Int32($0) }), let phase = row[2].flatMap(Phase.init(rawValue:)),
                let since = row[3].flatMap({ Int64($0) })
            else { continue }
            states[Key(rule: rule, device: device)] = State(phase: phase, since: since)
        }
        return states
    }

    /// An episode the batch raised (cleared in the same batch when `cleared` is set).
    struct Raised: Equatable {
        var key: Key
        var device: String
        var started: Int64
        var raised: Int64
        var value: Double
        var cleared: (at: Int64, value: Double)?

        static func == (a: Raised, b: Raised) -> Bool {
            a.key == b.key && a.device == b.device && a.started == b.started && a.raised == b.raised && a.value == b.value
                && a.cleared?.at == b.cleared?.at && a.cleared?.value == b.cleared?.value
        }
    }

    /// What the batch changes: new states, the episode open before it that it clears, the episodes it raises.
    struct Outcome {
        var states: [Key: State] = [:]
        var cleared: [(key: Key, at: Int64, value: Double)] = []
        var raised: [Raised] = []
        var isEmpty: Bool { states.isEmpty }
    }

    /// Runs each rule over its device's readings in time order, from the state stored.
    /// One stored reading: the rules look only at readings the batch stored, not at duplicates it skipped.
    struct Reading: Hashable {
        var device: Int32
        var time: Int64
    }

    /// `storedReadings`: the readings stored, when not all of the batch's were.
    mutating func evaluate(_ batch: IngestBatch, ids: [String: Int32], states stored: [Key: State], stored storedReadings: Set<Reading>? = nil) -> Outcome {
        var rowsByDevice: [String: [Int]] = [:]
        for span in batch.spans where !rules(for: span.device).isEmpty {
            rowsByDevice[span.device, default: []].append(contentsOf: span.rows)
        }
        let readings = batch.readings
        var outcome = Outcome()
        for device in rowsByDevice.keys.sorted() {
            guard let id = ids[device] else { continue }
            var rows = rowsByDevice[device]!.sorted { readings.times[$0] < readings.times[$1] }
            if let storedReadings { rows = rows.filter { storedReadings.contains(Reading(device: id, time: readings.times[$0])) } }
            for index in rules(for: device) {
                let rule = rules[index]
                let key = Key(rule: rule.id, device: id)
                let before = stored[key] ?? State(phase: .normal, since: .min)
                var state = before
                var open: Raised?
                for row in rows {
                    let time = readings.times[row]
                    let value = readings.values[fields[index]][row]
                    guard time > state.since, !value.isNaN else { continue }  // NaN: the reading has no such field
                    switch state.phase {
                    case .normal:
                        guard rule.breaches(value) else { continue }
                        if rule.forMicros <= 0 {
                            open = Raised(key: key, device: device, started: time, raised: time, value: value)
                            state = State(phase: .raised, since: time)
                        } else {
                            state = State(phase: .pending, since: time)
                        }
                    case .pending:
                        if !rule.breaches(value) {
                            state = State(phase: .normal, since: time)
                        } else if time - state.started >= rule.forMicros {
                            open = Raised(key: key, device: device, started: state.started, raised: time, value: value)
                            state = State(phase: .raised, since: time)
                        }
                    case .raised:
                        guard rule.clears(value) else { continue }
                        if var raised = open {
                            raised.cleared = (time, value)
                            outcome.raised.append(raised)
                            open = nil
                        } else {
                            outcome.cleared.append((key, time, value))
                        }
                        state = State(phase: .normal, since: time)
                    }
                }
                if let open { outcome.raised.append(open) }
                if state != before { outcome.states[key] = state }
            }
        }
        return outcome
    }

    /// The statements that write an outcome, to run before the batch's COMMIT.
    func statements(_ outcome: Outcome) -> [String] {
        guard !outcome.isEmpty else { return [] }
        var statements: [String] = []
        let keys = outcome.states.keys.sorted { ($0.rule, $0.device) < ($1.rule, $1.device) }
        statements.append("""
            INSERT INTO alert_state (rule_id, device_id, state, since)
            SELECT r::uuid, d, s, \(SQLTime.timestamp("t"))
            FROM unnest('\(SQLText.textArray(keys.map(\.rule)))'::text[], '\(SQLText.array(keys.map(\.device)))'::int4[],
                        '\(SQLText.textArray(keys.map { outcome.states[$0]!.phase.rawValue }))'::text[],
                        '\(SQLText.array(keys.map { outcome.states[$0]!.since }))'::int8[]) AS u(r, d, s, t)
            ON CONFLICT (rule_id, device_id) DO UPDATE SET state = excluded.state, since = excluded.since
            """)
        if !outcome.cleared.isEmpty {
            let cleared = outcome.cleared
            statements.append("""
                WITH x AS (
                    SELECT * FROM unnest('\(SQLText.textArray(cleared.map(\.key.rule)))'::text[], '\(SQLText.array(cleared.map(\.key.device)))'::int4[],
                        '\(SQLText.array(cleared.map(\.at)))'::int8[], '\(Self.floats(cleared.map(\.value)))'::float8[]) AS u(r, d, t, v)
                ),
                cleared AS (
                    UPDATE alert_episodes e SET cleared_at = \(SQLTime.timestamp("x.t")), clear_value = x.v, clear_reason = 'recovered'
                    FROM x WHERE e.rule_id = x.r::uuid AND e.device_id = x.d AND e.cleared_at IS NULL
                    RETURNING e.id, e.sensor
                )
                \(AlertOutbox.insert(event: "cleared", from: "cleared"))
                """)
        }
        if !outcome.raised.isEmpty {
            let raised = outcome.raised
            let clearedAt = raised.map { $0.cleared.map { String($0.at) } ?? "NULL" }
            let clearValues = raised.map { $0.cleared.map { Self.float($0.value) } ?? "NULL" }
            statements.append("""
                WITH x AS (
                    SELECT * FROM unnest('\(SQLText.textArray(raised.map(\.key.rule)))'::text[], '\(SQLText.array(raised.map(\.key.device)))'::int4[],
                        '\(SQLText.textArray(raised.map(\.device)))'::text[], '\(SQLText.array(raised.map(\.started)))'::int8[],
                        '\(SQLText.array(raised.map(\.raised)))'::int8[], '\(Self.floats(raised.map(\.value)))'::float8[],
                        '{\(clearedAt.joined(separator: ","))}'::int8[], '{\(clearValues.joined(separator: ","))}'::float8[])
                        WITH ORDINALITY AS u(r, d, device, s, t, v, c, cv, n)
                ),
                raised AS (
                    INSERT INTO alert_episodes (rule_id, rule_name, sensor, device_id, device, condition, field, threshold, value,
                        started_at, raised_at, cleared_at, clear_value, clear_reason, webhook)
                    SELECT r.id, r.name, r.sensor, x.d, x.device, r.condition, r.field, r.threshold, x.v,
                        \(SQLTime.timestamp("x.s")), \(SQLTime.timestamp("x.t")), \(SQLTime.timestamp("x.c")), x.cv,
                        CASE WHEN x.c IS NOT NULL THEN 'recovered' END, r.webhook
                    FROM x JOIN alert_rules r ON r.id = x.r::uuid ORDER BY x.n
                    ON CONFLICT (rule_id, device_id) WHERE cleared_at IS NULL DO NOTHING
                    RETURNING id, sensor, cleared_at IS NOT NULL AS closed
                ),
                events AS (
                    SELECT id, sensor, 'raised' AS event, 1 AS n FROM raised
                    UNION ALL SELECT id, sensor, 'cleared', 2 FROM raised WHERE closed
                )
                INSERT INTO alert_outbox (episode_id, sensor, event) SELECT id, sensor, event FROM events ORDER BY id, n
                """)
        }
        return statements
    }

    static func float(_ value: Double) -> String {
        value.isNaN ? "NaN" : value == .infinity ? "Infinity" : value == -.infinity ? "-Infinity" : "\(value)"
    }

    static func floats(_ values: [Double]) -> String { "{" + values.map(float).joined(separator: ",") + "}" }
}
