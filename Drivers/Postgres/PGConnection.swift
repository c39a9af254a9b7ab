import CLibPQ
import Foundation

/// One libpq connection. Every call blocks: use it from a thread of its own, never from Swift's
/// cooperative pool. Not thread-safe; one user at a time.
public final class PGConnection: @unchecked Sendable {
    private var connection: OpaquePointer?
    public let url: String
    /// Counts reconnects: what a session holds (temporary tables, prepared statements) is gone when it changes.
    public private(set) var session: UInt64 = 0
    /// `withPreparedQuery`'s statements of this session: SQL text → statement name.
    private var preparedStatements: [String: String] = [:]
    private var preparedSession: UInt64 = 0
    private var preparedCount = 0
    /// A caller's SQL texts are few; past this many something builds them from values: start over.
    static let preparedStatementLimit = 64

    /// - Parameters:
    ///   - url: a libpq connection URL or key=value string.
    ///   - connectTimeoutSeconds: per host, unless `url` sets `connect_timeout` itself.
    public init(url: String, connectTimeoutSeconds: Int = 5) throws(PGError) {
        self.url = url
        // Defaults first: what the URL says itself (a cluster's shorter connect_timeout per host) comes after and wins.
        // TCP: a server whose network is cut sends no RST; without keepalives and a user timeout a session
        // waiting on it (a COMMIT waiting for a standby) would wait until the kernel gives up, ~15 minutes.
        let keys = ["connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                    "application_name", "dbname"]
        let values = [String(connectTimeoutSeconds), "1", "10", "3", "3", "20000", ProcessInfo.processInfo.processName, url]
        connection = Self.connect(keys: keys, values: values)
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let message = connection.map { Self.lastMessage($0) } ?? "out of memory"
            PQfinish(connection)
            self.connection = nil
            throw PGError(sqlState: nil, message: "cannot connect to PostgreSQL: \(message)")
        }
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        // Buckets and partitions are UTC days and hours, whatever the server's default zone.
        try execute("SET TIME ZONE 'UTC'")
    }

