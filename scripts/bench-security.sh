#!/usr/bin/env bash
# The security benchmark (EndToEndBenchmark security, Tools/Benchmarks/EndToEndBenchmark/Security): the same load
# through two brokers on one machine, one PostgreSQL (with commit timestamps): one broker open (anonymous,
# no ACL, plaintext), one secured as scripts/run-local.sh runs it (devices log in with their own passwords
# over TLS, `telemetry broker-sync` keeps the password and ACL files, the ingest service reads on its service
# account over plaintext loopback). Prints the tables (Markdown) on stdout; progress on stderr.
#
#   scripts/bench-security.sh                    the full run (about 10 minutes)
#   BENCH_SECONDS=10 scripts/bench-security.sh   short runs, to try it out
#
# Knobs: BENCH_FRAMES (samples per frame, "10,1"), BENCH_DEVICES (devices = connections, 100), BENCH_SECONDS
# (the paced runs, 30), BENCH_UNPACED_MESSAGES (per frame size: "10=200000,1=400000"), BENCH_RATE_<samples>
# (the paced rate in readings/s; default half the lower unpaced throughput), BENCH_WINDOW (500).
# TELEMETRY_SWIFT_FLAGS: extra `swift build` flags (default "--scratch-path .build-bench").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh
ensure_packages
build_bench telemetry EndToEndBenchmark
bin=$BENCH_BIN

work=$(mktemp -d /tmp/telemetry-security.XXXXXX)
sync_pid=
start_bench_servers "$work"
open_url=$MQTT_URL open_pid=$MOSQUITTO_PID
stop_secured() {
    set +e
    [ -n "$sync_pid" ] && kill "$sync_pid" 2>/dev/null && wait "$sync_pid" 2>/dev/null
    stop_mosquitto "$work/secured/mosquitto" >/dev/null 2>&1
    _stop_bench_servers
}
trap stop_secured EXIT

# The secured broker, with a TLS listener for the devices.
scripts/make-tls.sh "$work/tls" >&2
password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
secured_port=$(free_port) tls_port=$(free_port)
MOSQUITTO_EXTRA_CONF="listener $tls_port 127.0.0.1
cafile $work/tls/ca.crt
certfile $work/tls/server.crt
keyfile $work/tls/server.key" start_secured_broker "$work/secured" "$secured_port" "$bin" "$password"
sync_pid=$SYNC_PID

BENCH_DATABASE_URL=$PG_URL BENCH_BIN_DIR=$bin BENCH_LOG_DIR=$work BENCH_PG_DATA=$PG_DATA \
    BENCH_OPEN_MQTT_URL=$open_url BENCH_OPEN_MOSQUITTO_PID=$open_pid \
    BENCH_SECURED_MQTT_URL=mqtt://127.0.0.1:$secured_port BENCH_SECURED_DEVICE_URL=mqtts://127.0.0.1:$tls_port BENCH_SECURED_DEVICE_PORT=$DEVICE_PORT \
    BENCH_CA_FILE=$work/tls/ca.crt BENCH_SECURED_MOSQUITTO_PID=$(cat "$work/secured/mosquitto/mosquitto.pid") \
    BENCH_SERVICE_PASSWORD=$password "$bin/EndToEndBenchmark" security
log "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
