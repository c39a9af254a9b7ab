#!/usr/bin/env bash
# The credentials benchmark (EndToEndBenchmark credentials): a throwaway PostgreSQL, `telemetry broker-sync`
# and a mosquitto that takes no anonymous client and reads the files broker-sync keeps; then 10,000 and
# 100,000 devices provisioned, the time until the broker takes them, and a revocation with BENCH_CONNECTED
# (2,000) devices connected: how long until the broker drops it, and the broker CPU of that reload; then the same
# for a device connected with a client certificate, BENCH_REVOKED_CERTIFICATES (10,000) revoked ones already in the CRL.
# Prints a Markdown table on stdout; progress on stderr. Knobs: BENCH_FLEETS ("10000,100000"), BENCH_CONNECTED,
# BENCH_RESTRICTED_EVERY (10: every 10th device is allowed one sensor type only; 0: none), BENCH_REST (1: each fleet
# provisioned by one POST /v1/devices/credentials to a `telemetry query`; 0: through the library).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh
ensure_packages
build_bench telemetry EndToEndBenchmark
bin=$BENCH_BIN

work=$(mktemp -d /tmp/telemetry-credentials.XXXXXX)
sync_pid= query_pid=
cleanup() {
    set +e
    [ -n "$query_pid" ] && kill "$query_pid" 2>/dev/null && wait "$query_pid" 2>/dev/null
    [ -n "$sync_pid" ] && kill "$sync_pid" 2>/dev/null && wait "$sync_pid" 2>/dev/null
    stop_mosquitto "$work/mosquitto" >/dev/null 2>&1
    stop_postgres "$work/pgdata" >/dev/null 2>&1
    rm -rf -- "$(_pg_real_dir "$work/pgdata")" "$work/mosquitto" "$work/broker" "$work/tls"
}
trap cleanup EXIT
start_postgres "$work/pgdata" "$(free_port)" >/dev/null
password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export TELEMETRY_DATABASE_URL=$PG_URL TELEMETRY_CATALOG=$PWD/config/sensors  # the query service's
# Thousands of connected devices: the broker needs the descriptors.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# A certificate listener too, with the CRL broker-sync signs with the benchmark's own CA.
scripts/make-tls.sh "$work/tls" >&2
cert_port=$(free_port)
export TELEMETRY_BROKER_CRL_FILE=$work/broker/crl.pem TELEMETRY_DEVICE_CA_FILE=$work/tls/ca.crt TELEMETRY_DEVICE_CA_KEY_FILE=$work/tls/ca.key
MOSQUITTO_EXTRA_CONF="listener $cert_port 127.0.0.1
cafile $work/tls/ca.crt
certfile $work/tls/server.crt
keyfile $work/tls/server.key
require_certificate true
use_identity_as_username true
crlfile $TELEMETRY_BROKER_CRL_FILE" start_secured_broker "$work" "$(free_port)" "$bin" "$password"
sync_pid=$SYNC_PID
# The query service provisions each fleet in one POST /v1/devices/credentials (BENCH_REST=0: the library instead).
query_url=
if [ "${BENCH_REST:-1}" != 0 ]; then
    admin_token=bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n') http_port=$(free_port)
    TELEMETRY_ADMIN_TOKENS=$admin_token TELEMETRY_API_TOKENS=$admin_token-read TELEMETRY_HTTP_HOST=127.0.0.1 TELEMETRY_HTTP_PORT=$http_port \
        "$bin/telemetry" query >"$work/query.log" 2>&1 &
    query_pid=$!
    query_url=http://127.0.0.1:$http_port
    until curl -fs "$query_url/readyz" >/dev/null; do kill -0 "$query_pid" || { cat "$work/query.log" >&2; exit 1; }; sleep 0.1; done
fi
log "logs in $work; load average $(cut -d' ' -f1-3 /proc/loadavg)"
BENCH_QUERY_URL=$query_url BENCH_ADMIN_TOKEN=${admin_token:-} BENCH_DATABASE_URL=$PG_URL BENCH_MQTT_PORT=$DEVICE_PORT BENCH_MOSQUITTO_PID_FILE=$work/mosquitto/mosquitto.pid \
    BENCH_ACL_FILE=$work/broker/acl BENCH_TELEMETRY=$bin/telemetry BENCH_CA_DIR=$work/tls BENCH_CERT_PORT=$cert_port \
    BENCH_CRL_FILE=$TELEMETRY_BROKER_CRL_FILE "$bin/EndToEndBenchmark" credentials
log "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
