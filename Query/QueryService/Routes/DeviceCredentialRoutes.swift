import DeviceIdentity
import Foundation
import Hummingbird

/// `/v1/devices/.../credentials` (admin tokens only, BearerAuth): issue, rotate, look up, revoke and
/// provision device credentials. A password appears once, in the response that made it.
enum DeviceCredentialRoutes {
    /// Largest accepted body: 100,000 devices of a few sensor types each.
    static let maxBody = 32 << 20

    static func put(_ request: Request, _ context: some RequestContext, _ store: QueryStore) async throws -> Response {
        let device = try Parameters.path("device", context)
        let body = try await jsonBody(request, allowEmpty: true)
        try onlyKnownKeys(body, ["sensors"])
        let sensors = try sensorRights(body, field: "sensors", store)
        try validate(device: device, sensors: sensors.list, field: "device", sensorsField: "sensors", store)
        let issued = try await store.read { connection in try DeviceCredentials.issue(device: device, sensors: sensors, on: connection) }
        var json = JSONWriter()
        write(issued.credential, password: issued.password, into: &json)
        return .json(json, status: issued.created ? .created : .ok)
    }

    static func get(_ context: some RequestContext, _ store: QueryStore) async throws -> Response {
        let device = try Parameters.path("device", context)
        guard let credential = try await store.read({ connection in try DeviceCredentials.get(device: device, on: connection) }) else {
            throw APIError.notFound("device \(device) has no credential")
        }
        var json = JSONWriter()
        write(credential, password: nil, into: &json)
        return .json(json)
    }

    static func delete(_ context: some RequestContext, _ store: QueryStore) async throws -> Response {
        let device = try Parameters.path("device", context)
        guard try await store.read({ connection in try DeviceCredentials.revoke(device: device, on: connection) }) else {
            throw APIError.notFound("device \(device) has no credential")
        }
        return Response(status: .noContent)
    }

    /// `{"devices": [{"device": "dev-1", "sensors": [...]}, ...]}`: all or nothing.
    static func provision(_ request: Request, _ store: QueryStore) async throws -> Response {
        guard let body = try await jsonBody(request, allowEmpty: false), let list = body["devices"] as? [Any] else {
            throw APIError.invalid("devices", "the body must be {\"devices\": [{\"device\": \"...\"}, ...]}")
        }
        try onlyKnownKeys(body, ["devices"])
        guard !list.isEmpty, list.count <= DeviceCredentials.maxBatch else {
            throw APIError.invalid("devices", "must hold 1 to \(DeviceCredentials.maxBatch) entries, not \(list.count)")
        }
        var entries: [(device: String, sensors: SensorRights)] = []
        var seen = Set<String>()
        for (index, item) in list.enumerated() {
            let field = "devices[\(index)]"
            guard let entry = item as? [String: Any], let device = entry["device"] as? String else {
                throw APIError.invalid("\(field).device", "is missing or not a string")
            }
            try onlyKnownKeys(entry, ["device", "sensors"], in: "\(field).")
            let sensors = try sensorRights(entry, field: "\(field).sensors", store)
            try validate(device: device, sensors: sensors.list, field: "\(field).device", sensorsField: "\(field).sensors", store)
            guard seen.insert(device).inserted else { throw APIError.invalid("\(field).device", "\(device) is listed twice") }
            entries.append((device, sensors))
        }
        let batch = entries
        let issued = try await store.read { connection in try DeviceCredentials.issue(batch, on: connection) }
        var json = JSONWriter(capacity: 64 + issued.count * 96)
        json.beginObject()
        json.key("credentials")
        json.beginArray()
        for credential in issued {
            json.beginObject()
            json.field("device", credential.credential.device)
            json.field("username", credential.credential.device)
            json.field("password", credential.password)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return .json(json)
    }

    static func list(_ request: Request, _ store: QueryStore) async throws -> Response {
        let parameters = Parameters(request)
        let limit = try parameters.limit(default: 1000, max: 10_000)
        let cursor = try parameters.string("cursor").map { try parameters.deviceCursor(Cursor.decode($0, parts: 1)[0]) }
        let rows = try await store.read { connection in try DeviceCredentials.list(limit: limit + 1, after: cursor, on: connection) }
        var json = JSONWriter(capacity: 64 + rows.count * 160)
        json.beginObject()
        json.key("credentials")
        json.beginArray()
        for credential in rows.prefix(limit) { write(credential, password: nil, into: &json) }
        json.endArray()
        json.field("next", rows.count > limit ? Cursor.encode([rows[limit - 1].device]) : nil)
        json.endObject()
        return .json(json)
    }

    private static func write(_ credential: DeviceCredential, password: String?, into json: inout JSONWriter) {
        json.beginObject()
        json.field("device", credential.device)
        json.field("username", credential.device)
        if let password { json.field("password", password) }
        // null: every sensor type of the catalog, also those added later.
        json.key("sensors")
        if let sensors = credential.sensors {
            json.beginArray()
            for sensor in sensors { json.string(sensor) }
            json.endArray()
        } else {
            json.null()
        }
        json.field("created", TimeText.format(credential.created))
        json.field("rotated", TimeText.format(credential.rotated))
        json.endObject()
    }

    private static func validate(device: String, sensors: [String]?, field: String, sensorsField: String, _ store: QueryStore) throws {
        do {
            try DeviceCredentials.validate(device: device, sensors: sensors, catalog: store.catalog)
        } catch {
            throw APIError.invalid(error.code == "invalid_sensors" ? sensorsField : field, error.message)
        }
    }

    /// An object's `sensors`: a list of sensor type names, null for every type, absent for what the device
    /// has (a rotation keeps a device's rights; a new device gets every type).
    private static func sensorRights(_ object: [String: Any]?, field: String, _ store: QueryStore) throws -> SensorRights {
        guard let value = object?["sensors"] else { return .unchanged }
        if value is NSNull { return .all }
        guard let names = value as? [Any], names.allSatisfy({ $0 is String }) else { throw APIError.invalid(field, "must be a list of sensor type names") }
        return .only(names.map { $0 as! String })
    }

    /// A key the API does not take is refused, not ignored: `"password": "chosen"` must not look accepted.
    static func onlyKnownKeys(_ object: [String: Any]?, _ known: Set<String>, in prefix: String = "") throws {
        guard let unknown = object?.keys.filter({ !known.contains($0) }).min() else { return }
        throw APIError.invalid(prefix + unknown.prefix(64), "is not a field this body takes (\(known.sorted().joined(separator: ", ")))")
    }

    /// The body as a JSON object; nil when empty and that is allowed.
    static func jsonBody(_ request: Request, allowEmpty: Bool, limit: Int = maxBody) async throws -> [String: Any]? {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch {
            throw APIError.invalid("body", "is larger than \(limit >= 1 << 20 ? "\(limit >> 20) MiB" : "\(limit >> 10) KiB")")
        }
        if buffer.readableBytes == 0 {
            if allowEmpty { return nil }
            throw APIError.invalid("body", "is empty")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] else {
            throw APIError.invalid("body", "is not a JSON object")
        }
        return object
    }
}
