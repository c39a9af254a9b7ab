import Metrics
import StorageReader
import Synchronization

/// The rollup caches' counts (summed over the databases) on /metrics, brought up to date when scraped:
/// `rollup_cache_hours_total{result="hit"|"miss"}` (hours served from memory / read from PostgreSQL) and
/// `rollup_cache_bytes` (memory the kept hours take).
final class RollupCacheMetrics: Sendable {
    private let caches: [RollupCache]
    private let hits: Counter
    private let misses: Counter
    private let bytes: Gauge
    private let reported = Mutex<(hits: Int, misses: Int)>((0, 0))

    init(caches: [RollupCache], factory: any MetricsFactory) {
        self.caches = caches
        hits = Counter(label: "rollup_cache_hours_total", dimensions: [("result", "hit")], factory: factory)
        misses = Counter(label: "rollup_cache_hours_total", dimensions: [("result", "miss")], factory: factory)
        bytes = Gauge(label: "rollup_cache_bytes", factory: factory)
    }

    func update() {
        let now = caches.map(\.statistics).reduce((hits: 0, misses: 0, bytes: 0)) { ($0.hits + $1.hits, $0.misses + $1.misses, $0.bytes + $1.bytes) }
        reported.withLock { last in
            if now.hits > last.hits { hits.increment(by: now.hits - last.hits) }
            if now.misses > last.misses { misses.increment(by: now.misses - last.misses) }
            last = (now.hits, now.misses)
        }
        bytes.record(now.bytes)
    }
}
