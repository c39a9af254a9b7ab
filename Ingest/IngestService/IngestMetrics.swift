import Metrics
import Synchronization

/// The counters of one sensor type's pipeline, labelled by sensor (and reason for rejections).
struct IngestMetrics: Sendable {
    let sensor: String
    let received: Counter
    let committedReadings: Counter
    let committedMessages: Counter
    let duplicates: Counter
    let retries: Counter
    let skippedEntries: Counter
    let queueDepth: Gauge
    let journalBytes: Gauge
    /// 1 while the pipeline is stalled (`StallWatch`), else 0.
    let stalled: Gauge
    let quarantined: Counter
    /// Messages the broker sent again after a reconnect that were journaled already (`RedeliveryFilter`).
    let redeliveries: Counter
    /// Retained messages the broker sent at a (re)subscription, not stored again.
    let retainedSkipped: Counter
    let commitLatency: Timer
    /// The same numbers, readable: what the service reports to `ingest_status` (`StatusReporter`).
    let totals = PipelineTotals()

    init(sensor: String) {
        self.sensor = sensor
        let dimensions = [("sensor", sensor)]
        received = Counter(label: "telemetry_ingest_received_messages_total", dimensions: dimensions)
        committedReadings = Counter(label: "telemetry_ingest_committed_readings_total", dimensions: dimensions)
        committedMessages = Counter(label: "telemetry_ingest_committed_messages_total", dimensions: dimensions)
        duplicates = Counter(label: "telemetry_ingest_duplicate_readings_total", dimensions: dimensions)
        retries = Counter(label: "telemetry_ingest_write_retries_total", dimensions: dimensions)
        skippedEntries = Counter(label: "telemetry_ingest_skipped_entries_total", dimensions: dimensions)
        queueDepth = Gauge(label: "telemetry_ingest_queue_depth", dimensions: dimensions)
        journalBytes = Gauge(label: "telemetry_ingest_journal_bytes", dimensions: dimensions)
        stalled = Gauge(label: "telemetry_ingest_stalled", dimensions: dimensions)
        quarantined = Counter(label: "telemetry_ingest_quarantined_messages_total", dimensions: dimensions)
        redeliveries = Counter(label: "telemetry_ingest_redelivered_messages_skipped_total", dimensions: dimensions)
        retainedSkipped = Counter(label: "telemetry_ingest_retained_messages_skipped_total", dimensions: dimensions)
        commitLatency = Timer(label: "telemetry_ingest_commit_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
    }

    func rejected(reason: String) {
        totals.rejected.add(1, ordering: .relaxed)
        Counter(label: "telemetry_ingest_rejected_messages_total", dimensions: [("sensor", sensor), ("reason", reason)]).increment()
    }
}

