import Postgres
import SensorModel

/// Creates and updates the tables of a catalog. Idempotent, and safe when several services start at
/// once: the whole migration runs under one transaction-scoped advisory lock.
public enum Schema {
    static let migrationLock: Int64 = 0x7465_6C65_6D65_7472  // "telemetr"

    public static func migrate(_ connection: PGConnection, catalog: Catalog) throws(PGError) {
        try migrate(connection, sensors: catalog.sensors)
    }

    /// The common tables (devices, dead letters) and those of `sensors` (the ones placed in this database).
    static func migrate(_ connection: PGConnection, sensors: [SensorType]) throws(PGError) {
        try connection.transaction { (connection) throws(PGError) in
            try connection.query("SELECT pg_advisory_xact_lock($1)", [String(migrationLock)])
            try connection.execute(commonTables)
            try connection.execute(deviceCredentialsTable)
            try connection.execute(deviceCertificatesTable)
            try connection.execute(readingCountsTable)
            try connection.execute(rollupVersionsTable)
            try connection.execute(ingestStatusTable)
            try connection.execute(deadLetterQuotaTables)
            try connection.execute(sparkplugAliasesTable)
            try connection.execute(alertTables)
            try connection.execute(compactionTables)
            for sensor in sensors {
                try connection.execute((statements(for: sensor) + blockStatements(for: sensor)).joined(separator: ";\n"))
            }
        }
    }

    static let commonTables = """
        CREATE TABLE IF NOT EXISTS devices (
            id serial PRIMARY KEY,
            sensor text NOT NULL,
            device text NOT NULL,
            first_seen timestamptz NOT NULL,
            last_seen timestamptz NOT NULL,
            UNIQUE (sensor, device)
        );
        -- Device status (docs/devices.md#device-status): the writers keep last_heard (when a reading last
        -- arrived) and what the device last reported on its status topic; the status schedule derives state from them.
        -- Only when missing: migrations run at every start, and an ALTER would lock out the writers each time.
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'devices'::regclass AND attname = 'last_heard' AND NOT attisdropped) THEN
                ALTER TABLE devices ADD COLUMN last_heard timestamptz, ADD COLUMN reported text, ADD COLUMN reported_at timestamptz,
                    ADD COLUMN state text NOT NULL DEFAULT 'online', ADD COLUMN state_since timestamptz, ADD COLUMN expected_interval interval;
                UPDATE devices SET last_heard = last_seen, state_since = last_seen;
            END IF;
        END $$;
        CREATE TABLE IF NOT EXISTS device_state_changes (
            id bigserial PRIMARY KEY,
            device_id int4 NOT NULL,
            sensor text NOT NULL,
            device text NOT NULL,
            state text NOT NULL,
            since timestamptz NOT NULL,
            noticed timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX IF NOT EXISTS device_state_changes_noticed ON device_state_changes (noticed);
        CREATE TABLE IF NOT EXISTS rejected (
            id bigserial PRIMARY KEY,
            sensor text,
            topic text NOT NULL,
            received_at timestamptz NOT NULL,
            reason text NOT NULL,
            payload bytea NOT NULL
        );
        CREATE INDEX IF NOT EXISTS rejected_received_at ON rejected (received_at, id);
        CREATE INDEX IF NOT EXISTS rejected_sensor_received_at ON rejected (sensor, received_at, id);
        -- A message's identity for one sensor type (several may take one topic): a dead letter replayed
        -- from a journal adds nothing. Copies stored before
        -- the key existed are removed once, when it is made.
        DO $$ BEGIN
            IF to_regclass('rejected_message_key') IS NULL THEN
                DELETE FROM rejected a USING rejected b
                WHERE a.id > b.id AND a.received_at = b.received_at AND a.topic = b.topic
                  AND coalesce(a.sensor, '') = coalesce(b.sensor, '') AND a.payload = b.payload;
                CREATE UNIQUE INDEX rejected_message_key ON rejected (received_at, topic, coalesce(sensor, ''), md5(payload));
            END IF;
        END $$
        """

