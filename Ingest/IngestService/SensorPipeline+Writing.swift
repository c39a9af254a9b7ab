import Dispatch
import Foundation
import StorageCore
import StorageWriter

/// The writer thread's side of `SensorPipeline`: writing a batch through retries, isolating the message
/// a permanent error comes from, dead-lettering it, and quarantining what cannot be dead-lettered.
extension SensorPipeline {
    /// Writes a batch: transient errors wait (capped exponential backoff) and reconnect; a permanent
    /// error splits the batch so only the messages that cause it are dead-lettered. Returns false only
    /// when stopping and PostgreSQL stayed unavailable past `shutdownGrace` (nothing of the batch stored then).
    func store(_ batch: IngestBatch, records: [JournalRecord], writer: BatchWriter) -> Bool {
        switch writeRetrying(batch, writer: writer) {
        case nil:
            return false
        case .success(let (outcome, nanoseconds)):
            metrics.commitLatency.recordNanoseconds(nanoseconds)
            metrics.committedReadings.increment(by: outcome.inserted)
            metrics.totals.committedReadings.add(Int64(outcome.inserted), ordering: .relaxed)
            metrics.committedMessages.increment(by: records.count)
            metrics.duplicates.increment(by: outcome.duplicates)
            return true
        case .failure(let error):
            logger.error("batch of \(records.count) messages failed permanently: \(LogText.escape(error.description)); isolating the cause")
            return storeOneByOne(records, writer: writer)
        }
    }

    func storeOneByOne(_ records: [JournalRecord], writer: BatchWriter) -> Bool {
        for record in records {
            let single = assemble([record], counting: false)
            switch writeRetrying(single, writer: writer) {
            case nil:
                // Part of the batch may be stored; a replay of it all is deduplicated by key.
                return false
            case .success(let (outcome, _)):
                metrics.committedReadings.increment(by: outcome.inserted)
                metrics.totals.committedReadings.add(Int64(outcome.inserted), ordering: .relaxed)
                metrics.committedMessages.increment()
                metrics.duplicates.increment(by: outcome.duplicates)
            case .failure(let error):
                // Rejected when decoded: its own dead letter is what failed, and is retried as it is.
                var letter = single
                if letter.deadLetters.isEmpty {
                    letter = IngestBatch(fieldCount: sensor.fields.count)
                    reject(record, code: "storage", reason: "storage: \(error)", into: &letter)
                }
                guard deadLetterRetrying(letter, record: record, writer: writer) else { return false }
            }
        }
        return true
    }

    /// Writes one message's dead letter, trying `quarantineAfterTries` times; then the message goes to
    /// the quarantine file beside the journal and the pipeline moves on. False means stopping cut it
    /// short (the journal replays the message at the next start).
    func deadLetterRetrying(_ letter: IngestBatch, record: JournalRecord, writer: BatchWriter) -> Bool {
        var delay = 0.05
        var lastError: StoreError?
        for _ in 0..<Self.quarantineAfterTries {
            switch writeRetrying(letter, writer: writer) {
            case nil:
                return false
            case .success:
                return true
            case .failure(let error):
                if pastShutdownGrace { return false }
                lastError = error
                metrics.retries.increment()
                stall.failed("cannot dead-letter a message on \(record.topic): \(error)")
                logger.error("cannot dead-letter a message on \(LogText.escape(record.topic)), trying again in \(Int(delay * 1000)) ms: \(LogText.escape(error.description))")
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 4, 1)
            }
        }
        let reason = "neither stored nor dead-lettered: \(letter.deadLetters.first?.reason ?? "storage"); dead letter: \(lastError.map(String.init(describing:)) ?? "?")"
        while true {
            do {
                try quarantine.put(record, reason: reason)
                metrics.quarantined.increment()
                logger.critical("quarantined a message on \(LogText.escape(record.topic)) in \(quarantine.path) and moved on: \(LogText.escape(reason))")
                return true
            } catch {
                // The disk that holds the journal: nothing can be acknowledged without it either.
                if pastShutdownGrace { return false }
                stall.failed("cannot quarantine: \(error)")
                logger.critical("cannot quarantine a message on \(LogText.escape(record.topic)), retrying in 1 s: \(error)")
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }

    /// One write, retried through transient errors: the outcome with the successful attempt's duration,
    /// the permanent error, or nil when stopping and PostgreSQL stayed unavailable past `shutdownGrace`.
    /// An unreachable server is waited for as long as it takes; a transient error from a server that
    /// answered (out of resources, serialization) counts as permanent after `serverRetries` tries.
    func writeRetrying(_ batch: IngestBatch, writer: BatchWriter) -> Result<(WriteOutcome, Int64), StoreError>? {
        var delay = 0.05
        var answeredTries = 0
        while true {
            let started = DispatchTime.now().uptimeNanoseconds
            do throws(StoreError) {
                try writer.reconnectIfNeeded()
                let outcome = try writer.write(batch)
                return .success((outcome, Int64(DispatchTime.now().uptimeNanoseconds - started)))
            } catch where error.isTransient && (error.isConnectionFailure || answeredTries < Self.serverRetries) {
                if pastShutdownGrace { return nil }
                if !error.isConnectionFailure { answeredTries += 1 }
                metrics.retries.increment()
                recordDepth()
                metrics.journalBytes.record(journal.bytesOnDisk)
                metrics.totals.journalBytes.store(Int64(journal.bytesOnDisk), ordering: .relaxed)
                stall.failed("PostgreSQL: \(error)")
                reportStall()
                logger.warning("PostgreSQL unavailable, retrying in \(Int(delay * 1000)) ms: \(LogText.escape(error.description))")
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, stopping.load(ordering: .relaxed) ? 0.5 : 5)
            } catch {
                stall.failed("PostgreSQL: \(error)")
                reportStall()
                return .failure(error)
            }
        }
    }

    func recordDepth() {
        let depth = pendingMessages
        metrics.queueDepth.record(depth)
        metrics.totals.queueDepth.store(Int64(depth), ordering: .relaxed)
    }

    /// Once per stall, the log says why (`StatusReporter` keeps the metric and `ingest_status` current).
    func reportStall() {
        guard stall.shouldReport(), let reason = stall.stallReason else { return }
        logger.error("stalled, not ready: \(LogText.escape(reason))")
    }

    var pastShutdownGrace: Bool {
        stopRequested.withLock { $0.map { ContinuousClock.now - $0 > Self.shutdownGrace } ?? false }
    }
}
