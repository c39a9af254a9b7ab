import Foundation
import Logging
import StorageCore
import StorageEvents

/// Writes what each pipeline publishes on `/metrics` (received, committed, rejected, queue depth,
/// journal bytes, and rates over the last interval) to `ingest_status` in the database the pipeline
/// writes to, every `IngestStatus.interval` seconds; the query service's overview reads it from there.
/// It goes through the readiness probe's pool: a thread and connection of its own, never a writer's.
struct StatusReporter {
    let pipelines: [(pipeline: SensorPipeline, url: String)]
    let pools: [String: ReadPool]
    let metricsURL: String?
    let logger: Logger
    private let host = ProcessInfo.processInfo.hostName
    private let pid = Int(getpid())

    init(pipelines: [(pipeline: SensorPipeline, url: String)], pools: [String: ReadPool], metricsURL: String?, logger: Logger) {
        self.pipelines = pipelines
        self.pools = pools
        self.metricsURL = metricsURL
        self.logger = logger
    }

    /// Until cancelled.
    func run() async {
        var previous: [String: (received: Int64, committed: Int64, at: ContinuousClock.Instant)] = [:]
        var warned = false
        while !Task.isCancelled {
            let now = ContinuousClock.now
            var statuses: [(IngestStatus, String)] = []
            for (pipeline, url) in pipelines {
                var status = status(of: pipeline, stopped: false)
                pipeline.metrics.stalled.record(status.stalled == nil ? 0 : 1)
                if let last = previous[pipeline.clientID] {
                    let seconds = max(Double((now - last.at).components.seconds) + Double((now - last.at).components.attoseconds) / 1e18, 0.001)
                    status.receivedPerSecond = Double(status.receivedTotal - last.received) / seconds
                    status.committedReadingsPerSecond = Double(status.committedReadingsTotal - last.committed) / seconds
                }
                previous[pipeline.clientID] = (status.receivedTotal, status.committedReadingsTotal, now)
                statuses.append((status, url))
            }
            do {
                try await write(statuses)
                warned = false
            } catch {
                if !warned { logger.warning("could not report status to ingest_status (will retry): \(error)") }
                warned = true
            }
            try? await Task.sleep(for: .seconds(IngestStatus.interval))
        }
    }

    /// Once, after the pipelines stopped: the dashboard shows them as stopped rather than vanished.
    func reportStopped() async {
        try? await write(pipelines.map { (status(of: $0.pipeline, stopped: true), $0.url) })
    }

    private func write(_ statuses: [(IngestStatus, String)]) async throws {
        for url in Set(statuses.map(\.1)) {
            let rows = statuses.filter { $0.1 == url }.map(\.0)
            try await pools[url]?.withConnection { connection in try IngestStatus.write(rows, on: connection) }
        }
    }

    private func status(of pipeline: SensorPipeline, stopped: Bool) -> IngestStatus {
        let totals = pipeline.metrics.totals
        var status = IngestStatus(
            service: pipeline.clientID, sensor: pipeline.name, host: host, pid: pid, metricsURL: metricsURL,
            subscribed: pipeline.isSubscribed, receivedTotal: totals.received.load(ordering: .relaxed),
            committedReadingsTotal: totals.committedReadings.load(ordering: .relaxed), rejectedTotal: totals.rejected.load(ordering: .relaxed),
            queueDepth: totals.queueDepth.load(ordering: .relaxed), journalBytes: totals.journalBytes.load(ordering: .relaxed),
            receivedPerSecond: 0, committedReadingsPerSecond: 0, stopped: stopped)
        status.stalled = stopped ? nil : pipeline.stallReason
        return status
    }
}
