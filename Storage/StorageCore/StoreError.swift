import Postgres

/// A database failure, with what the callers decide on: transient (retry) or not. `code` names the
/// kind of failure for logs and callers that branch on it; `sqlState` is PostgreSQL's own when it gave one.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// `database_unreachable`, `database_busy` (transient), `statement_failed`, or a refusal's own code
    /// (e.g. `no_credential`, `already_provisioned`).
    public var code: String
    public var sqlState: String?
    public var message: String
    /// The connection failed, or the server is shutting down, overloaded or in a retryable conflict.
    public var isTransient: Bool
    /// The server is out of reach or shutting down (`PGError.isConnectionFailure`).
    public var isConnectionFailure: Bool

    package init(_ error: PGError) {
        code = error.isConnectionFailure ? "database_unreachable" : error.isTransient ? "database_busy" : "statement_failed"
        sqlState = error.sqlState
        message = error.message
        isTransient = error.isTransient
        isConnectionFailure = error.isConnectionFailure
    }

    /// A failure of this module's own, not of PostgreSQL's (never transient).
    package init(refusal code: String, _ message: String) {
        self.code = code
        sqlState = nil
        self.message = message
        isTransient = false
        isConnectionFailure = false
    }

    public var description: String { sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message }

    package static func wrap<T>(_ body: () throws(PGError) -> T) throws(StoreError) -> T {
        do { return try body() } catch { throw StoreError(error) }
    }
}
