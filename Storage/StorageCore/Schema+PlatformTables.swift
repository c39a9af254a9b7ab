import SensorModel

// Every table the platform keeps beside the sensor types' own: the schema is migrated in one place,
// and the modules that use a table only read and write it.
extension Schema {
    package static let defaultDeadLetterQuotaPerHour = 1000

    /// Device credentials (DeviceIdentity).
    package static let deviceCredentialsTable = """
        CREATE TABLE IF NOT EXISTS device_credentials (
            device text PRIMARY KEY,
            sensors text[],
            password_hash text NOT NULL,
            created timestamptz NOT NULL DEFAULT now(),
            rotated timestamptz NOT NULL DEFAULT now()
        )
        """

    /// Issued device certificates (DeviceIdentity).
    package static let deviceCertificatesTable = """
        CREATE TABLE IF NOT EXISTS device_certificates (
            serial text PRIMARY KEY,
            device text NOT NULL,
            not_after timestamptz NOT NULL,
            revoked timestamptz
        )
        """

    /// Readings per sensor type and minute (StorageWriter keeps them).
    package static let readingCountsTable = """
        CREATE TABLE IF NOT EXISTS reading_counts (
            sensor text NOT NULL, bucket timestamptz NOT NULL, shard int2 NOT NULL, readings int8 NOT NULL,
            PRIMARY KEY (sensor, bucket, shard)
        )
        """

    /// A version per sensor type, hour of its 1-hour rollups and writer shard (StorageEvents' `RollupVersions`).
    package static let rollupVersionsTable = """
        CREATE SEQUENCE IF NOT EXISTS rollup_version;
        CREATE TABLE IF NOT EXISTS rollup_versions (
            sensor text NOT NULL, hour int8 NOT NULL, shard int2 NOT NULL, version int8 NOT NULL,
            PRIMARY KEY (sensor, hour, shard)
        )
        """

    /// What each Sparkplug B edge node's BIRTH said, per sensor type's service (StorageWriter): its
    /// metrics' aliases, kept so that a DATA after a restart of the service, before the next BIRTH, is
    /// read. Names are the edge node's bytes as sent (bytea: no text rules apply to them).
    package static let sparkplugAliasesTable = """
        CREATE TABLE IF NOT EXISTS sparkplug_aliases (
            sensor text NOT NULL, group_id text NOT NULL, edge_node text NOT NULL, alias int8 NOT NULL,
            name bytea NOT NULL, datatype int4, device text, updated timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (sensor, group_id, edge_node, alias)
        )
        """

    /// Each ingest service's health row (StorageOperations).
    package static let ingestStatusTable = """
        CREATE TABLE IF NOT EXISTS ingest_status (
            service text PRIMARY KEY, sensor text NOT NULL, host text NOT NULL, pid int4 NOT NULL, metrics_url text,
            subscribed bool NOT NULL, stopped bool NOT NULL, received_total int8 NOT NULL, committed_readings_total int8 NOT NULL,
            rejected_total int8 NOT NULL, queue_depth int8 NOT NULL, journal_bytes int8 NOT NULL,
            received_per_second float8 NOT NULL, committed_readings_per_second float8 NOT NULL, updated_at timestamptz NOT NULL
        );
        ALTER TABLE ingest_status ADD COLUMN IF NOT EXISTS stalled text
        """

    /// The per-source dead-letter quota, its counts and trigger (StorageOperations).
    package static let deadLetterQuotaTables = """
        CREATE TABLE IF NOT EXISTS dead_letter_quota (one bool PRIMARY KEY DEFAULT true CHECK (one), per_hour int8 NOT NULL);
        INSERT INTO dead_letter_quota VALUES (true, \(defaultDeadLetterQuotaPerHour)) ON CONFLICT DO NOTHING;
        CREATE TABLE IF NOT EXISTS dead_letter_counts (
            source text NOT NULL, hour timestamptz NOT NULL, kept int8 NOT NULL, refused int8 NOT NULL,
            PRIMARY KEY (source, hour)
        );
        CREATE INDEX IF NOT EXISTS dead_letter_counts_hour ON dead_letter_counts (hour);
        CREATE OR REPLACE FUNCTION dead_letter_quota() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            letter_source text := left(CASE WHEN split_part(NEW.topic, '/', 1) = 'telemetry' AND split_part(NEW.topic, '/', 3) <> ''
                                            THEN split_part(NEW.topic, '/', 3) ELSE NEW.topic END, 256);
            letter_hour timestamptz := date_trunc('hour', NEW.received_at, 'UTC');
            counted int8;
        BEGIN
            -- The same message again (a batch written again after a COMMIT whose answer was lost, a replay):
            -- skipped here, before it is counted, as the insert's ON CONFLICT would skip it after.
            IF EXISTS (SELECT 1 FROM rejected WHERE received_at = NEW.received_at AND topic = NEW.topic
                       AND coalesce(sensor, '') = coalesce(NEW.sensor, '') AND md5(payload) = md5(NEW.payload)) THEN
                RETURN NULL;
            END IF;
            INSERT INTO dead_letter_counts AS c VALUES (letter_source, letter_hour, 1, 0)
            ON CONFLICT (source, hour) DO UPDATE SET kept = c.kept + 1 RETURNING c.kept INTO counted;
            IF counted <= (SELECT per_hour FROM dead_letter_quota) THEN RETURN NEW; END IF;
            UPDATE dead_letter_counts SET kept = kept - 1, refused = refused + 1 WHERE source = letter_source AND hour = letter_hour;
            RETURN NULL;
        END $$;
        -- Made once: replacing it at every migration (each retention pass) would lock out the writers each time.
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'dead_letter_quota' AND tgrelid = 'rejected'::regclass) THEN
                CREATE TRIGGER dead_letter_quota BEFORE INSERT ON rejected FOR EACH ROW EXECUTE FUNCTION dead_letter_quota();
            END IF;
        END $$
        """
}
