import Foundation
import Hummingbird
import SensorModel
import StorageEvents
import StorageOperations

/// Alert rules (`/v1/alert-rules`, changes with an admin token) and episodes (`/v1/alerts`, acknowledged with
/// an admin token). docs/rest-api.md#alerts, docs/alerts.md. Rules live in the database of their sensor type:
/// lists read every database, one id is looked for in each.
enum AlertRoutes {
    static let ruleKeys: Set<String> = ["name", "sensor", "condition", "field", "threshold", "clear", "for", "device", "device_prefix", "webhook"]

    /// `webhooks`: the rules' webhook URLs whole (an admin's request), else only their origins.
    static func listRules(_ request: Request, _ store: QueryStore, webhooks: Bool) async throws -> Response {
        let sensor = try Parameters(request).string("sensor").map { try store.sensor($0) }
        var rules: [AlertRule] = []
        for url in databases(store, sensor: sensor) {
            rules += try await store.read(at: url) { connection in try AlertRules.load(sensors: sensor.map { [$0.name] }, on: connection.pg) }
        }
        rules.sort { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        return .json("{\"rules\":[" + rules.map { json($0, webhook: webhooks) }.joined(separator: ",") + "]}")
    }

    static func getRule(_ context: some RequestContext, _ store: QueryStore, webhooks: Bool) async throws -> Response {
        let (_, rule) = try await find(rule: Parameters.path("id", context), store)
        return .json(json(rule, webhook: webhooks))
    }

    static func createRule(_ request: Request, _ store: QueryStore) async throws -> Response {
        let rule = try await parse(request, store)
        let created = try await store.read(for: try store.sensor(rule.sensor)) { connection in try AlertStore.create(rule, on: connection) }
        return .json(json(created), status: .created)
    }

    /// `PUT`: the whole rule again. Its sensor type stays; a change of what it means clears its open episodes.
    static func replaceRule(_ request: Request, _ context: some RequestContext, _ store: QueryStore) async throws -> Response {
        let (url, old) = try await find(rule: Parameters.path("id", context), store)
        let rule = try await parse(request, store)
        guard rule.sensor == old.sensor else { throw APIError.invalid("sensor", "a rule's sensor type cannot change (it is \(old.sensor)); make a new rule") }
        guard let replaced = try await store.read(at: url, { connection in try AlertStore.replace(id: old.id, with: rule, on: connection) }) else {
            throw APIError.notFound("no alert rule \(old.id)")
        }
        return .json(json(replaced))
    }

    static func deleteRule(_ context: some RequestContext, _ store: QueryStore) async throws -> Response {
        let (url, rule) = try await find(rule: Parameters.path("id", context), store)
        guard try await store.read(at: url, { connection in try AlertStore.delete(id: rule.id, on: connection) }) else {
            throw APIError.notFound("no alert rule \(rule.id)")
        }
        return Response(status: .noContent)
    }

    static func listEpisodes(_ request: Request, _ store: QueryStore) async throws -> Response {
        let parameters = Parameters(request)
        let sensor = try parameters.string("sensor").map { try store.sensor($0) }
        let device = try parameters.string("device").map { try parameters.device($0) }
        let rule = try parameters.string("rule").map { try uuid($0, name: "rule") }
        let limit = try parameters.limit(default: 100, max: 1000)
        let known = ["open", "acknowledged", "cleared"]
        let states: Set<String>? = try parameters.string("state").flatMap { text in
            if text == "all" { return nil }
            let states = Set(text.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
            guard states.isSubset(of: known) else { throw APIError.invalid("state", "must be open, acknowledged, cleared (comma-separated) or all") }
            return states
        }
        let filter = AlertStore.EpisodeFilter(states: states, sensor: sensor?.name, device: device, rule: rule, limit: limit)
        var episodes: [AlertEpisode] = []
        for url in databases(store, sensor: sensor) {
            episodes += try await store.read(at: url) { connection in try AlertStore.episodes(filter, on: connection) }
        }
        episodes.sort { ($0.clearedAt != nil ? 1 : 0, -$0.raisedAt, $0.id) < ($1.clearedAt != nil ? 1 : 0, -$1.raisedAt, $1.id) }
        let page = episodes.prefix(limit)
        let body = page.map { String(decoding: $0.json(), as: UTF8.self) }.joined(separator: ",")
        return .json("{\"alerts\":[" + body + "]}")
    }

    static func getEpisode(_ context: some RequestContext, _ store: QueryStore) async throws -> Response {
        let id = try uuid(Parameters.path("id", context), name: "id")
        for url in store.placement.urls {
            if let episode = try await store.read(at: url, { connection in try AlertStore.episode(id: id, on: connection) }) {
                return .json(String(decoding: episode.json(), as: UTF8.self))
            }
        }
        throw APIError.notFound("no alert \(id)")
    }

    /// `POST /v1/alerts/{id}/acknowledge`, optional body `{"by": "name"}`.
    static func acknowledge(_ request: Request, _ context: some RequestContext, _ store: QueryStore) async throws -> Response {
        let id = try uuid(Parameters.path("id", context), name: "id")
        let body = try await DeviceCredentialRoutes.jsonBody(request, allowEmpty: true, limit: 4 << 10)
        try DeviceCredentialRoutes.onlyKnownKeys(body, ["by"])
        var who = "admin"
        if let value = body?["by"] {
            guard let text = value as? String, (1...200).contains(text.count), !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw APIError.invalid("by", "must be 1-200 characters of text, without control characters")
            }
            who = text
        }
        let by = who
        for url in store.placement.urls {
            if let episode = try await store.read(at: url, { connection in try AlertStore.acknowledge(id: id, by: by, on: connection) }) {
                return .json(String(decoding: episode.json(), as: UTF8.self))
            }
        }
        throw APIError.notFound("no alert \(id)")
    }

    private static func databases(_ store: QueryStore, sensor: SensorType?) -> [String] {
        sensor.map { [store.placement.url(for: $0.name)] } ?? store.placement.urls
    }

    private static func find(rule text: String, _ store: QueryStore) async throws -> (url: String, rule: AlertRule) {
        let id = try uuid(text, name: "rule")
        for url in store.placement.urls {
            if let rule = try await store.read(at: url, { connection in try AlertRules.rule(id: id, on: connection.pg) }) { return (url, rule) }
        }
        throw APIError.notFound("no alert rule \(id)")
    }

    private static func uuid(_ text: String, name: String) throws -> String {
        guard let uuid = UUID(uuidString: text) else { throw APIError.notFound("no such \(name == "rule" ? "alert rule" : "alert"): '\(text.prefix(64))' is not an id this API returned") }
        return uuid.uuidString.lowercased()
    }

    /// A rule from a request body, checked against the catalog.
    static func parse(_ request: Request, _ store: QueryStore) async throws -> AlertRule {
        guard let body = try await DeviceCredentialRoutes.jsonBody(request, allowEmpty: false, limit: 16 << 10) else { throw APIError.invalid("body", "is empty") }
        try DeviceCredentialRoutes.onlyKnownKeys(body, ruleKeys)
        func text(_ key: String, max: Int = 200) throws -> String? {
            guard let value = body[key], !(value is NSNull) else { return nil }
            guard let text = value as? String, (1...max).contains(text.count), !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw APIError.invalid(key, "must be 1-\(max) characters of text, no control characters")
            }
            return text
        }
        func number(_ key: String) throws -> Double? {
            guard let value = body[key], !(value is NSNull) else { return nil }
            // JSON's true and false arrive as numbers too: told apart by their type.
            guard let number = value as? NSNumber, String(cString: number.objCType) != "c", number.doubleValue.isFinite else {
                throw APIError.invalid(key, "must be a finite number")
            }
            return number.doubleValue
        }
        guard let name = try text("name") else { throw APIError.invalid("name", "is required") }
        guard let sensorName = try text("sensor", max: 64) else { throw APIError.invalid("sensor", "is required (GET /v1/sensors lists them)") }
        let sensor = try store.sensor(sensorName)
        guard let conditionText = try text("condition", max: 16), let condition = AlertRule.Condition(rawValue: conditionText) else {
            throw APIError.invalid("condition", "is required: above, below or silent")
        }
        var forMicros: Int64 = 0
        if let duration = try text("for", max: 32), duration != "0s" {
            guard let parsed = DurationText.parse(duration) else { throw APIError.invalid("for", "must be a duration like 0s, 90s, 5m, 2h or 1d") }
            forMicros = parsed.components.seconds * 1_000_000
        }
        var rule = AlertRule(name: name, sensor: sensor.name, condition: condition, forMicros: forMicros)
        if condition == .silent {
            for key in ["field", "threshold", "clear"] where body[key] != nil && !(body[key] is NSNull) {
                throw APIError.invalid(key, "is not for a silent rule (it fires when a device sends nothing for `for`)")
            }
            guard forMicros > 0 else { throw APIError.invalid("for", "is required for a silent rule: how long without a reading, like 10m") }
        } else {
            guard let field = try text("field", max: 64) else { throw APIError.invalid("field", "is required for \(condition.rawValue): one of \(sensor.fields.map(\.name).joined(separator: ", "))") }
            guard sensor.fieldIndex(named: field) != nil else {
                throw APIError.invalid("field", "\(sensor.name) has no field '\(field.prefix(64))'; its fields are \(sensor.fields.map(\.name).joined(separator: ", "))")
            }
            guard let threshold = try number("threshold") else { throw APIError.invalid("threshold", "is required for \(condition.rawValue)") }
            let clear = try number("clear")
            if let clear, condition == .above ? clear > threshold : clear < threshold {
                throw APIError.invalid("clear", "must be at or \(condition == .above ? "below" : "above") the threshold (\(String(format: "%g", threshold))): the alert clears there")
            }
            rule.field = sensor.fields[sensor.fieldIndex(named: field)!].name
            rule.threshold = threshold
            rule.clearThreshold = clear
        }
        let parameters = Parameters(request)
        rule.device = try text("device", max: 64).map { try parameters.device($0) }
        rule.devicePrefix = try text("device_prefix", max: 64).map { try parameters.device($0, name: "device_prefix") }
        if rule.device != nil, rule.devicePrefix != nil { throw APIError.invalid("device_prefix", "give either device or device_prefix, not both") }
        if let webhook = try text("webhook", max: 2000) {
            if let problem = AlertRule.webhookProblem(webhook) { throw APIError.invalid("webhook", problem) }
            rule.webhook = webhook
        }
        return rule
    }

    /// The rule as the API shows it; `webhook` false: the webhook's origin only (`https://host/…`).
    static func json(_ rule: AlertRule, webhook: Bool = true) -> String {
        var json = JSONWriter()
        json.beginObject()
        json.field("id", rule.id)
        json.field("name", rule.name)
        json.field("sensor", rule.sensor)
        json.field("condition", rule.condition.rawValue)
        json.field("field", rule.field)
        json.field("threshold", rule.threshold)
        json.field("clear", rule.clearThreshold)
        json.field("for", rule.forMicros == 0 ? "0s" : DurationText.format(.microseconds(rule.forMicros)))
        json.field("device", rule.device)
        json.field("device_prefix", rule.devicePrefix)
        json.field("webhook", webhook ? rule.webhook : rule.webhook.map(AlertRule.webhookOrigin))
        json.field("created_at", TimeText.format(rule.createdAt))
        json.field("updated_at", TimeText.format(rule.updatedAt))
        json.endObject()
        return String(decoding: json.bytes, as: UTF8.self)
    }
}
