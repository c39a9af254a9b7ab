import Foundation

/// Runs blocking work (libpq, joins) on a thread of its own, never on Swift's cooperative pool.
public enum Blocking {
    public static func run<T: Sendable>(_ name: String = "blocking", _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try body() })
            }
            thread.name = name
            thread.start()
        }
    }
}
