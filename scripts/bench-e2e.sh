#!/usr/bin/env bash
# The end-to-end benchmark (Tools/Benchmarks/EndToEndBenchmark): starts a throwaway PostgreSQL (with commit
# timestamps, for publish→commit latency) and mosquitto on free loopback ports, builds telemetry and
# the benchmark in release mode, runs it and prints the tables (Markdown) on stdout; progress, one line per
# run, goes to stderr.
#
#   scripts/bench-e2e.sh                      the full run (about 15 minutes)
#   BENCH_SECONDS=10 scripts/bench-e2e.sh     short runs, to try it out
#
# Knobs: BENCH_SECONDS (each paced run, default 60), BENCH_HALF_SECONDS (the half-rate run, default
# BENCH_SECONDS), BENCH_FRAMES (samples per frame, default "10,1"), BENCH_DEVICES (1000), BENCH_CONNECTIONS
# (load generator connections, 2), BENCH_WINDOW (QoS 1 in flight per connection, 500), BENCH_BACKLOG_MESSAGES
# (500000), BENCH_BROKER_MESSAGES (300000), BENCH_MAX_STEPS (6), BENCH_START_RATE_10 / BENCH_START_RATE_1
# (start the search there instead of at the backlog drain rate). TELEMETRY_SWIFT_FLAGS: extra `swift build`
# flags (default "--scratch-path .build-bench", so a benchmark build never shares .build with other work).
# Logs stay in the printed folder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh
ensure_packages

# The ingest service is the `telemetry ingest` subcommand.
ingest_command="telemetry ingest"
build_bench telemetry EndToEndBenchmark
bin=$BENCH_BIN

work=$(mktemp -d /tmp/telemetry-bench.XXXXXX)
start_bench_servers "$work"
BENCH_MQTT_URL=$MQTT_URL BENCH_DATABASE_URL=$PG_URL BENCH_BIN_DIR=$bin BENCH_INGEST_COMMAND=$ingest_command BENCH_LOG_DIR=$work \
    BENCH_MOSQUITTO_PID=${MOSQUITTO_PID:-} BENCH_PG_DATA=$PG_DATA "$bin/EndToEndBenchmark"
log "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
