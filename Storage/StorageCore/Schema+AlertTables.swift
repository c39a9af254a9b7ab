// The alerts' tables (docs/alerts.md): rules, the writers' per-(rule, device) state, one row per episode, and
// the outbox the notifiers deliver from. They live in every database, beside the readings of the sensor
// types placed there: an episode is written in the same transaction as the readings that raised it.
extension Schema {
    package static let alertTables = """
        CREATE TABLE IF NOT EXISTS alert_rules (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            name text NOT NULL,
            sensor text NOT NULL,
            condition text NOT NULL CHECK (condition IN ('above', 'below', 'silent')),
            field text,
            threshold float8,
            clear_threshold float8,
            for_micros int8 NOT NULL DEFAULT 0,
            device text,
            device_prefix text,
            webhook text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX IF NOT EXISTS alert_rules_sensor ON alert_rules (sensor);
        -- Bumped by every change of a rule: a writer reloads its rules when it moves.
        CREATE TABLE IF NOT EXISTS alert_rules_version (one bool PRIMARY KEY DEFAULT true CHECK (one), version int8 NOT NULL);
        INSERT INTO alert_rules_version VALUES (true, 0) ON CONFLICT DO NOTHING;
        -- A threshold rule's state per device, written by the writer that evaluates it, only when it changes:
        -- 'normal' (since the reading that ended the last episode or pending), 'pending' (breached since
        -- `since`, not yet for long enough) or 'raised'. Readings at or before `since` are not evaluated again.
        CREATE TABLE IF NOT EXISTS alert_state (
            rule_id uuid NOT NULL,
            device_id int4 NOT NULL,
            state text NOT NULL,
            since timestamptz NOT NULL,
            PRIMARY KEY (rule_id, device_id)
        );
        -- The writer locks and reads a batch's devices' states by device.
        CREATE INDEX IF NOT EXISTS alert_state_device ON alert_state (device_id);
        CREATE TABLE IF NOT EXISTS alert_episodes (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            rule_id uuid NOT NULL,
            rule_name text NOT NULL,
            sensor text NOT NULL,
            device_id int4 NOT NULL,
            device text NOT NULL,
            condition text NOT NULL,
            field text,
            threshold float8,
            value float8,
            started_at timestamptz NOT NULL,
            raised_at timestamptz NOT NULL,
            noticed_at timestamptz NOT NULL DEFAULT now(),
            acknowledged_at timestamptz,
            acknowledged_by text,
            cleared_at timestamptz,
            clear_value float8,
            clear_reason text,
            webhook text
        );
        -- One open episode per rule and device, whatever raced: replicas, replays, restarts.
        CREATE UNIQUE INDEX IF NOT EXISTS alert_episodes_open ON alert_episodes (rule_id, device_id) WHERE cleared_at IS NULL;
        CREATE INDEX IF NOT EXISTS alert_episodes_raised ON alert_episodes (raised_at DESC);
        -- What is still to be told about an episode (raised, acknowledged, cleared), per sensor type's notifier.
        CREATE TABLE IF NOT EXISTS alert_outbox (
            id bigserial PRIMARY KEY,
            episode_id uuid NOT NULL,
            sensor text NOT NULL,
            event text NOT NULL,
            at timestamptz NOT NULL DEFAULT now(),
            attempts int4 NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            published bool NOT NULL DEFAULT false,
            posted bool NOT NULL DEFAULT false,
            last_error text
        );
        CREATE INDEX IF NOT EXISTS alert_outbox_due ON alert_outbox (sensor, next_attempt_at);
        CREATE INDEX IF NOT EXISTS alert_outbox_episode ON alert_outbox (episode_id, id)
        """
}
