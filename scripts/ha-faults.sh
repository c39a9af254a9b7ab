#!/usr/bin/env bash
# The faults the Patroni cluster must survive with nothing acknowledged lost (docs/high-availability.md):
# a three-node cluster (scripts/ha-lib.sh), a private mosquitto and `telemetry ingest --sensor temperature`
# on the multi-host URL; for each fault a QoS 1 load from `telemetry emulate --verify` (every acknowledged
# reading stored exactly once), the rollups checked against the readings (none counted twice), and what it
# cost: time without a primary, time until the newest stored reading is again under 2 s old.
#
#   scripts/ha-faults.sh                 every fault, in turn, on one cluster
#   scripts/ha-faults.sh primary-killed  one of: primary-killed, standbys-gone, standbys-gone-strict, etcd-down
#
# Knobs: TELEMETRY_BIN_DIR (prebuilt executables; default: release build in .build-bench), HA_FAULTS_RATE
# (messages/s, 500), HA_FAULTS_SECONDS (load per fault, 60). Exit status 1 if any fault lost or doubled.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
# shellcheck source=scripts/ha-lib.sh
source scripts/ha-lib.sh

faults=("$@")
[ ${#faults[@]} -gt 0 ] || faults=(primary-killed standbys-gone standbys-gone-strict etcd-down)
for fault in "${faults[@]}"; do
    case "$fault" in primary-killed | standbys-gone | standbys-gone-strict | etcd-down) ;; *) die "unknown fault: $fault"; exit 2 ;; esac
done

ha_ensure_packages
if [ -n "${TELEMETRY_BIN_DIR:-}" ]; then bin=$TELEMETRY_BIN_DIR; else build_bench telemetry; bin=$BENCH_BIN; fi
rate=${HA_FAULTS_RATE:-500}
seconds=${HA_FAULTS_SECONDS:-60}

