import Foundation

/// A bounded FIFO between the MQTT callback and the writer thread. `put` blocks while the queue is
/// full (by count or bytes): the callback then stops reading from the broker, which is the backpressure.
/// Nothing is ever dropped.
final class MessageQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [JournalRecord] = []
    private var head = 0
    private var bytes = 0
    private var closed = false
    /// While `take` lingers: the count that ends its wait. `put` wakes the taker only then (or when the
    /// queue was empty), not for every message.
    private var lingerTarget = Int.max
    /// Puts waiting for room: a lingering `take` stops waiting at once, since the queue is as full as it gets.
    private var blockedPuts = 0
    let maxMessages: Int
    let maxBytes: Int

    init(maxMessages: Int, maxBytes: Int) {
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
    }

    var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return items.count - head
    }

    /// Blocks while full. Returns false only once the queue is closed.
    @discardableResult
    func put(_ record: JournalRecord) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        // One message always fits, however large, so a big payload cannot wedge the queue.
        while !closed && items.count - head > 0 && (items.count - head >= maxMessages || bytes + record.payload.count > maxBytes) {
            blockedPuts += 1
            condition.broadcast()
            condition.wait()
            blockedPuts -= 1
        }
        guard !closed else { return false }
        items.append(record)
        bytes += record.payload.count
        let available = items.count - head
        if available == 1 || available >= lingerTarget { condition.broadcast() }
        return true
    }

    /// Waits up to `timeout` for a first message, then up to `linger` more for `max` of them (less when
    /// the queue is full or closed), and takes what is there, up to `max`. The linger keeps batches from
    /// shrinking to a message or two at low rates, where each commit would cost as much as a full one.
    /// Returns an empty array on timeout, or when closed and drained.
    func take(max: Int, timeout: TimeInterval, linger: TimeInterval = 0) -> [JournalRecord] {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while items.count == head && !closed {
            if !condition.wait(until: deadline) { break }
        }
        if linger > 0 && items.count > head && items.count - head < max && !closed && blockedPuts == 0 {
            let lingerEnd = Date().addingTimeInterval(linger)
            lingerTarget = max
            while items.count - head < max && !closed && blockedPuts == 0 {
                if !condition.wait(until: lingerEnd) { break }
            }
            lingerTarget = .max
        }
        let available = items.count - head
        guard available > 0 else { return [] }
        let n = min(max, available)
        let taken = Array(items[head..<(head + n)])
        head += n
        for record in taken { bytes -= record.payload.count }
        // Taken records stay in `items` (and their payloads in memory) until compacted: do it whenever
        // they are the larger part, so what is kept beyond the queue's bound is at most what it holds.
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return taken
    }

    /// Wakes every waiter; `put` refuses from now on, `take` drains what is left.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    var isClosedAndEmpty: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed && items.count == head
    }
}
