import Foundation
import Hummingbird
import SensorModel
import StorageEvents
import StorageReader

/// A sensor type's devices: the list (with state, `?state=` and `?prefix=` filters), one device, and its
/// own expected interval (admin). docs/rest-api.md#devices-and-their-state.
extension SensorRoutes {
    static func devices(_ request: Request, _ context: some RequestContext, _ store: QueryStore) async throws -> Response {
        let sensor = try store.sensor(Parameters.path("sensor", context))
        let parameters = Parameters(request)
        let limit = try parameters.limit(default: 100, max: 10_000)
        let cursor = try parameters.string("cursor").map { try parameters.deviceCursor(Cursor.decode($0, parts: 1)[0]) }
        let prefix = try parameters.string("prefix").flatMap { $0.isEmpty ? nil : try parameters.device($0, name: "prefix") }
        let state = try parameters.string("state").map { text in
            guard let state = DeviceState(rawValue: text) else {
                throw APIError.invalid("state", "must be one of \(DeviceState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return state
        }
        let queries = ReadingQueries(sensor: sensor)
        let devices = try await store.read(for: sensor) { connection in
            try queries.devices(limit: limit + 1, after: cursor, prefix: prefix, state: state, on: connection)
        }
        var json = JSONWriter()
        json.beginObject()
        json.field("sensor", sensor.name)
        json.key("devices")
        json.beginArray()
        for device in devices.prefix(limit) { write(device, sensor: sensor, into: &json) }
        json.endArray()
        json.field("next", devices.count > limit ? Cursor.encode([devices[limit - 1].device]) : nil)
        json.endObject()
        return .json(json)
    }

    /// `GET /v1/sensors/{sensor}/devices/{device}`.
    static func device(_ request: Request, _ context: some RequestContext, _ store: QueryStore) async throws -> Response {
        let sensor = try store.sensor(Parameters.path("sensor", context))
        let name = try Parameters(request).device(Parameters.path("device", context))
        let queries = ReadingQueries(sensor: sensor)
        guard let device = try await store.read(for: sensor, { connection in try queries.device(named: name, on: connection) }) else {
            throw APIError.notFound("unknown device '\(name)' for \(sensor.name)")
        }
        var json = JSONWriter()
        write(device, sensor: sensor, into: &json)
        return .json(json)
    }

    /// `PATCH /v1/sensors/{sensor}/devices/{device}` (admin): `{"expected_interval": "5m"}`, or `null` for the
    /// sensor type's again.
    static func patchDevice(_ request: Request, _ context: some RequestContext, _ store: QueryStore) async throws -> Response {
        let sensor = try store.sensor(Parameters.path("sensor", context))
        let name = try Parameters(request).device(Parameters.path("device", context))
        let body = try await DeviceCredentialRoutes.jsonBody(request, allowEmpty: false, limit: 4 << 10)
        try DeviceCredentialRoutes.onlyKnownKeys(body, ["expected_interval"])
        guard let value = body?["expected_interval"] else { throw APIError.invalid("expected_interval", "is required (a duration like 90s, 5m, 2h, or null)") }
        let interval: Duration? = try value is NSNull ? nil : {
            guard let text = value as? String, let parsed = DurationText.parse(text) else {
                throw APIError.invalid("expected_interval", "must be a duration like 90s, 5m, 2h or 1d, or null for the sensor type's")
            }
            return parsed
        }()
        let queries = ReadingQueries(sensor: sensor)
        let device: StoredDevice? = try await store.read(for: sensor) { connection in
            guard try queries.setExpectedInterval(interval, device: name, on: connection) else { return nil }
            return try queries.device(named: name, on: connection)
        }
        guard let device else { throw APIError.notFound("unknown device '\(name)' for \(sensor.name)") }
        var json = JSONWriter()
        write(device, sensor: sensor, into: &json)
        return .json(json)
    }

    static func write(_ device: StoredDevice, sensor: SensorType, into json: inout JSONWriter) {
        json.beginObject()
        json.field("device", device.device)
        json.field("first_seen", TimeText.format(device.firstSeen))
        json.field("last_seen", TimeText.format(device.lastSeen))
        json.field("last_heard", TimeText.format(device.lastHeard))
        json.field("state", device.state.rawValue)
        json.field("state_since", TimeText.format(device.stateSince))
        let own = device.expectedInterval.map { Duration.microseconds($0) }
        json.field("expected_interval", DurationText.format(own ?? sensor.expectedInterval))
        json.field("expected_interval_is_own", own != nil)
        json.endObject()
    }

    static func writeState(_ state: String, since: Int64, into json: inout JSONWriter) {
        json.beginObject()
        json.field("state", state)
        json.field("since", TimeText.format(since))
        json.endObject()
    }
}
