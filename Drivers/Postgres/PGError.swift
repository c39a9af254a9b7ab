/// A PostgreSQL or libpq failure, with the SQLSTATE when the server sent one.
public struct PGError: Error, Sendable, CustomStringConvertible {
    public var sqlState: String?
    public var message: String

    public init(sqlState: String?, message: String) {
        self.sqlState = sqlState
        self.message = message
    }

    /// Worth retrying after a pause and a reconnect: connection trouble, serialization failure or
    /// deadlock, insufficient resources, operator intervention (shutdown, admin restart, query cancel).
    public var isTransient: Bool {
        guard let state = sqlState else { return true }  // no SQLSTATE: the connection itself failed
        if state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57") || state.hasPrefix("58") { return true }
        return state == "40001" || state == "40P01" || state == "55P03"
    }

    /// The server is out of reach or going away (no SQLSTATE, class 08, or 57P01-57P03): retried for as
    /// long as it lasts. Other transient errors come from a server that answered, and are retried a bounded
    /// number of times (one message must not hold a pipeline for ever).
    public var isConnectionFailure: Bool {
        guard let state = sqlState else { return true }
        return state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state)
    }

    public var isUniqueViolation: Bool { sqlState == "23505" }

    public var description: String {
        sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message
    }
}
