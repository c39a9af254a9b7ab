import Foundation
import Postgres
import Synchronization

/// What PostgreSQL's backends wait on during a run: `pg_stat_activity` sampled every 50 ms from a
/// thread of its own, each active backend (other than the sampler) counted under its wait event, or
/// "CPU" when it waits on none. The summary is busy backends on average per event, largest first.
final class WaitSampler: @unchecked Sendable {
    private let url: String
    private let stop = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private var counts: [String: Int] = [:]
    private var samples = 0

    init(url: String) {
        self.url = url
        Thread { [self] in sample() }.start()
    }

    private func sample() {
        defer { done.signal() }
        guard let connection = try? PGConnection(url: url) else { return }
        while !stop.load(ordering: .relaxed) {
            if let result = try? connection.query("""
                SELECT coalesce(wait_event_type || '/' || wait_event, 'CPU'), count(*) FROM pg_stat_activity
                WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend' GROUP BY 1
                """) {
                samples += 1
                for row in result.rows { counts[row[0] ?? "?", default: 0] += Int(row[1] ?? "0") ?? 0 }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Stops sampling; "CPU 0.74, Client/ClientRead 0.32, ..." (the four largest).
    func finish() -> String {
        stop.store(true, ordering: .relaxed)
        done.wait()
        guard samples > 0 else { return "no samples" }
        return counts.sorted { $0.value > $1.value }.prefix(4)
            .map { String(format: "%@ %.2f", $0.key, Double($0.value) / Double(samples)) }.joined(separator: ", ")
    }
}
