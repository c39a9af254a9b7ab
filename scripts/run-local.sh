#!/usr/bin/env bash
# Runs the whole platform on this machine: a private PostgreSQL and mosquitto, one ingest service per
# sensor type in config/sensors (telemetry ingest), the catch-all for topics of no sensor type (--unrouted),
# the query service, broker-sync and one emulator per sensor type. Secure by default: the broker takes
# no anonymous client; devices connect over TLS (a local CA in .local/tls/) with credentials the platform
# issued (the emulator's fleet is provisioned at start); plaintext only on loopback, for the services'
# own read-only accounts. docs/identity.md.
#
#   scripts/run-local.sh          Ctrl-C (or SIGTERM) stops everything it started
#
# State lives in .local/ (git-ignored): pgdata/ (PostgreSQL, port 5433 or a free one), mosquitto/
# (broker persistence, port 1883 or a free one), journal/ (the ingest journals), logs/<name>.log
# (one per process, plus postgres.log and mosquitto.log in .local/), run/ (pids).
# Once everything is ready it writes .local/env: `source .local/env` in another shell sets API, TOKEN,
# ADMIN_TOKEN, MQTTS_PORT, MQTTS_CERT_PORT, CA_FILE (and the settings and PATH for `telemetry devices`), the
# names every example in README.md and docs/ uses, with the ports this run really took.
#
# Knobs (environment): RUN_LOCAL_PG_PORT (5433), RUN_LOCAL_MQTT_PORT (1883, loopback, the services),
# RUN_LOCAL_MQTTS_PORT (8883, TLS, devices), RUN_LOCAL_MQTTS_CERT_PORT (8884, TLS with client certificates),
# RUN_LOCAL_HTTP_PORT (8080), RUN_LOCAL_DEVICES (emulated devices per sensor type, 20),
# RUN_LOCAL_EMULATOR_ARGS ("--rate 10 --duration 86400"), RUN_LOCAL_NO_EMULATOR=1, RUN_LOCAL_DATABASE_URL
# (a PostgreSQL of your own, libpq URL, multi-host allowed, instead of the private one),
# TELEMETRY_SWIFT_FLAGS (extra flags for swift build), TELEMETRY_BIN_DIR (use the executables there
# instead of building), RUN_LOCAL_STATE (the state folder instead of .local; scripts/check-docs.sh runs a
# throwaway platform this way), RUN_LOCAL_ENV_EXTRA (lines added to the env file; scripts/run-ha.sh's),
# RUN_LOCAL_BROKER_CONF (a file of mosquitto lines added at the end of the broker's configuration: a bridge
# to a LoRaWAN network server's broker, docs/devices.md#lorawan-network-servers; keep it under .local, which
# git ignores, as it holds the remote password).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
if [ -n "${RUN_LOCAL_BROKER_CONF:-}" ] && [ ! -r "$RUN_LOCAL_BROKER_CONF" ]; then
    die "RUN_LOCAL_BROKER_CONF: cannot read $RUN_LOCAL_BROKER_CONF"; exit 1
fi

