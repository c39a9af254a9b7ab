import Foundation
import Postgres

/// A small pool of read connections. Work runs on threads of its own (libpq blocks); a caller waits at
/// most `acquireTimeout` for a free connection, and a broken connection is replaced on next use.
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

    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.run(body) })
            }
        }
    }

    private func run<T>(_ body: (PGConnection) throws -> T) throws -> T {
        let connection = try acquire()
        var healthy = true
        defer { release(connection, healthy: healthy) }
        do {
            return try body(connection)
        } catch let error as PGError {
            healthy = connection.isHealthy && !(error.sqlState?.hasPrefix("08") ?? true)
            throw error
        }
    }

    private func acquire() throws -> PGConnection {
        condition.lock()
        let deadline = Date().addingTimeInterval(acquireTimeout)
        while idle.isEmpty && open >= size {
            if !condition.wait(until: deadline) {
                condition.unlock()
                throw PGError(sqlState: "53300", message: "all \(size) database connections are busy")
            }
        }
        if let connection = idle.popLast() {
            condition.unlock()
            if connection.isHealthy { return connection }
            do {
                try connection.resetIfNeeded()
                return connection
            } catch {
                discard()
                throw error
            }
        }
        open += 1
        condition.unlock()
        do {
            return try PGConnection(url: url, connectTimeoutSeconds: 2)
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
