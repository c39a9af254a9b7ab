#!/usr/bin/env bash
# Alert latency benchmark (issue 21): publish → webhook of the `raised` event at 10,000 readings/s with 1,000
# rules, through mosquitto, `telemetry ingest --sensor temperature` and PostgreSQL, all throwaway on free
# loopback ports; the ingest service's CPU at the same load without rules first. Release builds; a Markdown
# report on stdout (docs/benchmarks/2026-12-alerts.md).
#
#   scripts/bench-alerts.sh [--rate 10000] [--rules 1000] [--devices 1000] [--seconds 60] [--baseline-seconds 30]
#                           [--breaches-per-second 20]
#
# Env: TELEMETRY_SWIFT_FLAGS (default "--scratch-path .build-bench").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
ensure_packages
build_bench telemetry AlertLatencyBenchmark
bin=$BENCH_BIN

work=$(mktemp -d /tmp/telemetry-bench-alerts.XXXXXX)
pids=()
cleanup() {
    set +e
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    stop_mosquitto "$work/mosquitto" >/dev/null 2>&1
    stop_postgres "$work/pgdata" >/dev/null 2>&1
    rm -rf -- "$(_pg_real_dir "$work/pgdata")" "$work/mosquitto" "$work/journal"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
start_postgres "$work/pgdata" "$(free_port)" >/dev/null
start_mosquitto "$work/mosquitto" "$(free_port)" >/dev/null
health=$(free_port)
TELEMETRY_DATABASE_URL=$PG_URL TELEMETRY_MQTT_URL=$MQTT_URL TELEMETRY_CATALOG=$PWD/config/sensors TELEMETRY_JOURNAL_DIR=$work/journal \
    TELEMETRY_METRICS_PORT=$health "$bin/telemetry" ingest --sensor temperature >"$work/ingest.log" 2>&1 &
ingest_pid=$!
pids+=("$ingest_pid")
deadline=$((SECONDS + 60))
until curl -sf "http://127.0.0.1:$health/readyz" >/dev/null; do
    [ $SECONDS -lt $deadline ] || { tail -n 20 "$work/ingest.log" >&2; die "ingest service not ready"; }
    sleep 0.2
done
log "logs in $work; load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin/AlertLatencyBenchmark" --mqtt "$MQTT_URL" --database "$PG_URL" --ingest-pid "$ingest_pid" --broker-pid "$MOSQUITTO_PID" \
    --postmaster-pid "$(head -n 1 "$PG_DATA/postmaster.pid")" "$@" &
pids+=($!)
wait $!
log "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
