/// Polls `condition` until it holds or the deadline passes, sleeping between tries without holding a
/// thread: the async form of waiting on a condition with a deadline instead of a fixed time.
public func within(_ timeout: Duration, poll: Duration = .milliseconds(100), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    repeat {
        if try await condition() { return true }
        try await Task.sleep(for: poll)
    } while ContinuousClock.now < deadline
    return try await condition()
}
