import Foundation
import Postgres

/// A small pool of read connections. Work runs on threads of its own (libpq blocks); a caller waits at
/// most `acquireTimeout` for a free connection, and a broken connection is replaced on next use.
/// An idle connection does not know that its server restarted until it is used: work that fails on a
/// reused connection because the connection failed runs once more on a new one, so the first requests
/// after a database restart are answered instead of getting a 503.
public final class ReadPool: @unchecked Sendable {
    public let url: String
    public let size: Int
    public let acquireTimeout: TimeInterval
    private let condition = NSCondition()
    private var idle: [PGConnection] = []
    private var open = 0
    private let queue = DispatchQueue(label: "telemetry.read-pool", attributes: .concurrent)

    public init(url: String, size: Int = 4, acquireTimeout: TimeInterval = 2) {
        self.url = url
        self.size = size
        self.acquireTimeout = acquireTimeout
    }

    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (StoreConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result {
                    do {
                        return try self.run(body)
                    } catch let error as PGError {
                        throw StoreError(error)
                    }
                })
            }
        }
    }

    private func run<T>(_ body: (StoreConnection) throws -> T) throws -> T {
        var (connection, reused) = try acquire()
        while true {
            do {
                let value = try body(StoreConnection(connection))
                release(connection, healthy: true)
                return value
            } catch {
                let failed = (error as? StoreError)?.isConnectionFailure ?? (error as? PGError).map(StoreError.init)?.isConnectionFailure ?? false
                release(connection, healthy: connection.isHealthy && !failed)
                guard failed && reused else { throw error }
                (connection, reused) = try acquire(fresh: true)
            }
        }
    }

    /// A connection and whether it was used before; `fresh` opens a new one (in the slot just freed).
    private func acquire(fresh: Bool = false) throws -> (PGConnection, Bool) {
        condition.lock()
        let deadline = Date().addingTimeInterval(acquireTimeout)
        while idle.isEmpty && open >= size {
            if !condition.wait(until: deadline) {
                condition.unlock()
                throw PGError(sqlState: "53300", message: "all \(size) database connections are busy")
            }
        }
        if fresh, !idle.isEmpty {
            idle.removeLast()  // the pool is full: a new connection takes this one's slot
            open -= 1
        }
        if let connection = idle.popLast() {
            condition.unlock()
            if connection.isHealthy { return (connection, true) }
            do {
                try connection.resetIfNeeded()
                return (connection, false)
            } catch {
                discard()
                throw error
            }
        }
        open += 1
        condition.unlock()
        do {
            return (try PGConnection(url: url, connectTimeoutSeconds: 2), false)
        } catch {
            discard()
            throw error
        }
    }

    private func release(_ connection: PGConnection, healthy: Bool) {
        guard healthy else { discard(); return }
        condition.lock()
        idle.append(connection)
        condition.signal()
        condition.unlock()
    }

    private func discard() {
        condition.lock()
        open -= 1
        condition.signal()
        condition.unlock()
    }
}
