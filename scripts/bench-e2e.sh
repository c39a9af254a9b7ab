#!/usr/bin/env bash
# The end-to-end benchmark (Benchmarks/EndToEndBenchmark): starts a throwaway PostgreSQL (with commit
# timestamps, for publish→commit latency) and mosquitto on free loopback ports, builds the services and
# the benchmark in release mode, installs the Python baseline's packages, runs it, prints the table.
#
#   scripts/bench-e2e.sh                      the full run (about 10 minutes)
#   BENCH_SECONDS=20 scripts/bench-e2e.sh     shorter sustained runs
#
# Knobs: BENCH_SECONDS (sustained run, default 60), BENCH_PROBE_SECONDS (15), BENCH_DEVICES (1000),
# BENCH_CONNECTIONS (4), BENCH_SKIP_PYTHON=1. Logs stay in the printed folder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh
ensure_packages
python3 -c 'import paho.mqtt, psycopg' 2>/dev/null || python3 -m pip install --quiet 'paho-mqtt>=2' 'psycopg[binary]' >&2 || log "python baseline packages missing"

for product in telemetry-ingest EndToEndBenchmark; do swift build -c release --product "$product"; done
bin=$(swift build -c release --show-bin-path)

work=$(mktemp -d /tmp/telemetry-bench.XXXXXX)
cleanup() {
    set +e
    stop_mosquitto "$work/mosquitto" >/dev/null 2>&1
    stop_postgres "$work/pgdata" >/dev/null 2>&1
    rm -rf -- "$(_pg_real_dir "$work/pgdata")" "$work/mosquitto" "$work"/journal-*
}
trap cleanup EXIT
PG_EXTRA_CONF="track_commit_timestamp = on" start_postgres "$work/pgdata" "$(free_port)" >/dev/null
start_mosquitto "$work/mosquitto" "$(free_port)" >/dev/null
log "logs in $work"
BENCH_MQTT_URL=$MQTT_URL BENCH_DATABASE_URL=$PG_URL BENCH_BIN_DIR=$bin BENCH_LOG_DIR=$work \
    BENCH_MOSQUITTO_PID=${MOSQUITTO_PID:-} "$bin/EndToEndBenchmark"
