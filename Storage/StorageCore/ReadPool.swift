import Foundation
import Postgres
import ServiceLifecycle

/// The query service's read connections: `size` threads of its own (libpq blocks), each the only owner
/// of one connection, taking work from a queue. Work that waits longer than `acquireTimeout` for a
/// thread fails as "busy" (the caller answers 503) instead of piling up, and so does work that finds
/// `maxQueued` jobs already waiting: a flood of requests holds a bounded queue, not all of memory.
///
/// An idle connection does not know that its server restarted until it is used: work that fails on a
/// reused connection because the connection failed runs once more on a new one, so the first requests
/// after a database restart are answered instead of getting a 503.
public final class ReadPool: Service, @unchecked Sendable {
    public let url: String
    public let size: Int
    public let acquireTimeout: TimeInterval
    private let queue: WorkQueue

    public init(url: String, size: Int = 4, acquireTimeout: TimeInterval = 2, maxQueued: Int = 1024) {
        self.url = url
        self.size = size
        self.acquireTimeout = acquireTimeout
        queue = WorkQueue(capacity: maxQueued)
    }

    /// Runs the pool's threads until a graceful shutdown (or cancellation). Work that comes before waits
    /// for them (`acquireTimeout` counts from when it came); work after is refused at once (`57P03`).
    public func run() async throws {
        try await whileRunning { try? await gracefulShutdown() }
    }

    /// Runs the pool's threads while `body` runs: for a service that owns its pool and needs it until
    /// its own shutdown is done (a graceful shutdown would otherwise stop the pool first).
    public func whileRunning<T>(_ body: () async throws -> T) async rethrows -> T {
        guard queue.open() else { return try await body() }
        for index in 0..<size {
            let thread = Thread { [queue, url, acquireTimeout] in Self.work(queue: queue, url: url, acquireTimeout: acquireTimeout) }
            thread.name = "read-pool-\(index)"
            thread.start()
        }
        defer { queue.close() }
        return try await body()
    }

    deinit { queue.close() }

    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (StoreConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let job = Job(enqueued: Date()) { offered in
                let connection: PGConnection
                switch offered {
                case .success(let open): connection = open
                case .failure(let error):
                    continuation.resume(throwing: StoreError(error))
                    return nil
                }
                do {
                    let value = try body(StoreConnection(connection))
                    continuation.resume(returning: value)
                    return nil
                } catch {
                    return { continuation.resume(throwing: error) }
                }
            }
            switch queue.put(job) {
            case .taken: break
            case .full:
                job.run(.failure(PGError(sqlState: "53300", message: "\(queue.capacity) requests already wait for a read connection")))?()
            case .notRunning:
                job.run(.failure(PGError(sqlState: "57P03", message: "the read pool of \(url) has stopped")))?()
            }
        }
    }

    /// One unit of work: called with the worker's connection, or why there is none. Returns nil when
    /// done, or how to report its failure: the worker decides whether to run it again first.
    struct Job {
        let enqueued: Date
        let run: (Result<PGConnection, PGError>) -> (() -> Void)?
    }

    private static func work(queue: WorkQueue, url: String, acquireTimeout: TimeInterval) {
        var connection: PGConnection?
        while let job = queue.take() {
            guard Date().timeIntervalSince(job.enqueued) <= acquireTimeout else {
                job.run(.failure(PGError(sqlState: "53300", message: "every read connection stayed busy for \(acquireTimeout) s")))?()
                continue
            }
            let reused = connection != nil
            do throws(PGError) {
                connection = try Self.ready(connection, url: url)
            } catch {
                connection = nil
                job.run(.failure(error))?()
                continue
            }
            guard let current = connection, var failure = job.run(.success(current)) else { continue }
            // libpq marks a connection bad once a round trip found it dead: replace it, and run work
            // that met a stale one (idle across a server restart) once more on the new one.
            if !current.isHealthy {
                connection = nil
                if reused, let fresh = try? PGConnection(url: url, connectTimeoutSeconds: 2) {
                    connection = fresh
                    failure = job.run(.success(fresh)) ?? {}
                }
            }
            failure()
        }
    }

    private static func ready(_ connection: PGConnection?, url: String) throws(PGError) -> PGConnection {
        guard let connection else { return try PGConnection(url: url, connectTimeoutSeconds: 2) }
        try connection.resetIfNeeded()  // a no-op while it is healthy
        return connection
    }

    /// Jobs waiting for a worker. Opened when the pool runs (jobs may come before); closed when it
    /// stops: the workers finish and their connections close.
    final class WorkQueue: @unchecked Sendable {
        enum State { case notStarted, open, closed }
        enum Put { case taken, full, notRunning }
        let capacity: Int
        private let condition = NSCondition()
        private var jobs: [Job] = []
        private var head = 0
        private var state = State.notStarted

        init(capacity: Int) { self.capacity = capacity }

        /// False when it was opened before: a pool runs once.
        func open() -> Bool {
            condition.withLock {
                guard state == .notStarted else { return false }
                state = .open
                return true
            }
        }

        /// `.full` when `capacity` jobs already wait: the caller fails this one.
        func put(_ job: Job) -> Put {
            condition.withLock {
                guard state != .closed else { return .notRunning }
                guard jobs.count - head < capacity else { return .full }
                jobs.append(job)
                condition.signal()
                return .taken
            }
        }

        func take() -> Job? {
            condition.lock()
            defer { condition.unlock() }
            while head == jobs.count && state != .closed { condition.wait() }
            guard head < jobs.count else { return nil }
            let job = jobs[head]
            head += 1
            if head > 64 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            return job
        }

        func close() {
            condition.withLock {
                state = .closed
                condition.broadcast()
            }
        }
    }
}
