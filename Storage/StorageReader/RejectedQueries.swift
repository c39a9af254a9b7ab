import Postgres
import StorageCore

public enum RejectedQueries {
    /// Dead letters in `[from, to)` by `(receivedAt, id)`, oldest first when `ascending` else newest
    /// first, past the cursor in that order; `reason`: only those whose reason starts with it (a code
    /// such as `truncated`). At most `limit`, and only as many as fit `maxBytes` by `pageBytes`, plus one:
    /// the first two always come, then each whose predecessor began within the budget, so the caller sees
    /// where the budget ends (and that more follow) without this reading every payload up to `limit`.
    public static func list(
        sensor: String?, reason: String? = nil, from: Int64, to: Int64, after cursor: (Int64, Int64)?, ascending: Bool = true, limit: Int,
        maxBytes: Int = .max, on connection: PGConnection
    ) throws(PGError) -> [StoredRejection] {
        let (past, direction) = ascending ? (">", "ASC") : ("<", "DESC")
        let result = try connection.query("""
            SELECT id, sensor, topic, \(SQLTime.micros("received_at")), reason, encode(payload, 'base64') FROM (
                SELECT *, sum(size) OVER page - size - lag(size, 1, 0::int8) OVER page AS before_previous FROM (
                    SELECT id, sensor, topic, received_at, reason, payload, \(sizeSQL) AS size FROM rejected
                    WHERE ($1::text IS NULL OR sensor = $1)
                      AND received_at >= \(SQLTime.timestamp("$2")) AND received_at < \(SQLTime.timestamp("$3"))
                      AND ($4::int8 IS NULL OR (received_at, id) \(past) (\(SQLTime.timestamp("$4")), $5::int8))
                      AND ($7::text IS NULL OR starts_with(reason, $7))
                    ORDER BY received_at \(direction), id \(direction) LIMIT $6
                ) limited
                WINDOW page AS (ORDER BY received_at \(direction), id \(direction) ROWS UNBOUNDED PRECEDING)
            ) sized
            WHERE before_previous < $8
            ORDER BY received_at \(direction), id \(direction)
            """, [sensor, String(from), String(to), cursor.map { String($0.0) }, cursor.map { String($0.1) }, String(limit), reason, String(maxBytes)])
        return result.rows.map { row in
            StoredRejection(
                id: Int64(row[0]!)!, sensor: row[1], topic: row[2]!, receivedAt: Int64(row[3]!)!, reason: row[4]!,
                payload: Base64.decode(row[5]!.filter { $0 != "\n" }) ?? [])
        }
    }

    /// What a dead letter takes of a page's byte budget: about its size in the API's JSON (the payload as
    /// base64, topic, reason and the rest). `sizeSQL` is the same in SQL; the two must stay equal.
    public static func pageBytes(_ row: StoredRejection) -> Int {
        4 * ((row.payload.count + 2) / 3) + row.topic.utf8.count + row.reason.utf8.count + 128
    }

    static let sizeSQL = "(4 * ((octet_length(payload) + 2) / 3) + octet_length(topic) + octet_length(reason) + 128)::int8"
}

// The services' entry point: the same work on a `StoreConnection`.
extension RejectedQueries {
    public static func list(
        sensor: String?, reason: String? = nil, from: Int64, to: Int64, after cursor: (Int64, Int64)?, ascending: Bool = true, limit: Int,
        maxBytes: Int = .max, on connection: StoreConnection
    ) throws(StoreError) -> [StoredRejection] {
        try StoreError.wrap { () throws(PGError) in
            try list(sensor: sensor, reason: reason, from: from, to: to, after: cursor, ascending: ascending, limit: limit, maxBytes: maxBytes, on: connection.pg)
        }
    }
}
