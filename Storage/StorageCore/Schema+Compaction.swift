import SensorModel

// Compaction's bookkeeping (docs/storage.md): per sensor type, the horizon before which readings may be
// in blocks and how far compaction got; the hours a late reading reopened; the guard every batch passes.
extension Schema {
    static let compactionTables = """
        CREATE TABLE IF NOT EXISTS compaction_horizons (
            sensor text PRIMARY KEY,
            -- Readings before it may be compacted: a writer checks them against the blocks.
            horizon timestamptz NOT NULL,
            -- Hours before it are compacted (but for those in compaction_pending).
            done timestamptz NOT NULL
        );
        -- Hours before the horizon where a writer stored a reading: compacted again at the next pass.
        -- The version tells the compactor whether another reading came while it worked.
        CREATE TABLE IF NOT EXISTS compaction_pending (
            sensor text NOT NULL,
            bucket timestamptz NOT NULL,
            version int8 NOT NULL DEFAULT 1,
            PRIMARY KEY (sensor, bucket)
        );
        -- Every batch with readings calls it first: it holds the sensor type's horizon still (a shared
        -- lock the compactor takes exclusively to move it) and fails with TCH01 when the horizon the
        -- writer knows is not the stored one, so the writer learns it and checks late readings again.
        CREATE OR REPLACE FUNCTION telemetry_compaction_guard(lock_key int8, sensor_name text, known int8) RETURNS void
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock_shared(lock_key);
            IF coalesce((SELECT (extract(epoch FROM horizon) * 1000000)::int8 FROM compaction_horizons WHERE sensor = sensor_name),
                        -9223372036854775808) <> known THEN
                RAISE EXCEPTION 'the compaction horizon of % moved', sensor_name USING ERRCODE = 'TCH01';
            END IF;
        END $$
        """

    static func blockStatements(for sensor: SensorType) -> [String] {
        let tables = SensorTables(sensor)
        var sql: [String] = []
        let fieldDefinitions = tables.fieldColumns.map { "\($0) bytea" }.joined(separator: ", ")
        sql.append("""
            CREATE TABLE IF NOT EXISTS \(tables.blocks) (
                device_id int4 NOT NULL, bucket timestamptz NOT NULL, count int4 NOT NULL,
                _first timestamptz NOT NULL, _last timestamptz NOT NULL, _times bytea NOT NULL, _seqs bytea, \(fieldDefinitions),
                PRIMARY KEY (device_id, bucket)
            ) PARTITION BY RANGE (bucket)
            """)
        // A field added to the catalog later becomes a column (old blocks: NULL, read as missing).
        for field in sensor.fields {
            sql.append(addColumnIfMissing(tables.blocks, field.name, "bytea"))
        }
        // The codec's output does not compress further: TOAST must not spend CPU trying (EXTERNAL: out of
        // line when large, never compressed). Partitions made later take the parent's setting. Only when
        // not yet so: migrations run at every start.
        let encoded = CompactedBlock.encodedColumns(tables).map { $0.hasPrefix("\"") ? String($0.dropFirst().dropLast()) : $0 }
        let names = encoded.map { "'\($0)'" }.joined(separator: ", ")
        let alters = encoded.map { "ALTER COLUMN \(tables.quoted($0)) SET STORAGE EXTERNAL" }.joined(separator: ", ")
        sql.append("""
            DO $$ BEGIN
                IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '\(tables.blocks)'::regclass AND attname IN (\(names))
                           AND NOT attisdropped AND attstorage <> 'e') THEN
                    ALTER TABLE \(tables.blocks) \(alters);
                END IF;
            END $$
            """)
        return sql
    }
}

/// Advisory lock keys of compaction, the same in every process (FNV-1a of the sensor type's name: Swift's
/// own hashes differ between runs).
public enum CompactionLocks {
    /// Held shared by every batch (`telemetry_compaction_guard`), exclusively while the horizon moves.
    public static func horizon(_ sensor: String) -> Int64 { Int64(bitPattern: fnv1a("compaction-horizon:" + sensor)) }

    /// Held by the one compactor of a sensor type at a time (session lock: replicas skip while it is held).
    public static func compactor(_ sensor: String) -> Int64 { Int64(bitPattern: fnv1a("compaction-run:" + sensor)) }

    /// Devices are locked in groups of this many consecutive ids per hour.
    public static let groupSize: Int32 = 64

    /// The two-key lock of one hour and one device group: exclusive while it is compacted, shared while a
    /// writer checks late readings against it and stores them.
    public static func chunk(_ sensor: String, hour: Int64, deviceID: Int32) -> (Int32, Int32) {
        let key = fnv1a("compaction-chunk:" + sensor) ^ (UInt64(bitPattern: hour) &* 0x9E37_79B9_7F4A_7C15)
        return (Int32(truncatingIfNeeded: key ^ (key >> 32)), deviceID / groupSize)
    }

    /// Marks `hours` (µs, each an hour's start) for compaction again: a late reading stored there, or a block
    /// that did not decode. The version tells a compactor at work there that the hour changed meanwhile.
    public static func markPending(sensor: String, hours: [Int64]) -> String {
        """
        INSERT INTO compaction_pending AS p (sensor, bucket)
        SELECT '\(sensor)', \(SQLTime.timestamp("h")) FROM unnest('\(SQLText.array(hours.sorted()))'::int8[]) AS h ORDER BY 2
        ON CONFLICT (sensor, bucket) DO UPDATE SET version = p.version + 1
        """
    }

    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash
    }
}
