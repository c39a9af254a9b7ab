#!/usr/bin/env bash
# The deploy modes benchmark (EndToEndBenchmark modes, Tools/Benchmarks/EndToEndBenchmark/Modes): microservices
# (a `telemetry ingest` per sensor type, the catch-all, `telemetry query`) against the monolith (`telemetry
# all`) on one machine, one broker, one PostgreSQL (with commit timestamps, for publish→commit latency)
# and the same mixed load of every sensor type. Prints the tables (Markdown) on stdout; progress, one
# line per run, on stderr; logs stay in the printed folder.
#
#   scripts/bench-modes.sh                     the full run (about 25 minutes)
#   BENCH_SECONDS=10 scripts/bench-modes.sh    short runs, to try it out
#
# Knobs: BENCH_PHASES (default rate,faults,scaling,loss; faults without rate need BENCH_RATE, readings/s), BENCH_SECONDS (each paced run, default 30), BENCH_MAX_STEPS (7), BENCH_START_SHARE (the search starts at this share of the backlog drain rate, 0.6), BENCH_OUTAGE_SECONDS (10),
# BENCH_SAMPLES (samples per frame, 10), BENCH_DEVICES (per sensor type, 200), BENCH_CONNECTIONS (load
# generator connections per sensor type, 1), BENCH_WINDOW (500), BENCH_BACKLOG_MESSAGES (240000 in all).
# TELEMETRY_SWIFT_FLAGS: extra `swift build` flags (default "--scratch-path .build-bench").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh
ensure_packages

build_bench telemetry EndToEndBenchmark
bin=$BENCH_BIN

work=$(mktemp -d /tmp/telemetry-modes.XXXXXX)
start_bench_servers "$work"
BENCH_MQTT_URL=$MQTT_URL BENCH_DATABASE_URL=$PG_URL BENCH_BIN_DIR=$bin BENCH_LOG_DIR=$work BENCH_PG_DATA=$PG_DATA \
    BENCH_MOSQUITTO_PID=$MOSQUITTO_PID BENCH_MOSQUITTO_CONF=$MOSQUITTO_CONF BENCH_MOSQUITTO_PID_FILE=$work/mosquitto/mosquitto.pid \
    BENCH_MOSQUITTO_BIN=$(_mosquitto_bin) "$bin/EndToEndBenchmark" modes
log "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
