#!/usr/bin/env bash
# The faults the Patroni cluster must survive with nothing acknowledged lost (docs/high-availability.md):
# a three-node cluster (scripts/ha-lib.sh), a private mosquitto and `telemetry ingest --sensor temperature`
# on the multi-host URL; for each fault a QoS 1 load from `telemetry emulate --verify` (every acknowledged
# reading stored exactly once), the rollups checked against the readings (none counted twice), and what it
# cost: time without a primary, time until the newest stored reading is again under 2 s old.
#
#   scripts/ha-faults.sh                 every fault, in turn, on one cluster (network-cut only as root)
#   scripts/ha-faults.sh primary-killed  one of: primary-killed, network-cut, standbys-gone,
#                                        standbys-gone-strict, etcd-down
#
# network-cut: the primary's link to the switch down for HA_FAULTS_CUT_SECONDS (60), its processes running
# on; then up: it must rejoin as a standby (pg_rewind, when its WAL went past the new primary's fork).
# It needs the cluster on a network: when network-cut is among the faults (or HA_NETNS=1), the whole run
# (every fault in it) is in network namespaces (scripts/ha-lib.sh, HA_NETNS=1: etcd, each node and the
# broker + ingest + emulator on hosts of their own, joined by a bridge; root only; removed at exit);
# otherwise it is on loopback ports as before.
#
# Knobs: TELEMETRY_BIN_DIR (prebuilt executables; default: release build in .build-bench), HA_FAULTS_RATE
# (messages/s, 500), HA_FAULTS_SECONDS (load per fault, 60; network-cut's is at least the cut + 30 s),
# HA_FAULTS_CUT_SECONDS (60), HA_NETNS, HA_FAILSAFE (Patroni's failsafe_mode, true; false to see etcd-down
# demote the primary). Exit status 1 if any fault lost or doubled.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
# shellcheck source=scripts/ha-lib.sh
source scripts/ha-lib.sh

case "${1:-}" in
    --help | -h) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
esac
faults=("$@")
if [ ${#faults[@]} -eq 0 ]; then
    faults=(primary-killed standbys-gone standbys-gone-strict etcd-down)
    [ "$(id -u)" -eq 0 ] && faults=(primary-killed network-cut standbys-gone standbys-gone-strict etcd-down)
fi
for fault in "${faults[@]}"; do
    case "$fault" in
        primary-killed | standbys-gone | standbys-gone-strict | etcd-down) ;;
        network-cut) HA_NETNS=1 ;;
        *) die "unknown fault: $fault (scripts/ha-faults.sh --help lists them)" || exit 2 ;;
    esac
done
if [ "$HA_NETNS" = 1 ] && [ "$(id -u)" -ne 0 ]; then die "network-cut (HA_NETNS=1) needs root: network namespaces" || exit 2; fi

ha_ensure_packages
if [ -n "${TELEMETRY_BIN_DIR:-}" ]; then bin=$TELEMETRY_BIN_DIR; else build_bench telemetry; bin=$BENCH_BIN; fi
rate=${HA_FAULTS_RATE:-500}
seconds=${HA_FAULTS_SECONDS:-60}
cut=${HA_FAULTS_CUT_SECONDS:-60}