state=${RUN_LOCAL_STATE:-$PWD/.local}
shown=${state#"$PWD"/}   # .local unless RUN_LOCAL_STATE moved it
logs=$state/logs
run=$state/run
mkdir -p "$logs" "$run" "$state/journal"

names=()   # service name per index
pids=()    # pid per index
reported=()

# Stop services (SIGTERM, wait with a deadline, then SIGKILL) given as pids.
stop_pids() {
    local p alive=()
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
    [ ${#alive[@]} -eq 0 ] && return 0
    kill -TERM "${alive[@]}" 2>/dev/null || true
    local deadline=$((SECONDS + ${RUN_LOCAL_STOP_TIMEOUT:-20}))
    for p in "${alive[@]}"; do
        while kill -0 "$p" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
        if kill -0 "$p" 2>/dev/null; then
            log "pid $p did not stop in time; SIGKILL"
            kill -KILL "$p" 2>/dev/null || true
        fi
        wait "$p" 2>/dev/null || true
    done
}

# "PID START-TIME" of a process: a pid file with both can't be fooled by a reused pid.
proc_id() {
    local stat f
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }   # the fields after "(comm) "; start time is field 22 overall, 20 here
    read -r -a f <<<"$stat"
    echo "$1 ${f[19]}"
}

# Leftovers of a run that was killed with SIGKILL: processes in our own pid files only.
stop_leftovers() {
    local f rec p stale=()
    for f in "$run"/*.pid; do
        [ -e "$f" ] || continue
        [ "$f" = "$run/run-local.pid" ] && continue
        rec=$(cat "$f" 2>/dev/null || true)
        p=${rec%% *}
        [ -n "$p" ] && [ "$(proc_id "$p" || true)" = "$rec" ] && stale+=("$p")
        rm -f "$f"
    done
    if [ ${#stale[@]} -gt 0 ]; then
        log "stopping services left by an earlier run: ${stale[*]}"
        stop_pids "${stale[@]}"
    fi
    stop_mosquitto "$state/mosquitto"
    stop_postgres "$state/pgdata"
}

cleaned=
cleanup() {
    [ -n "$cleaned" ] && return 0
    cleaned=1
    set +e
    trap '' INT TERM   # a second Ctrl-C must not cut the shutdown short
    [ -n "${sleeper:-}" ] && kill "$sleeper" 2>/dev/null
    if [ ${#pids[@]} -gt 0 ]; then
        log "stopping services"
        # Producers first, then the ingest services (they flush their batches), the query service last.
        local i em=() ing=() rest=()
        for i in "${!pids[@]}"; do
            case "${names[$i]}" in
                emulator-*) em+=("${pids[$i]}") ;;
                ingest-*) ing+=("${pids[$i]}") ;;
                *) rest+=("${pids[$i]}") ;;
            esac
        done
        stop_pids "${em[@]}"
        stop_pids "${ing[@]}"
        stop_pids "${rest[@]}"
    fi
    rm -f "$run"/*.pid "$state/env"
    stop_postgres "$state/pgdata"
    stop_mosquitto "$state/mosquitto"
    log "everything stopped; state kept in $state"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Picks the default port when nothing listens there, else a free one.
pick_port() {
    local want=$1 what=$2
    if port_is_free "$want"; then echo "$want"; return 0; fi
    local p; p=$(free_port)
    log "port $want ($what) is taken; using $p"
    echo "$p"
}

launch() {
    local name=$1; shift
    "$@" >>"$logs/$name.log" 2>&1 </dev/null &
    local pid=$!
    names+=("$name"); pids+=("$pid"); reported+=("")
    proc_id "$pid" >"$run/$name.pid" || true
    log "started $name (pid $pid, log $shown/logs/$name.log)"
}

# Waits (60 s at most) until a service's /readyz answers 200.
wait_ready() {
    local url=$1 what=$2 deadline=$((SECONDS + 60))
    until curl -fsS -o /dev/null "$url" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then log "warning: $what not ready after 60 s ($url)"; return 0; fi
        sleep 0.2
    done
}

# One instance per work tree: a second one would fight over the ports and the data directory.
if owner=$(cat "$run/run-local.pid" 2>/dev/null) && [ "$(proc_id "${owner%% *}" || true)" = "$owner" ]; then
    trap - EXIT
    die "scripts/run-local.sh already runs here (pid ${owner%% *}); stop it first"
    exit 1
fi
proc_id $$ >"$run/run-local.pid"
rm -f "$state/env"   # an earlier run's ports: written again once this run is ready

ensure_packages
stop_leftovers

if [ -n "${TELEMETRY_BIN_DIR:-}" ]; then
    bin=$TELEMETRY_BIN_DIR   # prebuilt executables: no build
else
    read -r -a swift_flags <<<"${TELEMETRY_SWIFT_FLAGS:-}"
    log "swift build -c release --product telemetry"
    swift build -c release --product telemetry "${swift_flags[@]}"
    bin=$(swift build -c release --show-bin-path "${swift_flags[@]}")
fi
[ -x "$bin/telemetry" ] || { die "$bin/telemetry was not built"; exit 1; }

sensors=()
for f in config/sensors/*.json; do
    [ -e "$f" ] || continue
    sensors+=("$(basename "$f" .json)")
done
[ ${#sensors[@]} -gt 0 ] || { die "no sensor types in config/sensors"; exit 1; }

mqtt_port=$(pick_port "${RUN_LOCAL_MQTT_PORT:-1883}" MQTT)
mqtts_port=$(pick_port "${RUN_LOCAL_MQTTS_PORT:-8883}" MQTT-TLS)
mqtts_cert_port=$(pick_port "${RUN_LOCAL_MQTTS_CERT_PORT:-8884}" MQTT-TLS-certificates)
http_port=$(pick_port "${RUN_LOCAL_HTTP_PORT:-8080}" HTTP)

if [ -n "${RUN_LOCAL_DATABASE_URL:-}" ]; then
    # A database run by someone else (scripts/run-ha.sh: a Patroni cluster): neither started nor stopped here.
    PG_URL=$RUN_LOCAL_DATABASE_URL
else
    start_postgres "$state/pgdata" "$(pick_port "${RUN_LOCAL_PG_PORT:-5433}" PostgreSQL)" >/dev/null
fi

# Stable secrets, kept in .local/ (owner only): the query API's read and admin tokens, the services' broker password.
secret() {
    [ -s "$1" ] || (umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$1")
    cat "$1"
}
TELEMETRY_API_TOKENS=$(secret "$state/api-token")
TELEMETRY_ADMIN_TOKENS=$(secret "$state/admin-token")
TELEMETRY_SERVICE_PASSWORD=$(secret "$state/service-password")
export TELEMETRY_API_TOKENS TELEMETRY_ADMIN_TOKENS TELEMETRY_SERVICE_PASSWORD
bash scripts/make-tls.sh "$state/tls" "$(hostname)"
tls=$state/tls

export TELEMETRY_DATABASE_URL=$PG_URL
export TELEMETRY_HTTP_HOST=127.0.0.1
export TELEMETRY_HTTP_PORT=$http_port
export TELEMETRY_CATALOG=$PWD/config/sensors
export TELEMETRY_JOURNAL_DIR=$state/journal
export TELEMETRY_BROKER_PASSWORD_FILE=$state/broker/passwords TELEMETRY_BROKER_ACL_FILE=$state/broker/acl
export TELEMETRY_BROKER_SERVICE_PASSWORD_FILE=$state/broker/service-passwords TELEMETRY_BROKER_SERVICE_ACL_FILE=$state/broker/service-acl
export TELEMETRY_BROKER_PID_FILE=$state/mosquitto/mosquitto.pid
# The certificate listener's CRL, signed with the local CA that issues devices' certificates.
export TELEMETRY_BROKER_CRL_FILE=$state/broker/crl.pem TELEMETRY_DEVICE_CA_FILE=$tls/ca.crt TELEMETRY_DEVICE_CA_KEY_FILE=$tls/ca.key
mkdir -p "$state/broker"
rm -f "$TELEMETRY_BROKER_SERVICE_ACL_FILE"

# broker-sync first: mosquitto does not start without the password files it writes (the services' ACL last).
# It confirms each write through the services' listener (a login only that write allows), and its /readyz
# says when the broker has every credential issued so far.
sync_health=$(free_port)
TELEMETRY_MQTT_URL=mqtt://127.0.0.1:$mqtt_port TELEMETRY_METRICS_PORT=$sync_health launch broker-sync "$bin/telemetry" broker-sync
deadline=$((SECONDS + 60))
until [ -s "$TELEMETRY_BROKER_SERVICE_ACL_FILE" ]; do
    [ $SECONDS -lt $deadline ] || { die "broker-sync wrote no broker files ($shown/logs/broker-sync.log)"; exit 1; }
    sleep 0.2
done
# Settings per listener: the services' loopback listener takes only the service accounts, the devices' TLS
# listeners only devices, each with its username as client id (docs/identity.md).
certificates="cafile $tls/ca.crt
certfile $tls/server.crt
keyfile $tls/server.key"
devices_conf=$(secured_device_conf "$state/broker")
MOSQUITTO_EXTRA_CONF="$(secured_service_conf "$state/broker")
listener $mqtts_port
$certificates
$devices_conf
listener $mqtts_cert_port
$certificates
$devices_conf
require_certificate true
use_identity_as_username true
crlfile $TELEMETRY_BROKER_CRL_FILE${RUN_LOCAL_BROKER_CONF:+
$(cat -- "$RUN_LOCAL_BROKER_CONF")}" \
    MOSQUITTO_PROBE_ARGS="-u ingest-unrouted -P $TELEMETRY_SERVICE_PASSWORD" \
    start_mosquitto "$state/mosquitto" "$mqtt_port" >/dev/null
export TELEMETRY_MQTT_URL=$MQTT_URL

# Each ingest service serves /healthz, /readyz and /metrics on a port of its own.
health_ports=()
for s in "${sensors[@]}" unrouted; do
    port=$(free_port)
    health_ports+=("$port")
    if [ "$s" = unrouted ]; then
        # Dead-letters topics whose sensor type is not in the catalog (the broker would drop them: no subscriber).
        TELEMETRY_METRICS_PORT=$port launch ingest-unrouted "$bin/telemetry" ingest --unrouted
    else
        TELEMETRY_METRICS_PORT=$port launch "ingest-$s" "$bin/telemetry" ingest --sensor "$s"
    fi
done
launch query "$bin/telemetry" query

# Every service ready (subscribed, database answering) before the load starts.
for i in "${!health_ports[@]}"; do wait_ready "http://127.0.0.1:${health_ports[$i]}/readyz" "ingest service $i"; done
wait_ready "http://127.0.0.1:$http_port/readyz" "the query service"
# Ready means a credential issued now works: the broker has taken broker-sync's files.
wait_ready "http://127.0.0.1:$sync_health/readyz" "broker-sync"

if [ -z "${RUN_LOCAL_NO_EMULATOR:-}" ]; then
    # The emulator's fleet gets credentials (rotated at every start), and each device connects as itself over TLS.
    devices=${RUN_LOCAL_DEVICES:-20}
    fleet=$state/fleet-credentials.csv
    for s in "${sensors[@]}"; do
        for ((n = 0; n < devices; n++)); do printf 'emu-%s-%04d,%s\n' "$s" "$n" "$s"; done
    done >"$state/fleet.csv"
    (umask 077; "$bin/telemetry" devices import "$state/fleet.csv" >"$fleet")
    log "provisioned the emulator's $(wc -l <"$fleet") devices ($shown/fleet-credentials.csv)"
    read -r -a emulator_args <<<"${RUN_LOCAL_EMULATOR_ARGS:---rate 10 --duration 86400}"
    for s in "${sensors[@]}"; do
        TELEMETRY_MQTT_URL=mqtts://127.0.0.1:$mqtts_port TELEMETRY_MQTT_CA_FILE=$tls/ca.crt \
            launch "emulator-$s" "$bin/telemetry" emulate --sensor "$s" --devices "$devices" --credentials "$fleet" "${emulator_args[@]}"
    done
fi

api=http://127.0.0.1:$http_port
auth="Authorization: Bearer $TELEMETRY_API_TOKENS"
admin="Authorization: Bearer $TELEMETRY_ADMIN_TOKENS"
# What the examples in README.md and docs/ read (`source .local/env`): this run's ports and tokens, and
# for `telemetry devices` its database, catalog and executable. Written last, when all is ready, so a
# script may wait for the file.
{
    echo "# Written by scripts/run-local.sh (pid $$) once the platform was ready; \`source\` it to reach that platform."
    printf 'export API=%q\n' "$api"
    printf 'export TOKEN=%q\n' "$TELEMETRY_API_TOKENS"
    printf 'export ADMIN_TOKEN=%q\n' "$TELEMETRY_ADMIN_TOKENS"
    printf 'export MQTTS_PORT=%q\n' "$mqtts_port"
    printf 'export MQTTS_CERT_PORT=%q\n' "$mqtts_cert_port"
    printf 'export SERVICE_MQTT_PORT=%q\n' "$mqtt_port"
    printf 'export SERVICE_PASSWORD=%q\n' "$TELEMETRY_SERVICE_PASSWORD"
    printf 'export CA_FILE=%q\n' "$tls/ca.crt"
    printf 'export TELEMETRY_DEVICE_CA_FILE=%q TELEMETRY_DEVICE_CA_KEY_FILE=%q\n' "$TELEMETRY_DEVICE_CA_FILE" "$TELEMETRY_DEVICE_CA_KEY_FILE"
    printf 'export TELEMETRY_DATABASE_URL=%q\n' "$PG_URL"
    printf 'export TELEMETRY_CATALOG=%q\n' "$TELEMETRY_CATALOG"
    printf 'export PATH=%q:"$PATH"\n' "$(cd "$bin" && pwd)"
    [ -z "${RUN_LOCAL_ENV_EXTRA:-}" ] || printf '%s\n' "$RUN_LOCAL_ENV_EXTRA"
} >"$state/env.new"
mv "$state/env.new" "$state/env"
since=$(date -u -d '-15 min' +%Y-%m-%dT%H:%M:%SZ)
cat <<EOF

Telemetry platform is running (Ctrl-C stops everything):
  devices     mqtts://127.0.0.1:$mqtts_port (TLS; CA $shown/tls/ca.crt; username = device id, password from the API)
              mqtts://127.0.0.1:$mqtts_cert_port (TLS; a client certificate with CN = device id: telemetry devices cert <id>)
              topics telemetry/<sensor>/<device>[/<format>]
  services    $MQTT_URL (loopback only, the services' read-only accounts)
  PostgreSQL  $PG_URL
  REST        $api   read token $shown/api-token, admin token $shown/admin-token
  dashboard   $api/   (sign in with the read token in $shown/api-token)
  logs        $shown/logs/*.log,$([ -n "${RUN_LOCAL_DATABASE_URL:-}" ] || echo " $shown/postgres.log,") $shown/mosquitto.log
  examples    source $shown/env   (in another shell: API, TOKEN, ADMIN_TOKEN, MQTTS_PORT, MQTTS_CERT_PORT, CA_FILE; README.md)

Try:
  curl -H '$auth' '$api/v1/sensors'
  curl -H '$auth' '$api/v1/sensors/temperature/devices'
  curl -H '$auth' '$api/v1/sensors/temperature/aggregates?bucket=1m&fn=count,avg,min,max&from=$since'
  curl -H '$auth' '$api/metrics'
  curl -X PUT -H '$admin' '$api/v1/devices/my-device/credentials'   # prints my-device's password, once
  mosquitto_pub --cafile $shown/tls/ca.crt -h 127.0.0.1 -p $mqtts_port -u my-device -P <password> -q 1 -t telemetry/temperature/my-device -m 'not a frame'   # a dead letter
  curl -H '$auth' '$api/v1/rejected'

EOF

# Foreground: report services that exit, and a status line every minute.
psql_status() {
    psql -X -q -tA "$PG_URL" -c "SELECT (SELECT count(*) FROM devices) || ' devices, ' || (SELECT count(*) FROM rejected) || ' rejected'" 2>/dev/null ||
        echo "schema not there yet"
}
last_status=$SECONDS
while :; do
    up=0
    for i in "${!pids[@]}"; do
        if kill -0 "${pids[$i]}" 2>/dev/null; then
            up=$((up + 1))
        elif [ -z "${reported[$i]}" ]; then
            reported[$i]=1
            rc=0; wait "${pids[$i]}" 2>/dev/null || rc=$?
            rm -f "$run/${names[$i]}.pid"
            log "${names[$i]} exited (status $rc); last lines of $shown/logs/${names[$i]}.log:"
            tail -n 5 "$logs/${names[$i]}.log" | sed 's/^/    /' >&2
        fi
    done
    if [ "$up" -eq 0 ]; then
        log "every service has exited"
        exit 1
    fi
    if [ $((SECONDS - last_status)) -ge 60 ]; then
        last_status=$SECONDS
        log "status: $up/${#pids[@]} processes up; $(psql_status)"
    fi
    sleep 2 &
    sleeper=$!
    wait "$sleeper" 2>/dev/null || true
    sleeper=
done
