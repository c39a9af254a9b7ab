import Foundation

/// A value behind a pthread mutex. Used instead of `Synchronization.Mutex` on the hot paths of the
/// MQTT threads: on Linux `Mutex` spins before it sleeps, and with more busy threads than the two cores
/// of our machines the spinning took about half of the emulator's CPU (perf, cpu-clock samples).
public final class LockedValue<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    public init(_ value: Value) { self.value = value }

    @inline(__always)
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
