import Foundation
import Hummingbird
import StorageOperations
import StorageReader

enum RejectedRoutes {
    /// A page stops at about this many bytes of JSON (`RejectedQueries.pageBytes`; always at least one dead
    /// letter), whatever the limit: payloads may be up to the broker's packet size each.
    static let pageBudget = 1 << 20

    static func list(_ request: Request, _ store: QueryStore) async throws -> Response {
        let parameters = Parameters(request)
        let sensor = try parameters.string("sensor").map { try store.sensor($0).name }
        let reason = try parameters.code("reason")
        let (from, to) = try parameters.range()
        let limit = try parameters.limit(default: 100, max: 10_000)
        let ascending = try parameters.ascending()
        // (receive time, id, database): ids count per database, so with several the database's index
        // (in `placement.urls`) orders rows of one microsecond and is part of the cursor.
        let cursor = try parameters.string("cursor").map { text -> (Int64, Int64, Int) in
            let parts = try Cursor.decode(text, parts: store.placement.urls.count > 1 ? 3 : 2)
            let time = try Parameters.cursorTime(parts[0])
            guard let id = Int64(parts[1]), let database = parts.count > 2 ? Int(parts[2]) : 0 else {
                throw APIError.invalid("cursor", "is not a cursor this API returned")
            }
            return (time, id, database)
        }
        let urls = sensor.map { [store.placement.url(for: $0)] } ?? store.placement.urls
        var rows: [(row: StoredRejection, database: Int)] = []
        for url in urls {
            let index = store.placement.urls.firstIndex(of: url)!
            // Past the cursor: the id bound is Int64.max in a database before the cursor's, -1 in one after
            // it. As the databases' order turns with the times', that is right both ways: ascending, the
            // former's rows of the cursor's microsecond are done and the latter's to come; descending, the reverse.
            let after = cursor.map { ($0.0, index < $0.2 ? Int64.max : index > $0.2 ? -1 : $0.1) }
            let found = try await store.readHistory(at: url) { connection in
                try RejectedQueries.list(
                    sensor: sensor, reason: reason, from: from, to: to, after: after, ascending: ascending, limit: limit + 1, maxBytes: Self.pageBudget,
                    on: connection)
            }
            rows += found.map { ($0, index) }
        }
        rows.sort {
            let (a, b) = (($0.row.receivedAt, $0.database, $0.row.id), ($1.row.receivedAt, $1.database, $1.row.id))
            return ascending ? a < b : a > b
        }
        // Rows in order while they fit the limit and the budget; stopping at the first that does not keeps
        // the page a prefix of the order, so the cursor of its last row continues it in every database.
        var written = 0, bytes = 0
        for (row, _) in rows {
            let size = RejectedQueries.pageBytes(row)
            guard written < limit, written == 0 || bytes + size <= pageBudget else { break }
            written += 1
            bytes += size
        }
        var json = JSONWriter(capacity: 64 + bytes)
        json.beginObject()
        json.key("rejected")
        json.beginArray()
        for (row, _) in rows.prefix(written) {
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
        let last = written < rows.count ? rows[written - 1] : nil
        let next = last.map { last in
            [String(last.row.receivedAt), String(last.row.id)] + (store.placement.urls.count > 1 ? [String(last.database)] : [])
        }
        json.field("next", next.map(Cursor.encode))
        json.endObject()
        return .json(json)
    }

    /// `GET /v1/rejected/over-quota`: the hours in which a device (or a topic outside `telemetry/`) had more
    /// dead letters than its quota, with how many were kept and how many refused; newest hour first, summed
    /// over the databases.
    static func overQuota(_ request: Request, _ store: QueryStore) async throws -> Response {
        let parameters = Parameters(request)
        // Not paged: a cursor here is none this API returned, and ignoring it would pass for a last page.
        guard parameters.string("cursor") == nil else { throw APIError.invalid("cursor", "this list is not paged; narrow from and to instead") }
        let (from, to) = try parameters.range()
        let limit = try parameters.limit(default: 100, max: 1000)
        var merged: [String: DeadLetterQuota.Count] = [:]
        for url in store.placement.urls {
            for count in try await store.readHistory(at: url, { connection in try DeadLetterQuota.overQuota(from: from, to: to, limit: limit, on: connection) }) {
                let key = "\(count.hour) \(count.source)"
                guard var total = merged[key] else { merged[key] = count; continue }
                total.kept += count.kept
                total.refused += count.refused
                merged[key] = total
            }
        }
        let counts = merged.values.sorted { ($0.hour, $0.refused, $1.source) > ($1.hour, $1.refused, $0.source) }.prefix(limit)
        var json = JSONWriter(capacity: 64 + counts.count * 120)
        json.beginObject()
        json.key("over_quota")
        json.beginArray()
        for count in counts {
            json.beginObject()
            json.field("source", count.source)
            json.field("hour", TimeText.format(count.hour))
            json.field("kept", integer: count.kept)
            json.field("refused", integer: count.refused)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return .json(json)
    }
}
