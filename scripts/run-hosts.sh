#!/usr/bin/env bash
# The platform across hosts: each part in a network namespace of its own, joined by a bridge, so services
# reach each other over a real network stack (veth, bridge, TCP between addresses), not loopback:
#
#   tel-broker 10.203.0.2   mosquitto
#   tel-pg1    10.203.0.3   PostgreSQL (the default database)
#   tel-pg2    10.203.0.4   PostgreSQL (power and location: sensor_database_urls)
#   tel-ingest-<sensor> 10.203.0.10+   one `telemetry ingest --sensor <sensor>` each
#   tel-unrouted 10.203.0.30 `telemetry ingest --unrouted`
#   tel-query  10.203.0.31  `telemetry query`
#   tel-load   10.203.0.32  `telemetry emulate --sensor all --verify`
#
# Everything this script makes it removes at exit: the namespaces (and with them the veths and the bridge,
# which lives in its own namespace tel-switch), the servers, the data. Traffic never leaves them: the
# root namespace gets no interface on this network. Needs root (ip netns).
#
#   scripts/run-hosts.sh              start it all, run the mixed load with --verify, print the verdict
#   RUN_HOSTS_KEEP=1 scripts/run-hosts.sh   keep it running after the load until Ctrl-C
#
# Knobs: TELEMETRY_BIN_DIR (prebuilt executables; default: build debug), RUN_HOSTS_EMULATE_ARGS
# (default: --devices 5 --samples 4 --rate 300 --count 1200). Exit status: the emulator's (--verify).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

[ "$(id -u)" -eq 0 ] || { die "run-hosts.sh needs root (network namespaces)"; exit 1; }
ensure_packages

if [ -n "${TELEMETRY_BIN_DIR:-}" ]; then
    bin=$TELEMETRY_BIN_DIR
else
    swift build --product telemetry >&2
    bin=$(swift build --show-bin-path)
fi
[ -x "$bin/telemetry" ] || { die "$bin/telemetry was not built"; exit 1; }

net=10.203.0
prefix=tel-$$-
work=$(mktemp -d /tmp/telemetry-hosts.XXXXXX)
chmod 755 "$work"
namespaces=()
pids=()

