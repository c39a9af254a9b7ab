import Foundation
import Synchronization

/// Whether a pipeline's head moves: the writer marks when it takes a batch and when that batch leaves
/// the journal; a batch held longer than `limit` (retries, a dead letter that keeps failing, PostgreSQL
/// away) makes the pipeline stalled, with the last error as the reason. A stalled pipeline is not ready.
final class StallWatch: Sendable {
    let limit: Duration
    private struct State {
        var heldSince: ContinuousClock.Instant?
        var heldMessages = 0
        var lastError: String?
        var reported = false
    }
    private let state = Mutex(State())

    init(limit: Duration) { self.limit = limit }

    /// The writer took `messages` messages off the queue.
    func took(_ messages: Int) {
        state.withLock { state in
            state.heldSince = .now
            state.heldMessages = messages
            state.lastError = nil
        }
    }

    /// They are stored (or dead-lettered, or quarantined) and out of the journal.
    func advanced() {
        state.withLock { state in
            state = State()
        }
    }

    /// A try failed; the reason a stall would give.
    func failed(_ error: String) {
        state.withLock { $0.lastError = error }
    }

    /// Messages taken but not yet out of the journal (queue depth leaves them out).
    var heldMessages: Int { state.withLock { $0.heldMessages } }

    /// Nil while the head moves; else why it does not.
    var stallReason: String? {
        state.withLock { state in
            guard let since = state.heldSince, ContinuousClock.now - since > limit else { return nil }
            let seconds = Int((ContinuousClock.now - since).components.seconds)
            return "the head of the queue has not advanced for \(seconds) s: \(state.lastError ?? "a write has not returned")"
        }
    }

    /// True once per stall: the caller logs it.
    func shouldReport() -> Bool {
        state.withLock { state in
            guard let since = state.heldSince, ContinuousClock.now - since > limit, !state.reported else { return false }
            state.reported = true
            return true
        }
    }
}
