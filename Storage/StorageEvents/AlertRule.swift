import Postgres
import StorageCore

/// An alert rule (docs/alerts.md): a field of a sensor type above or below a threshold for at least a
/// duration, cleared at a threshold of its own (hysteresis); or no reading from a device for a duration.
/// Scoped to a sensor type, optionally one device or the devices whose id starts with a prefix.
public struct AlertRule: Sendable, Equatable {
    public enum Condition: String, Sendable, CaseIterable {
        case above, below, silent
    }

    public var id: String
    public var name: String
    public var sensor: String
    public var condition: Condition
    /// The field a threshold rule reads (nil for `silent`).
    public var field: String?
    public var threshold: Double?
    /// Where a raised threshold alert clears: at or below it for `above`, at or above it for `below`.
    /// Nil: the threshold itself.
    public var clearThreshold: Double?
    /// How long the condition must hold before the alert is raised (µs); for `silent`, the time without a reading.
    public var forMicros: Int64
    public var device: String?
    public var devicePrefix: String?
    public var webhook: String?
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(
        id: String = "", name: String, sensor: String, condition: Condition, field: String? = nil, threshold: Double? = nil,
        clearThreshold: Double? = nil, forMicros: Int64 = 0, device: String? = nil, devicePrefix: String? = nil, webhook: String? = nil,
        createdAt: Int64 = 0, updatedAt: Int64 = 0
    ) {
        self.id = id
        self.name = name
        self.sensor = sensor
        self.condition = condition
        self.field = field
        self.threshold = threshold
        self.clearThreshold = clearThreshold
        self.forMicros = forMicros
        self.device = device
        self.devicePrefix = devicePrefix
        self.webhook = webhook
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Whether the rule looks at this device.
    public func applies(to device: String) -> Bool {
        if let only = self.device, only != device { return false }
        if let prefix = devicePrefix, !device.hasPrefix(prefix) { return false }
        return true
    }

    /// Whether two rules raise and clear the same episodes (names and webhooks apart).
    public func meansTheSame(as other: AlertRule) -> Bool {
        sensor == other.sensor && condition == other.condition && field == other.field && threshold == other.threshold
            && clearThreshold == other.clearThreshold && forMicros == other.forMicros && device == other.device && devicePrefix == other.devicePrefix
    }

    /// A value that breaches the threshold.
    public func breaches(_ value: Double) -> Bool {
        guard let threshold else { return false }
        return condition == .above ? value > threshold : condition == .below && value < threshold
    }

    /// A value that clears a raised alert.
    public func clears(_ value: Double) -> Bool {
        guard let limit = clearThreshold ?? threshold else { return false }
        return condition == .above ? value <= limit : condition == .below && value >= limit
    }

    package static let columns = """
        id::text, name, sensor, condition, field, threshold, clear_threshold, for_micros, device, device_prefix, webhook, \
        \(SQLTime.micros("created_at")), \(SQLTime.micros("updated_at"))
        """

    package static func rule(_ row: [String?]) -> AlertRule? {
        guard let id = row[0], let name = row[1], let sensor = row[2], let condition = row[3].flatMap(Condition.init(rawValue:)),
            let forMicros = row[7].flatMap({ Int64($0) })
        else { return nil }
        return AlertRule(
            id: id, name: name, sensor: sensor, condition: condition, field: row[4], threshold: row[5].flatMap { Double($0) },
            clearThreshold: row[6].flatMap { Double($0) }, forMicros: forMicros, device: row[8], devicePrefix: row[9], webhook: row[10],
            createdAt: row[11].flatMap { Int64($0) } ?? 0, updatedAt: row[12].flatMap { Int64($0) } ?? 0)
    }
}

/// Reading the rules, for the writers (threshold rules) and the REST API.
public enum AlertRules {
    /// The rules of these sensor types (all when nil), oldest first.
    public static func load(sensors: [String]? = nil, on connection: PGConnection) throws(PGError) -> [AlertRule] {
        if let sensors {
            return try connection.query(
                "SELECT \(AlertRule.columns) FROM alert_rules WHERE sensor = ANY($1::text[]) ORDER BY created_at, id",
                [SQLText.textArray(sensors)]
            ).rows.compactMap(AlertRule.rule)
        }
        return try connection.execute("SELECT \(AlertRule.columns) FROM alert_rules ORDER BY created_at, id").rows.compactMap(AlertRule.rule)
    }

    public static func rule(id: String, on connection: PGConnection) throws(PGError) -> AlertRule? {
        try connection.query("SELECT \(AlertRule.columns) FROM alert_rules WHERE id = $1::uuid", [id]).rows.first.flatMap(AlertRule.rule)
    }

    /// Moves with every change of any rule: a writer reloads when it differs from what it loaded with.
    public static func version(on connection: PGConnection) throws(PGError) -> Int64 {
        Int64(try connection.execute("SELECT version FROM alert_rules_version")[0, 0] ?? "0") ?? 0
    }

    /// Held shared by a writer from reading its rules' states to its commit, exclusively by a change of rules
    /// from its start to its commit: a batch never writes states or episodes for rules that changed under it
    /// (it finds the version moved and starts again with the new rules), and the two never deadlock.
    static let changeLock: Int64 = 0x7465_6C65_6D61_6C72  // "telemalr"
    package static let lockShared = "SELECT pg_advisory_xact_lock_shared(\(changeLock))"
    package static let lockForChange = "SELECT pg_advisory_xact_lock(\(changeLock))"

    /// The statements a change of rules runs in its transaction.
    package static let bumpVersion = "UPDATE alert_rules_version SET version = version + 1"
}
