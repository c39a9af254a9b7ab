/// One documented setting: its file key (the variable is `TELEMETRY_` + the key upper-cased), what it
/// does, and its default as text. `PlatformSettings.all` lists every one; docs/settings.md is generated
/// from it (`PlatformSettings.markdownPage`).
public struct Setting: Sendable, Hashable {
    public var key: String
    public var documentation: String
    public var defaultText: String

    public static func variable(of key: String) -> String { "TELEMETRY_" + key.uppercased() }
}

extension PlatformSettings {
    /// Every setting the platform reads, in docs/settings.md's order.
    public static let all: [Setting] = [
        Setting(key: "mqtt_url", documentation: "the broker: `mqtt://[user:pass@]host:port`, or `mqtts://...` for TLS", defaultText: "mqtt://127.0.0.1:1883"),
        Setting(key: "mqtt_ca_file", documentation: "the CA certificate that verifies the broker on `mqtts://` (none: the system's CAs)", defaultText: "none"),
        Setting(key: "database_url", documentation: "PostgreSQL, as a libpq URL", defaultText: "postgresql://postgres@127.0.0.1:5433/telemetry"),
        Setting(key: "sensor_database_urls", documentation: "sensor types whose tables live in a PostgreSQL of their own: `sensor=url` pairs, comma-separated (a JSON list in the file)", defaultText: "none"),
        Setting(key: "catalog", documentation: "the sensor catalog folder (one JSON file per sensor type)", defaultText: "config/sensors"),
        Setting(key: "log_level", documentation: "trace, debug, info, notice, warning, error or critical", defaultText: "info"),
        Setting(key: "http_host", documentation: "query service: address to listen on (not loopback: api_tokens required)", defaultText: "127.0.0.1"),
        Setting(key: "http_port", documentation: "query service: port (0 picks a free one)", defaultText: "8080"),
        Setting(key: "api_tokens", documentation: "query service: bearer tokens, comma-separated (a JSON list in the file)", defaultText: "none"),
        Setting(key: "admin_tokens", documentation: "query service: admin bearer tokens (also the device credential routes), comma-separated", defaultText: "none"),
        Setting(key: "read_pool_size", documentation: "query service: database connections for reads, 1...64", defaultText: "4"),
        Setting(key: "standby_reads", documentation: "query service: readings, aggregates and dead letters from a standby where `database_url` lists a Patroni cluster's hosts (`target_session_attrs=prefer-standby`; docs/high-availability.md)", defaultText: "false"),
        Setting(key: "rollup_cache_mb", documentation: "query service: memory for the 1-hour rollup cache in MiB, 0 turns it off", defaultText: "256"),
        Setting(key: "retention_interval_seconds", documentation: "query service: how often the retention policy runs", defaultText: "3600"),
        Setting(key: "compact_after_minutes", documentation: "query service: readings of an hour that ended this long ago are compacted into blocks of about a byte a reading (docs/storage.md), 0...5256000; `none`: no compaction", defaultText: "120"),
        Setting(key: "compact_interval_seconds", documentation: "query service: how often compaction looks for hours to compact", defaultText: "600"),
        Setting(key: "dead_letter_retention_days", documentation: "query service: retention deletes dead letters (and their quota counts) older than this, 1...36500", defaultText: "30"),
        Setting(key: "dead_letter_quota_per_hour", documentation: "dead letters kept per device and hour; more are counted, not stored (`GET /v1/rejected/over-quota`); the query service applies it", defaultText: "1000"),
        Setting(key: "device_silent_factor", documentation: "a device is `silent` after its expected interval (catalog `expected_interval`, or its own) times this without a reading, 2...1000 (docs/devices.md#device-status)", defaultText: "3"),
        Setting(key: "device_status_seconds", documentation: "query service: how often device states are derived and their changes logged", defaultText: "5"),
        Setting(key: "journal_dir", documentation: "ingest: the journal's folder (one subfolder per client id)", defaultText: ".local/journal"),
        Setting(key: "journal_fsync", documentation: "ingest: `never`, `interval` (200 ms), `<N>ms` or `always`", defaultText: "interval"),
        Setting(key: "batch_messages", documentation: "ingest: messages per database transaction at most", defaultText: "2000"),
        Setting(
            key: "batch_linger_ms",
            documentation: "ingest: how long a writer waits for a batch to fill once its first message is there (0: takes what is queued); fewer, larger commits at low rates (docs/benchmarks/modes.md)",
            defaultText: "20"),
        Setting(key: "queue_messages", documentation: "ingest: messages journaled but not yet stored at most (then the broker waits)", defaultText: "20000"),
        Setting(key: "queue_bytes", documentation: "ingest: the same bound in payload bytes", defaultText: "33554432"),
        Setting(key: "instance", documentation: "ingest: replica name (letters, digits, -) in the MQTT client id and journal", defaultText: "0"),
        Setting(key: "shared_subscription", documentation: "ingest: subscribe through `$share/ingest-<sensor>/...` (docs/delivery.md)", defaultText: "false"),
        Setting(key: "mqtt_keepalive_seconds", documentation: "ingest: MQTT keepalive; the broker drops a service silent for 1.5 times this (a redelivery after that is recognised, not stored twice)", defaultText: "30"),
        Setting(key: "stall_seconds", documentation: "ingest: a pipeline whose oldest message has waited this long (retries, PostgreSQL away) is stalled: not ready, shown on the dashboard", defaultText: "30"),
        Setting(key: "reading_max_age_days", documentation: "ingest: readings older than this at receipt are dead-lettered (`time_out_of_window`); none: the sensor type's raw retention, or 3650 days", defaultText: "none"),
        Setting(key: "reading_max_ahead_seconds", documentation: "ingest: readings dated further than this after their receipt are dead-lettered (`time_out_of_window`)", defaultText: "300"),
        Setting(key: "metrics_port", documentation: "ingest and broker-sync: serve /healthz, /readyz and Prometheus text on GET /metrics here (0: a free port)", defaultText: "none"),
        Setting(key: "metrics_host", documentation: "ingest and broker-sync: address of that endpoint (not loopback: api_tokens required, and /metrics needs one)", defaultText: "127.0.0.1"),
        Setting(key: "service_password", documentation: "ingest and broker-sync: the password of the services' broker accounts (`ingest-<sensor>`, `ingest-unrouted`)", defaultText: "none"),
        Setting(key: "broker_password_file", documentation: "broker-sync: the devices' listeners' `password_file`, kept equal to the device credentials", defaultText: ".local/broker/passwords"),
        Setting(key: "broker_acl_file", documentation: "broker-sync: the devices' listeners' `acl_file`, kept the same way", defaultText: ".local/broker/acl"),
        Setting(key: "broker_service_password_file", documentation: "broker-sync: the services' listener's `password_file` (the service accounts)", defaultText: ".local/broker/service-passwords"),
        Setting(key: "broker_service_acl_file", documentation: "broker-sync: the services' listener's `acl_file`", defaultText: ".local/broker/service-acl"),
        Setting(key: "broker_crl_file", documentation: "broker-sync: the certificate listener's `crlfile`, the revoked device certificates (none: no certificate listener)", defaultText: "none"),
        Setting(key: "device_ca_file", documentation: "broker-sync: the CA certificate that issues devices' certificates and signs the CRL", defaultText: ".local/tls/ca.crt"),
        Setting(key: "device_ca_key_file", documentation: "broker-sync: that CA's private key", defaultText: ".local/tls/ca.key"),
        Setting(key: "broker_pid_file", documentation: "broker-sync: mosquitto's `pid_file` (SIGHUP after each write)", defaultText: ".local/broker/mosquitto.pid"),
    ]
}
