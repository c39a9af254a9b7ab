import CLibPQ

/// A finished result, read as text. Copied out of libpq at once so it owns no C memory.
public struct PGResult: Sendable {
    public let columns: [String]
    public let rows: [[String?]]
    public let affectedRows: Int
    /// The command tag's verb: "INSERT", "COMMIT", or "ROLLBACK" for a COMMIT of a failed transaction.
    public let command: String

    public var count: Int { rows.count }

    public subscript(row: Int, column: Int) -> String? { rows[row][column] }

    static func checked(_ result: OpaquePointer?, connection: OpaquePointer) throws(PGError) -> PGResult {
        guard let result else {
            throw PGError(sqlState: "08006", message: PGConnection.lastMessage(connection))
        }
        defer { PQclear(result) }
        try error(result, connection: connection)
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, Int32(row), Int32(column))))
                }
            }
            rows.append(values)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        let command = String(cString: PQcmdStatus(result)).split(separator: " ").first.map(String.init) ?? ""
        return PGResult(columns: columns, rows: rows, affectedRows: affected, command: command)
    }

    /// Throws the result's error, if any, without freeing it.
    private static func error(_ result: OpaquePointer, connection: OpaquePointer) throws(PGError) {
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_IN else {
            let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            let message = primary ?? String(cString: PQresultErrorMessage(result))
            // A fatal result without SQLSTATE means the connection failed mid-way.
            throw PGError(sqlState: sqlState ?? (PQstatus(connection) == CONNECTION_OK ? nil : "08006"), message: message)
        }
    }

    /// Like `checked` but keeps the result (the caller frees it); frees it only when throwing.
    static func check(_ result: OpaquePointer?, connection: OpaquePointer) throws(PGError) {
        guard let result else {
            throw PGError(sqlState: "08006", message: PGConnection.lastMessage(connection))
        }
        do throws(PGError) {
            try error(result, connection: connection)
        } catch {
            PQclear(result)
            throw error
        }
    }
}

