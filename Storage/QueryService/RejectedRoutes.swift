import Foundation
import Hummingbird
import TelemetryStore

enum RejectedRoutes {
    static func list(_ request: Request, _ store: QueryStore) async throws -> Response {
        let parameters = Parameters(request)
        let sensor = try parameters.string("sensor").map { try store.sensor($0).name }
        let (from, to) = try parameters.range()
        let limit = try parameters.limit(default: 100, max: 10_000)
        let cursor = try parameters.string("cursor").map { text -> (Int64, Int64) in
            let parts = try Cursor.decode(text, parts: 2)
            guard let time = Int64(parts[0]), let id = Int64(parts[1]) else { throw APIError.invalid("cursor", "is not a cursor this API returned") }
            return (time, id)
        }
        let rows = try await store.read { connection in
            try RejectedQueries.list(sensor: sensor, from: from, to: to, after: cursor, limit: limit + 1, on: connection)
        }
        var json = JSONWriter(capacity: 64 + rows.count * 200)
        json.beginObject()
        json.key("rejected")
        json.beginArray()
        for row in rows.prefix(limit) {
            json.beginObject()
            json.field("id", integer: row.id)
            json.field("sensor", row.sensor)
            json.field("topic", row.topic)
            json.field("received_at", TimeText.format(row.receivedAt))
            json.field("reason", row.reason)
            json.field("payload", Data(row.payload).base64EncodedString())
            json.endObject()
        }
        json.endArray()
        json.field("next", rows.count > limit ? Cursor.encode([String(rows[limit - 1].receivedAt), String(rows[limit - 1].id)]) : nil)
        json.endObject()
        return .json(json)
    }
}