cleanup() {
    trap - EXIT INT TERM
    set +e
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    local deadline=$((SECONDS + 20))
    for pid in "${pids[@]}"; do
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    for pg in pg1 pg2; do
        [ -d "$work/$pg/data" ] && ip netns exec "${prefix}$pg" runuser -u postgres -- "$(_pg_bin)/pg_ctl" -D "$work/$pg/data" -m immediate -w stop >/dev/null 2>&1
    done
    for ns in "${namespaces[@]}"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null; ip netns del "$ns" 2>/dev/null; done
    rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The switch: a namespace holding only the bridge.
switch=${prefix}switch
ip netns add "$switch"; namespaces+=("$switch")
ip -n "$switch" link add br0 type bridge
ip -n "$switch" link set br0 up

# host NAME LAST-OCTET: a namespace with loopback and one veth into the bridge at $net.LAST-OCTET/24.
host() {
    local ns=${prefix}$1 address=$net.$2 index=$2
    ip netns add "$ns"; namespaces+=("$ns")
    ip -n "$ns" link set lo up
    ip link add "th$$-$index" netns "$ns" type veth peer name "ts$$-$index" netns "$switch"
    ip -n "$ns" link set "th$$-$index" name eth0
    ip -n "$ns" addr add "$address/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$switch" link set "ts$$-$index" master br0 up
}
on() { local ns=${prefix}$1; shift; ip netns exec "$ns" "$@"; }

# run NAME HOST COMMAND...: in the background in HOST's namespace, output to $work/NAME.log.
run() {
    local name=$1 where=$2; shift 2
    on "$where" "$@" >>"$work/$name.log" 2>&1 </dev/null &
    pids+=("$!")
}

sensors=()
for f in config/sensors/*.json; do sensors+=("$(basename "$f" .json)"); done

host broker 2; host pg1 3; host pg2 4
octet=10
for s in "${sensors[@]}"; do host "ingest-$s" $octet; octet=$((octet + 1)); done
host unrouted 30; host query 31; host load 32

# Broker on the network (anonymous for now: device identity is the issue after this one).
mkdir -p "$work/broker"
{
    grep -vE '^[[:space:]]*(listener|port|bind_address|persistence_location|pid_file|log_dest|user|allow_anonymous)([[:space:]]|$)' config/mosquitto.conf
    echo "user root"
    echo "listener 1883 0.0.0.0"
    echo "allow_anonymous true"
    echo "persistence_location $work/broker/"
    echo "log_dest stderr"
} >"$work/broker/mosquitto.conf"
run broker broker "$(_mosquitto_bin)" -c "$work/broker/mosquitto.conf"

# Two PostgreSQL servers, each trusting this network only.
pg_start() {
    local name=$1 address=$2 data=$work/$1/data pgbin; pgbin=$(_pg_bin)
    mkdir -p "$work/$name"; chown postgres: "$work/$name"
    runuser -u postgres -- "$pgbin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$work/$name-initdb.log" 2>&1
    printf 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all %s.0/24 trust\n' "$net" >"$data/pg_hba.conf"
    on "$name" runuser -u postgres -- "$pgbin/pg_ctl" -D "$data" -l "$work/$name/server.log" -w -t 60 \
        -o "-c listen_addresses='127.0.0.1,$address' -c port=5432 -c unix_socket_directories='' -c fsync=off -c max_connections=100" start >/dev/null
    on "$name" runuser -u postgres -- "$pgbin/psql" -h 127.0.0.1 -U postgres -qc "CREATE DATABASE telemetry" postgres
}
pg_start pg1 "$net.3"
pg_start pg2 "$net.4"

export TELEMETRY_CONFIG=$work/telemetry.json
echo '{}' >"$TELEMETRY_CONFIG"
export TELEMETRY_MQTT_URL=mqtt://$net.2:1883
export TELEMETRY_DATABASE_URL=postgresql://postgres@$net.3:5432/telemetry
export TELEMETRY_SENSOR_DATABASE_URLS="power=postgresql://postgres@$net.4:5432/telemetry,location=postgresql://postgres@$net.4:5432/telemetry"
export TELEMETRY_CATALOG=$PWD/config/sensors
export TELEMETRY_JOURNAL_DIR=$work/journal
export TELEMETRY_METRICS_HOST=0.0.0.0
export TELEMETRY_METRICS_PORT=9100
export TELEMETRY_HTTP_HOST=0.0.0.0
export TELEMETRY_HTTP_PORT=8080
TELEMETRY_API_TOKENS=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export TELEMETRY_API_TOKENS

# wait_ready HOST URL: polls URL from the load host (across the bridge) until 200.
wait_ready() {
    local what=$1 url=$2 deadline=$((SECONDS + 60))
    until on load curl -fsS -o /dev/null "$url" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || { die "$what not ready after 60 s ($url); logs in $work"; tail -n 20 "$work/$what.log" >&2; exit 1; }
        sleep 0.2
    done
}
octet=10
for s in "${sensors[@]}"; do
    run "ingest-$s" "ingest-$s" "$bin/telemetry" ingest --sensor "$s"
    octet=$((octet + 1))
done
run unrouted unrouted "$bin/telemetry" ingest --unrouted
run query query "$bin/telemetry" query
octet=10
for s in "${sensors[@]}"; do wait_ready "ingest-$s" "http://$net.$octet:9100/readyz"; octet=$((octet + 1)); done
wait_ready unrouted "http://$net.30:9100/readyz"
wait_ready query "http://$net.31:8080/readyz"
log "every service ready across the bridge ($net.0/24); logs in $work"

read -r -a emulate_args <<<"${RUN_HOSTS_EMULATE_ARGS:---devices 5 --samples 4 --rate 300 --count 1200}"
status=0
on load "$bin/telemetry" emulate --sensor all "${emulate_args[@]}" --verify --verify-timeout 60 || status=$?
devices=$(on load curl -fsS -H "Authorization: Bearer $TELEMETRY_API_TOKENS" "http://$net.31:8080/v1/sensors/power/devices" || true)
echo "query service (across the bridge): power devices: $devices"
if [ -n "${RUN_HOSTS_KEEP:-}" ]; then
    log "running; REST on http://$net.31:8080 inside namespace ${prefix}load (token $TELEMETRY_API_TOKENS); Ctrl-C stops it"
    while true; do sleep 3600; done
fi
exit "$status"
