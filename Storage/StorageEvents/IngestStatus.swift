import Postgres
import StorageCore

/// What an ingest pipeline publishes about itself, also written every few seconds to the table
/// `ingest_status` of the database it writes to: the query service's dashboard shows each service's
/// health from there (the same numbers as the service's `/metrics`), without knowing where services run
/// or being able to reach their metrics ports (bound to loopback by default, maybe on other hosts).
public struct IngestStatus: Sendable, Equatable {
    /// The MQTT client id: `ingest-<sensor>-<instance>`.
    public var service: String
    public var sensor: String
    public var host: String
    public var pid: Int
    public var metricsURL: String?
    public var subscribed: Bool
    public var receivedTotal: Int64
    public var committedReadingsTotal: Int64
    public var rejectedTotal: Int64
    public var queueDepth: Int64
    public var journalBytes: Int64
    /// Over the last interval between two writes.
    public var receivedPerSecond: Double
    public var committedReadingsPerSecond: Double
    /// Microseconds since the epoch, the database's clock; and how old the row is, by that clock.
    public var updatedAt: Int64 = 0
    public var ageSeconds: Double = 0
    /// Written by a service that stopped on purpose.
    public var stopped = false
    /// Why the service's queue has not advanced (`stall_seconds`), or nil while it moves.
    public var stalled: String?

    public init(
        service: String, sensor: String, host: String, pid: Int, metricsURL: String?, subscribed: Bool, receivedTotal: Int64,
        committedReadingsTotal: Int64, rejectedTotal: Int64, queueDepth: Int64, journalBytes: Int64, receivedPerSecond: Double,
        committedReadingsPerSecond: Double, stopped: Bool = false
    ) {
        self.service = service
        self.sensor = sensor
        self.host = host
        self.pid = pid
        self.metricsURL = metricsURL
        self.subscribed = subscribed
        self.receivedTotal = receivedTotal
        self.committedReadingsTotal = committedReadingsTotal
        self.rejectedTotal = rejectedTotal
        self.queueDepth = queueDepth
        self.journalBytes = journalBytes
        self.receivedPerSecond = receivedPerSecond
        self.committedReadingsPerSecond = committedReadingsPerSecond
        self.stopped = stopped
    }

    /// How often services write; a row older than three intervals means the service is gone.
    public static let interval: Double = 5

    /// Up: written recently, subscribed, not stopped and not stalled.
    public var isUp: Bool { !stopped && stalled == nil && subscribed && ageSeconds <= 3 * Self.interval }


    public static func write(_ statuses: [IngestStatus], on connection: StoreConnection) throws(StoreError) {
        try StoreError.wrap { () throws(PGError) in
            for status in statuses {
                _ = try connection.pg.query("""
                    INSERT INTO ingest_status (service, sensor, host, pid, metrics_url, subscribed, stopped, received_total,
                        committed_readings_total, rejected_total, queue_depth, journal_bytes, received_per_second,
                        committed_readings_per_second, updated_at, stalled)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now(), $15)
                    ON CONFLICT (service) DO UPDATE SET sensor = $2, host = $3, pid = $4, metrics_url = $5, subscribed = $6, stopped = $7,
                        received_total = $8, committed_readings_total = $9, rejected_total = $10, queue_depth = $11, journal_bytes = $12,
                        received_per_second = $13, committed_readings_per_second = $14, updated_at = now(), stalled = $15
                    """, [
                        status.service, status.sensor, status.host, String(status.pid), status.metricsURL, String(status.subscribed),
                        String(status.stopped), String(status.receivedTotal), String(status.committedReadingsTotal), String(status.rejectedTotal),
                        String(status.queueDepth), String(status.journalBytes), String(status.receivedPerSecond),
                        String(status.committedReadingsPerSecond), status.stalled,
                    ])
            }
        }
    }

    /// Every service that ever wrote here, by name, with the age of its row.
    public static func all(on connection: StoreConnection) throws(StoreError) -> [IngestStatus] {
        try StoreError.wrap { () throws(PGError) in
            let result = try connection.pg.query("""
                SELECT service, sensor, host, pid, metrics_url, subscribed, stopped, received_total, committed_readings_total,
                       rejected_total, queue_depth, journal_bytes, received_per_second, committed_readings_per_second,
                       \(SQLTime.micros("updated_at")), extract(epoch from now() - updated_at)::float8, stalled
                FROM ingest_status ORDER BY service
                """)
            return result.rows.map { row in
                var status = IngestStatus(
                    service: row[0]!, sensor: row[1]!, host: row[2]!, pid: Int(row[3]!) ?? 0, metricsURL: row[4], subscribed: row[5] == "t",
                    receivedTotal: Int64(row[7]!) ?? 0, committedReadingsTotal: Int64(row[8]!) ?? 0, rejectedTotal: Int64(row[9]!) ?? 0,
                    queueDepth: Int64(row[10]!) ?? 0, journalBytes: Int64(row[11]!) ?? 0, receivedPerSecond: Double(row[12]!) ?? 0,
                    committedReadingsPerSecond: Double(row[13]!) ?? 0, stopped: row[6] == "t")
                status.updatedAt = Int64(row[14]!) ?? 0
                status.ageSeconds = Double(row[15]!) ?? 0
                status.stalled = row[16]
                return status
            }
        }
    }
}
