import Hummingbird
import SensorModel
import StorageReader

enum SensorRoutes {
    static func catalog(_ catalog: Catalog) -> Response {
        var json = JSONWriter()
        json.beginObject()
        json.key("sensors")
        json.beginArray()
        for sensor in catalog.sensors {
            json.beginObject()
            json.field("name", sensor.name)
            json.field("topic_filter", "telemetry/\(sensor.name)/{device}[/{format}]")
            json.field("default_format", sensor.format.rawValue)
            json.key("formats")
            json.beginArray()
            for format in PayloadFormat.onTelemetryTopics { json.string(format.rawValue) }
            json.endArray()
            json.key("fields")
            json.beginArray()
            for field in sensor.fields {
                json.beginObject()
                json.field("name", field.name)
                json.field("unit", field.unit)
                json.field("min", field.min)
                json.field("max", field.max)
                json.endObject()
            }
            json.endArray()
            writeSources(sensor, into: &json)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return .json(json)
    }

    static func latest(_ request: Request, _ context: some RequestContext, _ store: QueryStore) async throws -> Response {
        let sensor = try store.sensor(Parameters.path("sensor", context))
        let device = try Parameters(request).device(Parameters.path("device", context))
        let queries = ReadingQueries(sensor: sensor)
        let reading: StoredReading? = try await store.readHistory(for: sensor) { connection in
            guard let stored = try queries.device(named: device, on: connection) else { return nil }
            return try queries.latest(deviceID: stored.id, on: connection)
        }
        guard let reading else { throw APIError.notFound("no readings from device '\(device)' for \(sensor.name)") }
        var json = JSONWriter()
        json.beginObject()
        json.field("sensor", sensor.name)
        json.field("device", device)
        writeFields(sensor, into: &json)
        json.key("reading")
        write(reading, sensor: sensor, into: &json)
        json.endObject()
        return .json(json)
    }

    static func readings(_ request: Request, _ context: some RequestContext, _ store: QueryStore) async throws -> Response {
        let sensor = try store.sensor(Parameters.path("sensor", context))
        let parameters = Parameters(request)
        let device = try parameters.device(Parameters.path("device", context))
        let (from, to) = try parameters.range()
        let ascending = try parameters.ascending()
        let queries = ReadingQueries(sensor: sensor)
        if try CSVExport.wanted(request, parameters) {
            // The whole range (or `limit` rows, any number), streamed.
            let limit = try parameters.string("limit").map { _ in try parameters.limit(default: 0, max: Int.max) }
            guard let stored = try await store.readHistory(for: sensor, { connection in try queries.device(named: device, on: connection) }) else {
                throw APIError.notFound("unknown device '\(device)' for \(sensor.name)")
            }
            return CSVExport.readings(
                sensor: sensor, device: device, deviceID: stored.id, from: from, to: to, ascending: ascending, limit: limit, store: store)
        }
        let limit = try parameters.limit(default: 1000, max: 10_000)
        let cursor = try parameters.string("cursor").map { try Parameters.cursorTime(try Cursor.decode($0, parts: 1)[0]) }
        let readings: [StoredReading]? = try await store.readHistory(for: sensor) { connection in
            guard let stored = try queries.device(named: device, on: connection) else { return nil }
            return try queries.readings(
                deviceID: stored.id, from: from, to: to, after: cursor, ascending: ascending, limit: limit + 1, on: connection)
        }
        guard let readings else { throw APIError.notFound("unknown device '\(device)' for \(sensor.name)") }
        var json = JSONWriter(capacity: 64 + readings.count * 80)
        json.beginObject()
        json.field("sensor", sensor.name)
        json.field("device", device)
        writeFields(sensor, into: &json)
        json.key("readings")
        json.beginArray()
        for reading in readings.prefix(limit) { write(reading, sensor: sensor, into: &json) }
        json.endArray()
        json.field("next", readings.count > limit ? Cursor.encode([String(readings[limit - 1].time)]) : nil)
        json.endObject()
        return .json(json)
    }

    static func writeFields(_ sensor: SensorType, into json: inout JSONWriter) {
        json.key("fields")
        json.beginArray()
        for field in sensor.fields { json.string(field.name) }
        json.endArray()
    }

    /// Fields a reading does not carry are left out.
    static func write(_ reading: StoredReading, sensor: SensorType, into json: inout JSONWriter) {
        json.beginObject()
        json.key("time"); json.time(reading.time)
        json.field("seq", integer: reading.seq)
        for (field, value) in zip(sensor.fields, reading.values) where value != nil {
            json.field(field.name, value)
        }
        json.endObject()
    }
}