    /// `ALTER TABLE ... ADD COLUMN` only when the column is missing: even with IF NOT EXISTS an ALTER takes
    /// an exclusive lock on the table and every partition, and migrations run at every start and every
    /// retention and compaction pass (a reader holding a lock would queue every writer behind it).
    /// `table` quoted, `column` not (names come from the validated catalog).
    static func addColumnIfMissing(_ table: String, _ column: String, _ type: String) -> String {
        """
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '\(table)'::regclass AND attname = '\(column)' AND NOT attisdropped) THEN
                ALTER TABLE \(table) ADD COLUMN "\(column)" \(type);
            END IF;
        END $$
        """
    }

    static func statements(for sensor: SensorType) -> [String] {
        let tables = SensorTables(sensor)
        var sql: [String] = []
        let fieldDefinitions = tables.fieldColumns.map { "\($0) float8" }.joined(separator: ", ")
        sql.append("""
            CREATE TABLE IF NOT EXISTS \(tables.readings) (
                device_id int4 NOT NULL, time timestamptz NOT NULL, seq int8, \(fieldDefinitions),
                PRIMARY KEY (device_id, time)
            ) PARTITION BY RANGE (time)
            """)
        // A field added to the catalog later becomes a column; old rows read it as missing.
        for field in sensor.fields {
            sql.append(addColumnIfMissing(tables.readings, field.name, "float8"))
        }
        for resolution in RollupResolution.allCases {
            let table = tables.rollup(resolution)
            sql.append("""
                CREATE TABLE IF NOT EXISTS \(table) (
                    device_id int4 NOT NULL, bucket timestamptz NOT NULL,
                    PRIMARY KEY (device_id, bucket)
                )
                """)
            for field in sensor.fields {
                sql.append(addColumnIfMissing(table, "\(field.name)_count", "int8 NOT NULL DEFAULT 0"))
                for part in ["sum", "min", "max"] {
                    sql.append(addColumnIfMissing(table, "\(field.name)_\(part)", "float8"))
                }
            }
            let stem = "\(sensor.name)_\(resolution == .minute ? "1m" : "1h")"
            let index = tables.quoted("\(stem)_bucket")
            sql.append("CREATE INDEX IF NOT EXISTS \(index) ON \(table) (bucket)")
            // Every batch updates the aggregates of its devices' rows: updates that change no indexed column
            // and find room on their page are HOT (no index entry at all). A covering index that INCLUDEd
            // the aggregates made every update write an entry in each of three indexes (index inserts were
            // a quarter of PostgreSQL's CPU at 30k readings/s, docs/benchmarks/2026-12-write-path.md); it
            // goes, and pages keep room for updates (fillfactor applies to pages written from now on).
            sql.append("DROP INDEX IF EXISTS \(tables.quoted("\(stem)_device_bucket_cover"))")
            // Only when not yet so: migrations run at every start and retention pass, and each ALTER would
            // invalidate every session's plans of the table.
            sql.append("""
                DO $$ BEGIN
                    IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass('\(table)') AND reloptions @> ARRAY['fillfactor=70']) THEN
                        ALTER TABLE \(table) SET (fillfactor = 70);
                    END IF;
                END $$
                """)
        }
        return sql
    }
}

// The services' entry point: the same work on a `StoreConnection`.
extension Schema {
    public static func migrate(_ connection: StoreConnection, catalog: Catalog) throws(StoreError) {
        try StoreError.wrap { () throws(PGError) in try migrate(connection.pg, catalog: catalog) }
    }

    public static func migrate(_ connection: StoreConnection, sensors: [SensorType]) throws(StoreError) {
        try StoreError.wrap { () throws(PGError) in try migrate(connection.pg, sensors: sensors) }
    }
}
