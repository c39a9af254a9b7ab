import Foundation
import Postgres
import Testing
@testable import StorageCore

@Suite struct ReadPoolTests {
    /// No buffer grows without bound: past its capacity the queue refuses work (the caller answers 503).
    @Test func theWorkQueueRefusesJobsPastItsCapacity() {
        let queue = ReadPool.WorkQueue(capacity: 2)
        let job = ReadPool.Job(enqueued: Date()) { _ in nil }
        #expect(queue.put(job))
        #expect(queue.put(job))
        #expect(!queue.put(job), "a third job was queued past a capacity of 2")
        #expect(queue.take() != nil)
        #expect(queue.put(job), "a taken job frees its place")
    }
}
