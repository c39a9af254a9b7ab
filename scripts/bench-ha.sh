#!/usr/bin/env bash
# What synchronous replication costs the write path (docs/high-availability.md): the same backlog drained by
# `telemetry ingest --sensor temperature` into, in one run,
#   single       one PostgreSQL 15 (fsync on, synchronous_commit on: scripts/lib.sh start_postgres)
#   sync         the three-node Patroni cluster of scripts/ha-lib.sh, synchronous_mode on (a commit returns
#                once the synchronous standby has flushed it)
#   async        the same cluster with synchronous_mode off (standbys replicate, commits don't wait)
#   alone        the same cluster's primary with both standbys stopped (its settings, no replication: data
#                checksums and wal_log_hints, which pg_rewind needs, are the difference to `single`)
# Each run: the ingest service subscribes (persistent session) and stops; `telemetry emulate` publishes the
# backlog (QoS 1) into the broker; the service starts again and drains it. The rate is readings stored per
# second from the first stored reading to the last, read from reading_counts (cheap: rows per minute), so the
# load generator is not running while it is measured. Everything runs on this machine: the cluster's three
# PostgreSQL servers share its cores with the ingest service and the broker, which a cluster of three hosts
# would not.
#
#   scripts/bench-ha.sh                  all three, a Markdown table on stdout
#
# Knobs: TELEMETRY_BIN_DIR (prebuilt executables; default: release build in .build-bench), BENCH_HA_MESSAGES
# (messages in each backlog, 300000), BENCH_HA_SAMPLES (readings per message, 10), BENCH_HA_RUNS (drains per
# target, 2; the table shows each).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
# shellcheck source=scripts/ha-lib.sh
source scripts/ha-lib.sh

ha_ensure_packages
if [ -n "${TELEMETRY_BIN_DIR:-}" ]; then bin=$TELEMETRY_BIN_DIR; else build_bench telemetry; bin=$BENCH_BIN; fi
messages=${BENCH_HA_MESSAGES:-300000}
samples=${BENCH_HA_SAMPLES:-10}
runs=${BENCH_HA_RUNS:-2}
readings=$((messages * samples))

HA_WORK=$(mktemp -d /tmp/telemetry-bench-ha.XXXXXX)
work=$HA_WORK
ingest_pid=
cleanup() {
    set +e
    [ -n "$ingest_pid" ] && { kill -TERM "$ingest_pid" 2>/dev/null; wait "$ingest_pid" 2>/dev/null; }
    stop_mosquitto "$work/mosquitto" >/dev/null 2>&1
    stop_postgres "$work/single/pgdata" >/dev/null 2>&1
    ha_stop_cluster
    rm -rf -- "$(_pg_real_dir "$work/single/pgdata")" "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_mosquitto "$work/mosquitto" "$(free_port)" >/dev/null
single_port=$(free_port)
start_postgres "$work/single/pgdata" "$single_port" >/dev/null  # makes the telemetry database
single_url="postgresql://postgres@127.0.0.1:$single_port/telemetry"
ha_start_cluster

# CPU seconds (user + system) of process $1 so far.
cpu_seconds() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / t }' "/proc/$1/stat"; }
# Readings stored so far (0 before the ingest service has made the schema).
stored() { psql -X -qtA "$1" -c "SELECT coalesce(sum(readings), 0) FROM reading_counts WHERE sensor = 'temperature'" 2>/dev/null || echo 0; }

# start_ingest URL TAG: the ingest service as replica TAG (its own persistent session and journal).
start_ingest() {
    health=$(free_port)
    TELEMETRY_DATABASE_URL=$1 TELEMETRY_MQTT_URL=$MQTT_URL TELEMETRY_CATALOG=$PWD/config/sensors TELEMETRY_JOURNAL_DIR=$work/journal \
        TELEMETRY_INSTANCE=$2 TELEMETRY_METRICS_PORT=$health "$bin/telemetry" ingest --sensor temperature >>"$work/ingest-$2.log" 2>&1 &
    ingest_pid=$!
    local deadline=$((SECONDS + 120))
    until curl -sf "http://127.0.0.1:$health/readyz" >/dev/null; do
        [ $SECONDS -lt $deadline ] && kill -0 "$ingest_pid" 2>/dev/null || { tail -n 20 "$work/ingest-$2.log" >&2; die "ingest not ready"; exit 1; }
        sleep 0.2
    done
}
stop_ingest() { kill -TERM "$ingest_pid"; wait "$ingest_pid" || true; ingest_pid=; }

