#!/usr/bin/env bash
# The dashboard's benchmark (Tools/Benchmarks/DashboardBenchmark): a throwaway PostgreSQL and mosquitto on free
# loopback ports, `telemetry ingest` for every sensor type and `telemetry query`, all release builds; the
# benchmark seeds BENCH_DEVICES devices, times the overview's API calls, publish → live stream latency
# under BENCH_LOAD msg/s at a socket client and in headless Chromium's live view (Selenium in
# .local/browser-venv, as for the tests; Tests/Browser/live_latency.py), and what BENCH_STREAMS idle
# streams cost the query process. Markdown on stdout.
#
#   scripts/bench-dashboard.sh                 defaults: 10,000 devices, 1,000 streams, 200 msg/s,
#                                              50 msg/s × 500 readings to the browser's device
#
# Knobs: BENCH_DEVICES, BENCH_STREAMS, BENCH_LOAD, BENCH_PROBES, BENCH_ITERATIONS, BENCH_BROWSER_RATE,
# BENCH_BROWSER_READINGS; TELEMETRY_SWIFT_FLAGS (default "--scratch-path .build-bench"). Logs stay in the
# printed folder. However it ends, nothing it started keeps running (the browser is swept by the benchmark).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh
ensure_packages
ensure_browser_venv
build_bench telemetry DashboardBenchmark
bin=$BENCH_BIN

work=$(mktemp -d /tmp/telemetry-bench-dashboard.XXXXXX)
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
ulimit -n 8192  # a thousand streams are a thousand sockets on each side
token=bench-$RANDOM$RANDOM
http_port=$(free_port)
export TELEMETRY_DATABASE_URL=$PG_URL TELEMETRY_MQTT_URL=$MQTT_URL TELEMETRY_CATALOG=$PWD/config/sensors
TELEMETRY_JOURNAL_DIR=$work/journal TELEMETRY_METRICS_PORT=$(free_port) "$bin/telemetry" ingest --all >"$work/ingest.log" 2>&1 &
pids+=($!)
TELEMETRY_API_TOKENS=$token TELEMETRY_HTTP_HOST=127.0.0.1 TELEMETRY_HTTP_PORT=$http_port "$bin/telemetry" query >"$work/query.log" 2>&1 &
query_pid=$!
pids+=("$query_pid")
deadline=$((SECONDS + 60))
until curl -sf "http://127.0.0.1:$http_port/readyz" >/dev/null; do
    [ $SECONDS -lt $deadline ] || { tail -n 20 "$work/query.log" >&2; die "query service not ready"; }
    sleep 0.2
done
log "logs in $work; load average $(cut -d' ' -f1-3 /proc/loadavg)"
# In the background so that a signal reaches the cleanup at once (bash waits out a foreground child).
"$bin/DashboardBenchmark" --port "$http_port" --token "$token" --database "$PG_URL" --mqtt "$MQTT_URL" --query-pid "$query_pid" \
    --catalog "$PWD/config/sensors" --devices "${BENCH_DEVICES:-10000}" --streams "${BENCH_STREAMS:-1000}" --load "${BENCH_LOAD:-200}" \
    --probes "${BENCH_PROBES:-200}" --iterations "${BENCH_ITERATIONS:-100}" \
    --python "$BROWSER_PYTHON" --browser-script "$PWD/Tests/Browser/live_latency.py" \
    --browser-rate "${BENCH_BROWSER_RATE:-50}" --browser-readings "${BENCH_BROWSER_READINGS:-500}" &
pids+=($!)
wait $!
log "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
