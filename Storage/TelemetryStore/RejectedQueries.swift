import Postgres

public enum RejectedQueries {
    /// Dead letters in `[from, to)` by `(receivedAt, id)`, oldest first when `ascending` else newest
    /// first, past the cursor in that order; `reason`: only those whose reason starts with it (a code
    /// such as `truncated`).
    public static func list(
        sensor: String?, reason: String? = nil, from: Int64, to: Int64, after cursor: (Int64, Int64)?, ascending: Bool = true, limit: Int,
        on connection: PGConnection
    ) throws(PGError) -> [StoredRejection] {
        let (past, direction) = ascending ? (">", "ASC") : ("<", "DESC")
        let result = try connection.query("""
            SELECT id, sensor, topic, \(ReadingQueries.micros("received_at")), reason, encode(payload, 'base64')
            FROM rejected
            WHERE ($1::text IS NULL OR sensor = $1)
              AND received_at >= \(ReadingQueries.timestamp("$2")) AND received_at < \(ReadingQueries.timestamp("$3"))
              AND ($4::int8 IS NULL OR (received_at, id) \(past) (\(ReadingQueries.timestamp("$4")), $5::int8))
              AND ($7::text IS NULL OR starts_with(reason, $7))
            ORDER BY received_at \(direction), id \(direction) LIMIT $6
            """, [sensor, String(from), String(to), cursor.map { String($0.0) }, cursor.map { String($0.1) }, String(limit), reason])
        return result.rows.map { row in
            StoredRejection(
                id: Int64(row[0]!)!, sensor: row[1], topic: row[2]!, receivedAt: Int64(row[3]!)!, reason: row[4]!,
                payload: Base64.decode(row[5]!.filter { $0 != "\n" }) ?? [])
        }
    }
}

/// PostgreSQL's base64 output back to bytes (the API re-encodes; this keeps the store's type honest).
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        var table = [Int16](repeating: -1, count: 256)
        for (index, char) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { table[Int(char)] = Int16(index) }
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for char in text.utf8 where char != UInt8(ascii: "=") {
            let value = table[Int(char)]
            guard value >= 0 else { return nil }
            buffer = (buffer << 6) | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }
}