# Jiffies the machine spent busy and in all, so far (/proc/stat).
machine_jiffies() { awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8; total = busy + $5 + $6; print busy, total }' /proc/stat; }

rows=()
# drain TARGET URL RUN
drain() {
    local target=$1 url=$2 run=$3 tag="$1-$3" before first=0 t0 t1 now count cpu0 load
    before=$(stored "$url")
    start_ingest "$url" "$tag"
    stop_ingest
    load=$( { /usr/bin/time -f '%U %S %e' "$bin/telemetry" emulate --sensor temperature --devices 1000 --samples "$samples" \
        --count "$messages" --rate 1000000 --connections 2 --qos 1 --device-prefix "$tag" --url "$MQTT_URL" >"$work/emulate-$tag.log"; } 2>&1 | tail -n 1)
    local published; published=$(grep -o 'acknowledged [0-9]* messages' "$work/emulate-$tag.log" | grep -o '[0-9]*' || echo '?')
    start_ingest "$url" "$tag"
    cpu0=$(cpu_seconds "$ingest_pid")
    local jiffies0; jiffies0=$(machine_jiffies)
    local deadline=$((SECONDS + 900))
    while :; do
        count=$(( $(stored "$url") - before ))
        now=$(date +%s.%N)
        if [ "$first" = 0 ] && [ "$count" -gt 0 ]; then first=$count t0=$now; fi
        [ "$count" -ge "$readings" ] && { t1=$now; break; }
        [ $SECONDS -lt $deadline ] || { die "$target: $count of $readings stored after 900 s"; exit 1; }
        sleep 0.2
    done
    local cpu; cpu=$(awk -v a="$cpu0" -v b="$(cpu_seconds "$ingest_pid")" 'BEGIN { printf "%.1f", b - a }')
    local busy; busy=$(echo "$jiffies0 $(machine_jiffies)" | awk '{ printf "%.0f", 100 * ($3 - $1) / ($4 - $2) }')
    stop_ingest
    local seconds rate
    seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    rate=$(awk -v n="$((readings - first))" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')
    read -r user system elapsed <<<"$load"
    log "$target run $run: $((readings - first)) readings in ${seconds}s = $rate readings/s; ingest CPU ${cpu}s; machine ${busy}% busy; load: $published of $messages acknowledged in ${elapsed}s (CPU $(awk -v u="$user" -v s="$system" 'BEGIN { print u + s }')s)"
    rows+=("| $target | $run | $rate | $seconds | $cpu | $busy% | $published in ${elapsed} s |")
}

for run in $(seq "$runs"); do drain single "$single_url" "$run"; done
for run in $(seq "$runs"); do drain sync "$HA_URL" "$run"; done
ha_ctl edit-config --force -s synchronous_mode=false >/dev/null
deadline=$((SECONDS + 60))
until [ -z "$(ha_node_with sync)" ]; do [ $SECONDS -lt $deadline ] || { die "synchronous_mode stayed on"; exit 1; }; sleep 0.5; done
for run in $(seq "$runs"); do drain async "$HA_URL" "$run"; done
primary=$(ha_node_with primary)
for n in 1 2 3; do [ "$n" = "$primary" ] || ha_kill_node "$n"; done
ha_ctl edit-config --force -s synchronous_mode_strict=false >/dev/null
for run in $(seq "$runs"); do drain alone "$HA_URL" "$run"; done

printf '\nBackground drain into PostgreSQL, %s, %s messages of %s readings (%s readings) per run, machine: %s cores, %s\n\n' \
    "$(date -u +%Y-%m-%dT%H:%MZ)" "$messages" "$samples" "$readings" "$(nproc)" "$(uname -r)"
printf '| target | run | readings/s | drain s | ingest CPU s | machine busy | backlog published (acknowledged, s) |\n|---|---:|---:|---:|---:|---:|---|\n'
printf '%s\n' "${rows[@]}"
