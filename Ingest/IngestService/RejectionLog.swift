import Foundation

/// Logs each rejection reason at most once a minute, so bad input cannot flood the log.
final class RejectionLog: @unchecked Sendable {
    private let lock = NSLock()
    private var last: [String: Date] = [:]

    func shouldLog(_ reason: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        if let previous = last[reason], now.timeIntervalSince(previous) < 60 { return false }
        last[reason] = now
        return true
    }
}