HA_WORK=$(mktemp -d /tmp/telemetry-ha-faults.XXXXXX)
ingest_pid='' load_pid=''
# stop PID: SIGTERM, and SIGKILL after 20 s (a service blocked on a session to a host that vanished may
# not get to its shutdown).
# shellcheck disable=SC2317  # called from cleanup, the EXIT trap
stop() {
    kill -TERM "$1" 2>/dev/null || return 0
    local deadline=$((SECONDS + 20))
    while kill -0 "$1" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
cleanup() {
    set +e
    [ -n "$load_pid" ] && stop "$load_pid"
    [ -n "$ingest_pid" ] && stop "$ingest_pid"
    stop_mosquitto "$HA_WORK/mosquitto" >/dev/null 2>&1
    ha_stop_cluster
    if [ -n "${HA_FAULTS_KEEP:-}" ]; then log "kept $HA_WORK"; else rm -rf -- "$HA_WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ha_start_cluster
# The broker, the ingest service and the emulator on the clients' host (here, with loopback).
# shellcheck disable=SC2016  # $1 and $2 are the inner shell's
MQTT_URL=$(ha_client bash -c 'source scripts/lib.sh && start_mosquitto "$1" "$2"' _ "$HA_WORK/mosquitto" "$(free_port)")
health=$(free_port)
TELEMETRY_DATABASE_URL=$HA_URL TELEMETRY_MQTT_URL=$MQTT_URL TELEMETRY_CATALOG=$PWD/config/sensors TELEMETRY_JOURNAL_DIR=$HA_WORK/journal \
    TELEMETRY_METRICS_PORT=$health ha_bg app "$bin/telemetry" ingest --sensor temperature >"$HA_WORK/ingest.log" 2>&1
ingest_pid=$!
deadline=$((SECONDS + 60))
until ha_client curl -sf "http://127.0.0.1:$health/readyz" >/dev/null; do
    [ $SECONDS -lt $deadline ] || { tail -n 20 "$HA_WORK/ingest.log" >&2; die "ingest service not ready"; exit 1; }
    sleep 0.2
done
log "ingest ready; logs in $HA_WORK"

# The checks' URL: all nodes, but while a node's network is cut, the others only (so that each check does
# not first wait out connect_timeout on it).
sql_url=$HA_URL
sql() { ha_client psql -X -qtA "$sql_url" -c "$1" 2>/dev/null; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Seconds since the newest stored reading of this load's devices (reading times follow the clock).
lag() { sql "SELECT coalesce(extract(epoch FROM now() - max(r.time)), 999) FROM temperature r JOIN devices d ON d.id = r.device_id WHERE d.device LIKE '$1-%'"; }

stored() { sql "SELECT count(*) FROM temperature r JOIN devices d ON d.id = r.device_id WHERE d.device LIKE '$1-%'"; }

# The same from whichever node answers, also while there is no primary.
stored_anywhere() { sql_url=${sql_url/target_session_attrs=read-write/target_session_attrs=any} stored "$1"; }

# Waits for a primary (among the nodes given, default all).
wait_primary() {
    local deadline=$((SECONDS + 120))
    until [ -n "$(ha_node_with primary "$@")" ]; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.2; done
}

# Caught up: the newest stored reading under 2 s old while the load runs; every reading stored once it ended.
wait_caught_up() {
    local deadline=$((SECONDS + 300)) l
    while :; do
        if kill -0 "$load_pid" 2>/dev/null; then
            l=$(lag "$1")
            awk -v l="${l:-999}" 'BEGIN { exit !(l < 2) }' && return 0
        else
            [ "$(stored "$1")" = "$load_count" ] && return 0
        fi
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.5
    done
}

# load PREFIX [SECONDS]: rate messages/s for SECONDS (default $seconds) from devices PREFIX-*.
load() {
    load_count=$((rate * ${2:-$seconds}))
    TELEMETRY_DATABASE_URL=$HA_URL ha_bg app "$bin/telemetry" emulate --sensor temperature --devices 50 --rate "$rate" --count "$load_count" --qos 1 \
        --device-prefix "$1" --verify --verify-timeout 300 --url "$MQTT_URL" >"$HA_WORK/$1.emulate.log" 2>&1
    load_pid=$!
    local deadline=$((SECONDS + 30))
    until [ "$(lag "$1")" != 999 ] && [ -n "$(lag "$1")" ]; do [ $SECONDS -lt $deadline ] || break; sleep 0.5; done
}

failed=0
report=()

# settle NAME PREFIX WITHOUT CAUGHT [MORE]: waits for the load, checks it and the rollups, and adds the
# fault's line (and MORE) to the report.
settle() {
    local name=$1 prefix=$2 without=$3 caught=$4 more=${5:-} verdict=OK
    wait "$load_pid" || verdict=FAILED
    load_pid=
    local readings minute hour verify
    readings=$(stored "$prefix")
    minute=$(sql "SELECT coalesce(sum(r.celsius_count), 0) FROM temperature_1m r JOIN devices d ON d.id = r.device_id WHERE d.device LIKE '$prefix-%'")
    hour=$(sql "SELECT coalesce(sum(r.celsius_count), 0) FROM temperature_1h r JOIN devices d ON d.id = r.device_id WHERE d.device LIKE '$prefix-%'")
    [ "$readings" = "$minute" ] && [ "$readings" = "$hour" ] || verdict=FAILED
    verify=$(grep -E '^temperature ' "$HA_WORK/$prefix.emulate.log" | tr -s ' ' || true)
    [ "$verdict" = OK ] || failed=1
    report+=("$(printf '%-22s %-7s without primary %6ss, caught up %6ss; sent/stored/missing/duplicated: %s; rollups 1m %s 1h %s of %s readings' \
        "$name" "$verdict" "$without" "$caught" "${verify#temperature }" "$minute" "$hour" "$readings")${more:+; $more}")
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
    ha_ctl edit-config --force -s "synchronous_mode_strict=$strict" >/dev/null
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
    before=$(stored "$prefix")
    sleep 20
    after=$(stored "$prefix")
    log "$name: with both standbys gone, $(( ${after:-0} - ${before:-0} )) readings were stored in 20 s (writes $([ "${after:-0}" -gt "${before:-0}" ] && echo continued || echo blocked)); journal $(ha_client curl -s "http://127.0.0.1:$health/metrics" | grep '^telemetry_ingest_journal_bytes' | awk '{ print $2 }' | head -n 1) bytes"
    ha_start_node "$a"
    ha_start_node "$b"
    ha_wait_ready 120
    wait_caught_up "$prefix" || log "ingestion did not catch up within 300 s"
    settle "$name" "$prefix" 0 "$(since "$t0")"
}

# node_state N [WHERE]: node N's Patroni role and state (REST GET /patroni), e.g. "replica running", or
# nothing; asked from the clients' host, or from WHERE (node N itself sees its own API through a cut).
node_state() {
    ha_in "${2:-app}" curl -fs --connect-timeout 1 -m 2 "http://${HA_HOSTS[$1]}:${HA_REST_PORTS[$1]}/patroni" 2>/dev/null |
        python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("role", "?"), d.get("state", "?"))' 2>/dev/null || true
}

network_cut() {
    load f5 $((seconds > cut + 30 ? seconds : cut + 30))
    sleep 10
    local victim others=() n t0 t1 without caught rejoin state mark rewind up
    victim=$(ha_node_with primary)
    for n in 1 2 3; do [ "$n" = "$victim" ] || others+=("$n"); done
    mark=$(wc -l <"$HA_WORK/node$victim.log")
    log "network-cut: node$victim's link down for ${cut}s (the primary; its veth on the switch), its processes running on"
    t0=$(now)
    ha_link "$victim" down
    # The link comes back after the cut whatever else is going on.
    (
        sleep "$cut"
        log "network-cut: node$victim's link up after ${cut}s; until now it said of itself: $(node_state "$victim" "node$victim")"
        ha_link "$victim" up
    ) &
    up=$!
    sql_url=$(ha_url telemetry "${others[@]}")
    wait_primary "${others[@]}" || { die "no new primary"; return 1; }
    without=$(since "$t0")
    log "node$(ha_node_with primary "${others[@]}") is primary after ${without}s"
    wait_caught_up f5 || log "ingestion did not catch up within 300 s"
    caught=$(since "$t0")
    log "network-cut: ingestion caught up ${caught}s after the cut; node$victim says of itself: $(node_state "$victim" "node$victim")"
    wait "$up"
    t1=$(now)
    # Back as a standby: Patroni says replica and running (as it did, cut off, once it had demoted itself:
    # a read-only node following nobody), and the new primary streams to it.
    local deadline=$((SECONDS + 300)) streaming
    while :; do
        state=$(node_state "$victim")
        streaming=$(sql "SELECT state FROM pg_stat_replication WHERE application_name = 'node$victim'")
        case "$state/$streaming" in "replica running/streaming" | "replica streaming/streaming") break ;; esac
        [ $SECONDS -lt $deadline ] || { log "node$victim is not a standby 300 s after its link came back ($state, ${streaming:-not streaming})"; state+=", ${streaming:-not streaming}"; break; }
        sleep 0.5
    done
    rejoin=$(since "$t1")
    sql_url=$HA_URL
    rewind=no
    tail -n +$((mark + 1)) "$HA_WORK/node$victim.log" | grep -q 'running pg_rewind' && rewind=yes
    log "network-cut: node$victim is $state ${rejoin}s after its link came back; pg_rewind: $rewind"
    tail -n +$((mark + 1)) "$HA_WORK/node$victim.log" |
        grep -E 'demoting self|Timeout during postmaster stop|Local timeline|primary: history|pg_rewind' | head -n 12 >&2 || true
    ha_list >&2
    ha_wait_ready 120
    local more="cut ${cut}s; node$victim back as a running standby ${rejoin}s after its link came back; pg_rewind $rewind"
    case "$state" in "replica running" | "replica streaming") ;; *) failed=1 more="cut ${cut}s; FAILED: node$victim not back as a standby ($state)" ;; esac
    settle network-cut f5 "$without" "$caught" "$more"
}

etcd_down() {
    load f4
    sleep 10
    local t0 role before after without=0
    log "etcd-down: SIGKILL to etcd for 30 s (failsafe_mode: ${HA_FAILSAFE:-true})"
    t0=$(now)
    kill -KILL "$HA_ETCD_PID"
    wait "$HA_ETCD_PID" 2>/dev/null || true
    sleep 5
    before=$(stored_anywhere f4)
    sleep 25
    after=$(stored_anywhere f4)
    role=$(ha_node_with primary)
    log "etcd-down: after 30 s without etcd, $([ -n "$role" ] && echo "node$role is still primary (read-write)" || echo "no node is primary (Patroni demoted it: read-only)"); $(( ${after:-0} - ${before:-0} )) readings stored in its last 25 s (writes $([ "${after:-0}" -gt "${before:-0}" ] && echo continued || echo stopped))"
    ha_start_etcd
    local caught="-"  # never behind: writes went on
    if [ -z "$role" ] || [ "${after:-0}" -le "${before:-0}" ]; then
        wait_primary || { die "no primary after etcd came back"; return 1; }
        [ -n "$role" ] || { without=$(since "$t0"); log "etcd-down: a primary again ${without}s after etcd went down"; }
        wait_caught_up f4 || log "ingestion did not catch up within 300 s"
        caught=$(since "$t0")
    fi
    settle etcd-down f4 "$without" "$caught"
}

for fault in "${faults[@]}"; do
    case "$fault" in
        primary-killed) primary_killed ;;
        network-cut) network_cut ;;
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
