import Foundation
import Postgres
import Testing
@testable import StorageCore

@Suite struct ReadPoolTests {
    /// No buffer grows without bound: past its capacity the queue refuses work (the caller answers 503).
    @Test func theWorkQueueRefusesJobsPastItsCapacity() {
        let queue = ReadPool.WorkQueue(capacity: 2)
        let job = ReadPool.Job(enqueued: Date()) { _ in nil }
        #expect(queue.put(job) == .taken)
        #expect(queue.put(job) == .taken)
        #expect(queue.put(job) == .full, "a third job was queued past a capacity of 2")
        #expect(queue.take() != nil)
        #expect(queue.put(job) == .taken, "a taken job frees its place")
    }

    /// Work may come before the pool runs (it waits for the threads); once the pool stopped, it is refused.
    @Test func theWorkQueueTakesJobsBeforeItOpensAndRefusesThemOnceClosed() {
        let queue = ReadPool.WorkQueue(capacity: 2)
        let job = ReadPool.Job(enqueued: Date()) { _ in nil }
        #expect(queue.put(job) == .taken)
        #expect(queue.open())
        #expect(!queue.open(), "a pool runs once")
        queue.close()
        #expect(queue.take() != nil, "a job queued before the close is still handed out")
        #expect(queue.take() == nil)
        #expect(queue.put(job) == .notRunning)
    }
}
