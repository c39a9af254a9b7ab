import Foundation
import Synchronization
import Testing
@testable import IngestService

/// The queue between the MQTT callback and the writer: bounded, blocking, never dropping.
struct MessageQueueTests {
    private func record(_ seq: UInt64, bytes: Int = 1) -> JournalRecord {
        JournalRecord(seq: seq, receivedAt: 0, topic: "t", payload: Array(repeating: 0, count: bytes))
    }

    @Test func putBlocksWhileFullAndResumesWhenTaken() throws {
        let queue = MessageQueue(maxMessages: 2, maxBytes: 1 << 20)
        queue.put(record(1))
        queue.put(record(2))
        let third = Atomic<Bool>(false)
        let thread = Thread { queue.put(self.record(3)); third.store(true, ordering: .sequentiallyConsistent) }
        thread.start()
        Thread.sleep(forTimeInterval: 0.2)  // give a wrongly non-blocking put the time to finish
        let finishedEarly = third.load(ordering: .sequentiallyConsistent)
        #expect(!finishedEarly)
        #expect(queue.take(max: 1, timeout: 1).map(\.seq) == [1])
        let deadline = Date().addingTimeInterval(5)
        while !third.load(ordering: .sequentiallyConsistent) && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        let finished = third.load(ordering: .sequentiallyConsistent)
        #expect(finished)
        #expect(queue.take(max: 10, timeout: 1).map(\.seq) == [2, 3])
    }

    @Test func theByteBoundBlocksTooButOneLargeMessageAlwaysFits() {
        let queue = MessageQueue(maxMessages: 100, maxBytes: 10)
        queue.put(record(1, bytes: 50))  // larger than the bound, alone: accepted
        #expect(queue.depth == 1)
        #expect(queue.take(max: 10, timeout: 0.1).count == 1)
    }

    @Test func closeDrainsWhatIsLeftThenReturnsEmpty() {
        let queue = MessageQueue(maxMessages: 10, maxBytes: 1 << 20)
        for n in 1...3 { queue.put(record(UInt64(n))) }
        queue.close()
        #expect(!queue.put(record(4)))
        #expect(queue.take(max: 10, timeout: 0.1).map(\.seq) == [1, 2, 3])
        #expect(queue.take(max: 10, timeout: 0.1).isEmpty)
        #expect(queue.isClosedAndEmpty)
    }

    @Test func aLingeringTakeWaitsForItsBatchToFill() {
        let queue = MessageQueue(maxMessages: 100, maxBytes: 1 << 20)
        queue.put(record(1))
        let putter = Thread {
            for n in 2...5 {
                Thread.sleep(forTimeInterval: 0.02)
                queue.put(self.record(UInt64(n)))
            }
        }
        putter.start()
        // The linger (10 s) is far longer than the puts take: the take returns when its 5 are there.
        let started = Date()
        #expect(queue.take(max: 5, timeout: 1, linger: 10).map(\.seq) == [1, 2, 3, 4, 5])
        #expect(Date().timeIntervalSince(started) < 5)
        // Without a full batch the linger ends it: what is there, after the linger.
        queue.put(record(6))
        let lingerStart = Date()
        #expect(queue.take(max: 5, timeout: 1, linger: 0.2).map(\.seq) == [6])
        #expect(Date().timeIntervalSince(lingerStart) >= 0.19)
    }

    @Test func aLingeringTakeStopsWaitingWhenAPutIsBlocked() {
        let queue = MessageQueue(maxMessages: 3, maxBytes: 1 << 20)
        for n in 1...3 { queue.put(record(UInt64(n))) }
        let putter = Thread { queue.put(self.record(4)) }
        putter.start()
        // The queue is full and a put waits: lingering for 10 more messages could only stall the broker.
        let started = Date()
        #expect(queue.take(max: 10, timeout: 1, linger: 10).map(\.seq).prefix(3) == [1, 2, 3])
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func aPutThatBlocksDuringALingerEndsIt() {
        let queue = MessageQueue(maxMessages: 3, maxBytes: 1 << 20)
        queue.put(record(1))
        let putter = Thread {
            for n in 2...4 { queue.put(self.record(UInt64(n))) }  // the third blocks: the queue holds 3
        }
        let started = Date()
        putter.start()
        let taken = queue.take(max: 10, timeout: 1, linger: 10)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(taken.map(\.seq) == Array(1...UInt64(taken.count)))
        #expect(taken.count >= 3)
    }

    @Test func closingTheQueueEndsALinger() {
        let queue = MessageQueue(maxMessages: 100, maxBytes: 1 << 20)
        queue.put(record(1))
        let closer = Thread {
            Thread.sleep(forTimeInterval: 0.1)
            queue.close()
        }
        closer.start()
        let started = Date()
        #expect(queue.take(max: 10, timeout: 1, linger: 10).map(\.seq) == [1])
        #expect(Date().timeIntervalSince(started) < 5, "a stopping pipeline waited out the linger")
    }
}
