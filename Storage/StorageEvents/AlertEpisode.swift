import Foundation
import Postgres
import SensorModel
import StorageCore

/// One episode of an alert: raised once for a rule and a device, maybe acknowledged, cleared once
/// (docs/alerts.md). The REST API shows it and the notifiers send it, in the same JSON.
public struct AlertEpisode: Sendable, Equatable {
    public var id: String
    public var ruleID: String
    public var ruleName: String
    public var sensor: String
    public var device: String
    public var condition: String
    public var field: String?
    public var threshold: Double?
    /// The reading's value that raised it (nil for `silent`).
    public var value: Double?
    /// When the condition began to hold (the first breaching reading, or the last one heard), and when it
    /// had held for the rule's duration: reading times, µs.
    public var startedAt: Int64
    public var raisedAt: Int64
    /// When the platform wrote the episode (its clock).
    public var noticedAt: Int64
    public var acknowledgedAt: Int64?
    public var acknowledgedBy: String?
    public var clearedAt: Int64?
    public var clearValue: Double?
    public var clearReason: String?

    /// `open` (raised, not acknowledged), `acknowledged` or `cleared`.
    public var state: String { clearedAt != nil ? "cleared" : acknowledgedAt != nil ? "acknowledged" : "open" }

    package static let columns = """
        e.id::text, e.rule_id::text, e.rule_name, e.sensor, e.device, e.condition, e.field, e.threshold, e.value, \
        \(SQLTime.micros("e.started_at")), \(SQLTime.micros("e.raised_at")), \(SQLTime.micros("e.noticed_at")), \
        \(SQLTime.micros("e.acknowledged_at")), e.acknowledged_by, \(SQLTime.micros("e.cleared_at")), e.clear_value, e.clear_reason
        """
    package static let columnCount = 17

    package static func episode(_ row: ArraySlice<String?>) -> AlertEpisode? {
        let row = Array(row)
        guard row.count >= columnCount, let id = row[0], let ruleID = row[1], let ruleName = row[2], let sensor = row[3], let device = row[4],
            let condition = row[5], let startedAt = row[9].flatMap({ Int64($0) }), let raisedAt = row[10].flatMap({ Int64($0) }),
            let noticedAt = row[11].flatMap({ Int64($0) })
        else { return nil }
        return AlertEpisode(
            id: id, ruleID: ruleID, ruleName: ruleName, sensor: sensor, device: device, condition: condition, field: row[6],
            threshold: row[7].flatMap { Double($0) }, value: row[8].flatMap { Double($0) }, startedAt: startedAt, raisedAt: raisedAt,
            noticedAt: noticedAt, acknowledgedAt: row[12].flatMap { Int64($0) }, acknowledgedBy: row[13], clearedAt: row[14].flatMap { Int64($0) },
            clearValue: row[15].flatMap { Double($0) }, clearReason: row[16])
    }

    /// The episode as JSON (sorted keys), with the event a notification is about.
    public func json(event: String? = nil) -> [UInt8] {
        var object: [String: Any] = [
            "id": id, "rule": ["id": ruleID, "name": ruleName], "sensor": sensor, "device": device, "condition": condition,
            "state": state, "started_at": TimeText.format(startedAt), "raised_at": TimeText.format(raisedAt),
            "noticed_at": TimeText.format(noticedAt),
        ]
        func put(_ key: String, _ value: Any?) { object[key] = value ?? NSNull() }
        put("field", field)
        put("threshold", threshold.flatMap(Self.finite))
        put("value", value.flatMap(Self.finite))
        put("acknowledged_at", acknowledgedAt.map(TimeText.format))
        put("acknowledged_by", acknowledgedBy)
        put("cleared_at", clearedAt.map(TimeText.format))
        put("clear_value", clearValue.flatMap(Self.finite))
        put("clear_reason", clearReason)
        if let event { object["event"] = event }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return [UInt8](data)
    }

    private static func finite(_ value: Double) -> Double? { value.isFinite ? value : nil }
}