HA_WORK=$(mktemp -d /tmp/telemetry-ha-faults.XXXXXX)
ingest_pid=
cleanup() {
    set +e
    [ -n "$ingest_pid" ] && { kill -TERM "$ingest_pid" 2>/dev/null; wait "$ingest_pid" 2>/dev/null; }
    stop_mosquitto "$HA_WORK/mosquitto" >/dev/null 2>&1
    ha_stop_cluster
    if [ -n "${HA_FAULTS_KEEP:-}" ]; then log "kept $HA_WORK"; else rm -rf -- "$HA_WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ha_start_cluster
start_mosquitto "$HA_WORK/mosquitto" "$(free_port)" >/dev/null
health=$(free_port)
TELEMETRY_DATABASE_URL=$HA_URL TELEMETRY_MQTT_URL=$MQTT_URL TELEMETRY_CATALOG=$PWD/config/sensors TELEMETRY_JOURNAL_DIR=$HA_WORK/journal \
    TELEMETRY_METRICS_PORT=$health "$bin/telemetry" ingest --sensor temperature >"$HA_WORK/ingest.log" 2>&1 &
ingest_pid=$!
deadline=$((SECONDS + 60))
until curl -sf "http://127.0.0.1:$health/readyz" >/dev/null; do
    [ $SECONDS -lt $deadline ] || { tail -n 20 "$HA_WORK/ingest.log" >&2; die "ingest service not ready"; exit 1; }
    sleep 0.2
done
log "ingest ready; logs in $HA_WORK"

sql() { psql -X -qtA "$HA_URL" -c "$1" 2>/dev/null; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Seconds since the newest stored reading of this load's devices (reading times follow the clock).
lag() { sql "SELECT coalesce(extract(epoch FROM now() - max(r.time)), 999) FROM temperature r JOIN devices d ON d.id = r.device_id WHERE d.device LIKE '$1-%'"; }

stored() { sql "SELECT count(*) FROM temperature r JOIN devices d ON d.id = r.device_id WHERE d.device LIKE '$1-%'"; }

wait_primary() {
    local deadline=$((SECONDS + 120))
    until [ -n "$(ha_node_with primary)" ]; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.2; done
}

# Caught up: the newest stored reading under 2 s old while the load runs; every reading stored once it ended.
wait_caught_up() {
    local deadline=$((SECONDS + 300)) l
    while :; do
        if kill -0 "$load_pid" 2>/dev/null; then
            l=$(lag "$1")
            awk -v l="${l:-999}" 'BEGIN { exit !(l < 2) }' && return 0
        else
            [ "$(stored "$1")" = $((rate * seconds)) ] && return 0
        fi
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.5
    done
}

load() {
    TELEMETRY_DATABASE_URL=$HA_URL "$bin/telemetry" emulate --sensor temperature --devices 50 --rate "$rate" --count $((rate * seconds)) --qos 1 \
        --device-prefix "$1" --verify --verify-timeout 300 --url "$MQTT_URL" >"$HA_WORK/$1.emulate.log" 2>&1 &
    load_pid=$!
    local deadline=$((SECONDS + 30))
    until [ "$(lag "$1")" != 999 ] && [ -n "$(lag "$1")" ]; do [ $SECONDS -lt $deadline ] || break; sleep 0.5; done
}

failed=0
report=()

# Waits for the load, checks it and the rollups, and adds the fault's line to the report.
settle() {
    local name=$1 prefix=$2 without=$3 caught=$4 verdict=OK
    wait "$load_pid" || verdict=FAILED
    local readings minute hour verify
    readings=$(sql "SELECT count(*) FROM temperature r JOIN devices d ON d.id = r.device_id WHERE d.device LIKE '$prefix-%'")
    minute=$(sql "SELECT coalesce(sum(r.celsius_count), 0) FROM temperature_1m r JOIN devices d ON d.id = r.device_id WHERE d.device LIKE '$prefix-%'")
    hour=$(sql "SELECT coalesce(sum(r.celsius_count), 0) FROM temperature_1h r JOIN devices d ON d.id = r.device_id WHERE d.device LIKE '$prefix-%'")
    [ "$readings" = "$minute" ] && [ "$readings" = "$hour" ] || verdict=FAILED
    verify=$(grep -E '^temperature ' "$HA_WORK/$prefix.emulate.log" | tr -s ' ' || true)
    [ "$verdict" = OK ] || failed=1
    report+=("$(printf '%-22s %-7s without primary %6ss, caught up %6ss; sent/stored/missing/duplicated: %s; rollups 1m %s 1h %s of %s readings' \
        "$name" "$verdict" "$without" "$caught" "${verify#temperature }" "$minute" "$hour" "$readings")")
    log "${report[-1]}"
}

primary_killed() {
    load f1
    sleep 10
    local victim t0 without caught
    victim=$(ha_node_with primary)
    log "primary-killed: SIGKILL to every process of node$victim (Patroni and PostgreSQL), the primary"
    t0=$(now)
    ha_kill_node "$victim"
    wait_primary || { die "no new primary"; return 1; }
    without=$(since "$t0")
    log "node$(ha_node_with primary) is primary after ${without}s"
    wait_caught_up f1 || log "ingestion did not catch up within 300 s"
    caught=$(since "$t0")
    ha_start_node "$victim"
    settle primary-killed f1 "$without" "$caught"
    ha_wait_ready 120 && log "node$victim is back as a standby: $(ha_list | grep -c running) nodes running"
}

standbys_gone() {
    local strict=$1 name=$2 prefix=$3 a b t0 before after
    patronictl -c "$HA_WORK/node1.yml" edit-config --force -s "synchronous_mode_strict=$strict" >/dev/null
    ha_wait_ready 60
    load "$prefix"
    sleep 10
    local primary; primary=$(ha_node_with primary)
    a=$(( primary % 3 + 1 )); b=$(( a % 3 + 1 ))
    log "$name: SIGKILL to both standbys (node$a, node$b), synchronous_mode_strict=$strict"
    t0=$(now)
    ha_kill_node "$a"
    ha_kill_node "$b"
    sleep 5
    before=$(sql "SELECT count(*) FROM temperature r JOIN devices d ON d.id = r.device_id WHERE d.device LIKE '$prefix-%'")
    sleep 20
    after=$(sql "SELECT count(*) FROM temperature r JOIN devices d ON d.id = r.device_id WHERE d.device LIKE '$prefix-%'")
    log "$name: with both standbys gone, $(( ${after:-0} - ${before:-0} )) readings were stored in 20 s (writes $([ "${after:-0}" -gt "${before:-0}" ] && echo continued || echo blocked)); journal $(curl -s "http://127.0.0.1:$health/metrics" | grep '^telemetry_ingest_journal_bytes' | awk '{ print $2 }' | head -n 1) bytes"
    ha_start_node "$a"
    ha_start_node "$b"
    ha_wait_ready 120
    wait_caught_up "$prefix" || log "ingestion did not catch up within 300 s"
    settle "$name" "$prefix" 0 "$(since "$t0")"
}

etcd_down() {
    load f4
    sleep 10
    local t0 role
    log "etcd-down: SIGKILL to etcd for 30 s"
    t0=$(now)
    kill -KILL "$HA_ETCD_PID"
    wait "$HA_ETCD_PID" 2>/dev/null || true
    sleep 30
    role=$(ha_node_with primary)
    log "etcd-down: after 30 s without etcd, $([ -n "$role" ] && echo "node$role is still primary (read-write)" || echo "no node is primary (Patroni demoted it: read-only)")"
    ha_start_etcd
    wait_primary || { die "no primary after etcd came back"; return 1; }
    log "etcd-down: primary again $(since "$t0")s after etcd went down"
    wait_caught_up f4 || log "ingestion did not catch up within 300 s"
    settle etcd-down f4 "n/a" "$(since "$t0")"
}

for fault in "${faults[@]}"; do
    case "$fault" in
        primary-killed) primary_killed ;;
        standbys-gone) standbys_gone false standbys-gone f2 ;;
        standbys-gone-strict) standbys_gone true standbys-gone-strict f3 ;;
        etcd-down) etcd_down ;;
    esac
done

total=$(sql "SELECT count(*) FROM temperature")
counted=$(sql "SELECT coalesce(sum(readings), 0) FROM reading_counts WHERE sensor = 'temperature'")
[ "$total" = "$counted" ] || failed=1
printf '\nPatroni faults, %s, %s msg/s QoS 1 for %s s each, machine: %s cores, %s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$rate" "$seconds" "$(nproc)" "$(uname -r)"
printf '%s\n' "${report[@]}"
printf 'reading_counts: %s of %s readings\n' "$counted" "$total"
exit "$failed"
