import Postgres
import SensorModel

/// Daily partitions of a sensor type's readings table (or of its compacted blocks): made ahead of time,
/// and made on demand for any day a batch touches, so a reading never finds its partition missing.
public final class Partitions: @unchecked Sendable {
    public let tables: SensorTables
    /// The compacted blocks' partitions instead of the readings'.
    public let blocks: Bool
    private var known = Set<Int64>()

    public init(sensor: SensorType, blocks: Bool = false) {
        self.tables = SensorTables(sensor)
        self.blocks = blocks
    }

    /// Makes sure each day exists; one round trip for days already known this process.
    public func ensure(days: some Sequence<Int64>, on connection: PGConnection) throws(PGError) {
        let missing = Set(days).subtracting(known).sorted()
        guard !missing.isEmpty else { return }
        try connection.transaction { (connection) throws(PGError) in
            try connection.query("SELECT pg_advisory_xact_lock($1)", [String(Schema.migrationLock + 1)])
            for day in missing {
                let from = CivilDate(daysSinceEpoch: day).iso
                let to = CivilDate(daysSinceEpoch: day + 1).iso
                try connection.execute("""
                    CREATE TABLE IF NOT EXISTS \(blocks ? tables.blockPartitionName(day: day) : tables.partitionName(day: day))
                    PARTITION OF \(blocks ? tables.blocks : tables.readings)
                    FOR VALUES FROM ('\(from) 00:00:00+00') TO ('\(to) 00:00:00+00')
                    """)
            }
        }
        known.formUnion(missing)
    }

    /// Today and the next `ahead` days, by the given clock (microseconds since the epoch).
    public func ensureAhead(now: Int64, ahead: Int = 2, on connection: PGConnection) throws(PGError) {
        let today = Micros.day(of: now)
        try ensure(days: (today - 1)...(today + Int64(ahead)), on: connection)
    }

    /// Forgets what it knows, e.g. after retention dropped partitions.
    public func forget() { known.removeAll() }
}

// The services' entry point: the same work on a `StoreConnection`.
extension Partitions {
    public func ensureAhead(now: Int64, ahead: Int = 2, on connection: StoreConnection) throws(StoreError) {
        try StoreError.wrap { () throws(PGError) in try ensureAhead(now: now, ahead: ahead, on: connection.pg) }
    }
}