    private static func connect(keys: [String], values: [String]) -> OpaquePointer? {
        var keyPointers = keys.map { strdup($0) }
        var valuePointers = values.map { strdup($0) }
        defer {
            keyPointers.forEach { free($0) }
            valuePointers.forEach { free($0) }
        }
        keyPointers.append(nil)
        valuePointers.append(nil)
        return keyPointers.withUnsafeBufferPointer { keys in
            valuePointers.withUnsafeBufferPointer { values in
                keys.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: keys.count) { keys in
                    values.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: values.count) { values in
                        PQconnectdbParams(keys, values, 1)
                    }
                }
            }
        }
    }

    deinit { PQfinish(connection) }

    public var isHealthy: Bool {
        guard let connection else { return false }
        return PQstatus(connection) == CONNECTION_OK
    }

    /// Runs one or more statements without parameters (schema, BEGIN/COMMIT).
    @discardableResult
    public func execute(_ sql: String) throws(PGError) -> PGResult {
        let connection = try live()
        return try PGResult.checked(PQexec(connection, sql), connection: connection)
    }

    /// Runs several statements in one round trip and returns each one's outcome, in order, up to the first
    /// that failed (the server runs none after it). Throws only when the connection fails. For a string
    /// whose later statements may fail without undoing the earlier ones (after a COMMIT).
    public func executeEach(_ sql: String) throws(PGError) -> [Result<PGResult, PGError>] {
        let connection = try live()
        guard PQsendQuery(connection, sql) == 1 else {
            throw PGError(sqlState: "08006", message: "cannot send a query: \(Self.lastMessage(connection))")
        }
        var outcomes: [Result<PGResult, PGError>] = []
        while let result = PQgetResult(connection) {
            do throws(PGError) { outcomes.append(.success(try PGResult.checked(result, connection: connection))) } catch { outcomes.append(.failure(error)) }
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            throw PGError(sqlState: "08006", message: "connection to PostgreSQL lost: \(Self.lastMessage(connection))")
        }
        return outcomes
    }

    /// Runs one statement with text parameters; nil is SQL NULL. Values never touch the SQL text.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PGError) -> PGResult {
        let connection = try live()
        var copies = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        let result = copies.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(buffer.count, 1)) { values in
                PQexecParams(connection, sql, Int32(parameters.count), nil, parameters.isEmpty ? nil : values, nil, nil, 0)
            }
        }
        return try PGResult.checked(result, connection: connection)
    }

    /// Runs one statement with text parameters and hands `body` the libpq result itself, without copying
    /// it into Swift strings. `binary` asks for binary columns (int4, int8, float8, timestamptz read through
    /// `PGRawResult`'s typed accessors). The result is freed when `body` returns.
    public func withQuery<T>(
        _ sql: String, _ parameters: [String?] = [], binary: Bool, _ body: (PGRawResult) throws(PGError) -> T
    ) throws(PGError) -> T {
        let connection = try live()
        var copies = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        let result = copies.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(buffer.count, 1)) { values in
                PQexecParams(connection, sql, Int32(parameters.count), nil, parameters.isEmpty ? nil : values, nil, nil, binary ? 1 : 0)
            }
        }
        try PGResult.check(result, connection: connection)
        defer { PQclear(result) }
        return try body(PGRawResult(result!, binary: binary))
    }

    /// As `withQuery`, with the statement prepared once per session and its plan kept: for the hot reads
    /// of a fixed text (planning a union over partitioned tables costs more than running it). PostgreSQL
    /// plans again by itself when a table or its partitions change.
    public func withPreparedQuery<T>(
        _ sql: String, _ parameters: [String?] = [], binary: Bool, _ body: (PGRawResult) throws(PGError) -> T
    ) throws(PGError) -> T {
        try preparedQuery(sql, parameters, binary: binary, prepareAgain: true, body)
    }

    private func preparedQuery<T>(
        _ sql: String, _ parameters: [String?], binary: Bool, prepareAgain: Bool, _ body: (PGRawResult) throws(PGError) -> T
    ) throws(PGError) -> T {
        let connection = try live()
        if preparedSession != session {
            preparedStatements.removeAll()
            preparedSession = session
        }
        if preparedStatements.count >= Self.preparedStatementLimit {
            for (text, name) in preparedStatements {
                try execute("DEALLOCATE \(name)")
                preparedStatements[text] = nil
            }
        }
        let name: String
        if let known = preparedStatements[sql] {
            name = known
        } else {
            preparedCount += 1
            name = "cached_\(preparedCount)"
            _ = try PGResult.checked(PQprepare(connection, name, sql, Int32(parameters.count), nil), connection: connection)
            preparedStatements[sql] = name
        }
        var copies = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        let result = copies.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(buffer.count, 1)) { values in
                PQexecPrepared(connection, name, Int32(parameters.count), parameters.isEmpty ? nil : values, nil, nil, binary ? 1 : 0)
            }
        }
        do {
            try PGResult.check(result, connection: connection)
        } catch where error.sqlState == "26000" && prepareAgain {
            // The server forgot it (DISCARD ALL, a pooler's new session): prepared again, once.
            preparedStatements[sql] = nil
            return try preparedQuery(sql, parameters, binary: binary, prepareAgain: false, body)
        }
        defer { PQclear(result) }
        return try body(PGRawResult(result!, binary: binary))
    }

    /// `COPY ... FROM STDIN` with the given data (already in the COPY's format). Returns rows copied.
    @discardableResult
    public func copyIn(_ sql: String, data: UnsafeRawBufferPointer) throws(PGError) -> Int {
        let connection = try live()
        let start = PQexec(connection, sql)
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            _ = try PGResult.checked(start, connection: connection)
            throw PGError(sqlState: nil, message: "COPY did not start")
        }
        PQclear(start)
        var offset = 0
        let chunk = 1 << 20
        while offset < data.count {
            let length = min(chunk, data.count - offset)
            let rc = PQputCopyData(connection, data.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self), Int32(length))
            guard rc == 1 else {
                throw PGError(sqlState: nil, message: "COPY data: \(Self.lastMessage(connection))")
            }
            offset += length
        }
        guard PQputCopyEnd(connection, nil) == 1 else {
            throw PGError(sqlState: nil, message: "COPY end: \(Self.lastMessage(connection))")
        }
        var rows = 0
        var failure: PGError?
        while let result = PQgetResult(connection) {
            do throws(PGError) {
                let checked = try PGResult.checked(result, connection: connection)
                rows = checked.affectedRows
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
        return rows
    }

    @discardableResult
    public func copyIn(_ sql: String, data: [UInt8]) throws(PGError) -> Int {
        var outcome: Result<Int, PGError> = .success(0)
        data.withUnsafeBytes { buffer in
            do throws(PGError) { outcome = .success(try copyIn(sql, data: buffer)) } catch { outcome = .failure(error) }
        }
        return try outcome.get()
    }

    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it throws.
    public func transaction<T>(_ body: (PGConnection) throws(PGError) -> T) throws(PGError) -> T {
        try execute("BEGIN")
        do {
            let value = try body(self)
            try execute("COMMIT")
            return value
        } catch {
            if isHealthy { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Reconnects when the connection broke; throws while the server stays away.
    public func resetIfNeeded() throws(PGError) {
        guard let connection else { throw PGError(sqlState: nil, message: "connection closed") }
        guard PQstatus(connection) != CONNECTION_OK else { return }
        PQreset(connection)
        session += 1
        guard PQstatus(connection) == CONNECTION_OK else {
            throw PGError(sqlState: nil, message: "cannot reconnect to PostgreSQL: \(Self.lastMessage(connection))")
        }
        try execute("SET TIME ZONE 'UTC'")
    }

    func rawConnection() throws(PGError) -> OpaquePointer { try live() }

    private func live() throws(PGError) -> OpaquePointer {
        guard let connection else { throw PGError(sqlState: nil, message: "connection closed") }
        guard PQstatus(connection) == CONNECTION_OK else {
            throw PGError(sqlState: "08006", message: "connection to PostgreSQL lost: \(Self.lastMessage(connection))")
        }
        return connection
    }

    static func lastMessage(_ connection: OpaquePointer) -> String {
        String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
