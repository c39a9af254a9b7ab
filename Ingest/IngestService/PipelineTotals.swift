import Metrics
import Synchronization

/// Counters and gauges of one pipeline that the process can read back (swift-metrics' cannot be read).
final class PipelineTotals: Sendable {
    let received = Atomic<Int64>(0)
    let committedReadings = Atomic<Int64>(0)
    let rejected = Atomic<Int64>(0)
    let queueDepth = Atomic<Int64>(0)
    let journalBytes = Atomic<Int64>(0)
}
