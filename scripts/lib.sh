# shellcheck shell=bash
# Shared helpers for scripts/run-local.sh and scripts/test.sh. Source it; don't run it.
#
#   ensure_packages                 install missing Debian packages (apt, non-interactive)
#   free_port                       print a free TCP port on 127.0.0.1
#   port_is_free PORT               exit 0 when nothing listens on 127.0.0.1:PORT
#   start_postgres DIR PORT         private PostgreSQL cluster in DIR on 127.0.0.1:PORT; sets PG_URL,
#                                   PG_DATA (the real data dir), PG_PORT and prints the URL on stdout
#   stop_postgres DIR               fast shutdown of that cluster
#   start_mosquitto DIR PORT        mosquitto on 127.0.0.1:PORT with persistence in DIR (plus the lines of
#                                   MOSQUITTO_EXTRA_CONF, if set); sets MQTT_URL,
#                                   MOSQUITTO_CONF, MOSQUITTO_PID and prints the URL on stdout
#   stop_mosquitto DIR              stop that broker
#   build_bench PRODUCT...        release builds for a benchmark; BENCH_BIN is where they are
#   secured_service_conf DIR, secured_device_conf DIR   the broker's per-listener security lines (broker-sync's files in DIR)
#   start_secured_broker DIR PORT BIN PASSWORD   broker-sync and a mosquitto that reads its files (benchmarks)
#   start_bench_servers DIR         for a benchmark: PostgreSQL (with commit timestamps, for publish→commit
#                                   latency) and mosquitto under DIR on free ports, both stopped and removed
#                                   when the calling script exits
#
# Progress goes to stderr; only the URLs go to stdout, so `url=$(start_postgres ...)` works too (the
# servers' output goes to log files, never to the caller's pipe).
#
# Overridable: PG_BIN (PostgreSQL server binaries), MOSQUITTO_BIN, MOSQUITTO_BASE_CONF, PG_EXTRA_CONF
# (lines added to the cluster's settings, e.g. "track_commit_timestamp = on").

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LIB_DIR/.." && pwd)

# chromium, chromium-driver, python3-venv: the dashboard's browser tests (Selenium goes in a venv, see test.sh).
TELEMETRY_APT_PACKAGES=(mosquitto mosquitto-clients libmosquitto-dev libpq-dev libssl-dev openssl postgresql pkg-config curl iproute2
    chromium chromium-driver python3-venv)

# DIR made absolute without resolving symlinks (DIR itself may be a symlink we made).
_abspath() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; return 1; }

# Runs "$@" as root: directly when we are root, else through sudo.
_as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

ensure_packages() {
    local missing=() p status
    for p in "${TELEMETRY_APT_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing missing packages: ${missing[*]}"
    # Packages must not start their own system services (a cluster on 5432, a broker on 1883):
    # our scripts run private instances. policy-rc.d exit 101 = "action forbidden" for invoke-rc.d.
    local policy=/usr/sbin/policy-rc.d added_policy=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | _as_root tee "$policy" >/dev/null && _as_root chmod 755 "$policy" && added_policy=1
    fi
    local rc=0
    # Another apt (a second checkout's script, unattended upgrades) may hold the lock: wait for it.
    local lock=(-o DPkg::Lock::Timeout=900)
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" update -q </dev/null >&2 || rc=$?
    if [ $rc -eq 0 ]; then
        _as_root env DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" install -y -q --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            "${missing[@]}" </dev/null >&2 || rc=$?
    fi
    [ -n "$added_policy" ] && _as_root rm -f "$policy"
    [ $rc -eq 0 ] || die "apt-get failed ($rc) installing: ${missing[*]}"
}

# Selenium for the dashboard's browser test and benchmark, from PyPI into a venv of our own (Debian's
# python3, no prompts); sets BROWSER_PYTHON to its python. A failed install only says so: what needs
# it then fails with its own message.
ensure_browser_venv() {
    local venv=$REPO_ROOT/.local/browser-venv
    if ! "$venv/bin/python" -c 'import selenium' 2>/dev/null; then
        log "installing Selenium into $venv"
        rm -rf "$venv"
        /usr/bin/python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check 'selenium>=4.15,<5' </dev/null >&2 ||
            log "could not install Selenium (the browser test and benchmark will fail)"
    fi
    BROWSER_PYTHON=$venv/bin/python
}

# Exit 0 when a server could bind 127.0.0.1:PORT (with SO_REUSEADDR, as servers do).
port_is_free() {
    local port=$1
    if command -v python3 >/dev/null 2>&1; then
        python3 - "$port" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
    else
        # Nothing accepting a connection there: good enough without python.
        ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    fi
}

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
        return 0
    fi
    local port i
    for i in $(seq 1 200); do
        port=$((20000 + RANDOM % 40000))
        if port_is_free "$port"; then echo "$port"; return 0; fi
    done
    die "no free port found"
}

# ---------------------------------------------------------------------------------------------------
# PostgreSQL

_pg_bin() {
    if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return 0; fi
    if [ -x /usr/lib/postgresql/15/bin/postgres ]; then echo /usr/lib/postgresql/15/bin; return 0; fi
    # Another Debian release: the newest installed server.
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$d" ] || { die "no PostgreSQL server binaries under /usr/lib/postgresql (run ensure_packages)"; return 1; }
    echo "$d"
}

# PostgreSQL refuses to run as root: as root, run its programs as the postgres OS user.
_pg_user() { if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi; }
_pg_as() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The command line tests may use to drive the cluster (word-split it).
pg_ctl_command() {
    local bin; bin=$(_pg_bin) || return 1
    if [ "$(id -u)" -eq 0 ]; then echo "runuser -u postgres -- $bin/pg_ctl"; else echo "$bin/pg_ctl"; fi
}

# Can the postgres user reach (search) directory $1?
_pg_can_reach() {
    if [ "$(id -u)" -ne 0 ]; then test -x "$1"; return $?; fi
    runuser -u postgres -- test -x "$1" 2>/dev/null
}

# The real data directory for DIR (DIR may be a symlink to a fallback under /tmp).
_pg_real_dir() { readlink -f -- "$1" 2>/dev/null || echo "$1"; }

start_postgres() {
    local dir=${1:?usage: start_postgres DIR PORT} port=${2:?usage: start_postgres DIR PORT}
    local bin user; bin=$(_pg_bin) || return 1; user=$(_pg_user)
    dir=$(_abspath "$dir")
    local parent; parent=$(dirname -- "$dir")
    local logfile="$parent/postgres.log"
    mkdir -p -- "$parent"

    # The postgres user must be able to traverse to DIR. Open DIR's parent (ours) if needed; if an
    # ancestor we don't own stays closed (say /root), keep the data under /tmp behind a symlink.
    if ! _pg_can_reach "$parent"; then chmod o+x -- "$parent" 2>/dev/null || true; fi
    if [ -L "$dir" ]; then
        :   # a fallback made by an earlier run
    elif _pg_can_reach "$parent"; then
        mkdir -p -- "$dir"
    else
        local fallback
        fallback=$(mktemp -d /tmp/telemetry-pgdata.XXXXXX) || return 1
        if [ -d "$dir" ] && [ -n "$(ls -A -- "$dir")" ]; then
            die "$dir holds data but the postgres user cannot reach $parent; move it or open the path"
            return 1
        fi
        rmdir -- "$dir" 2>/dev/null || true
        ln -s -- "$fallback" "$dir"
        log "postgres cannot reach $parent; cluster data lives in $fallback ($dir links to it)"
    fi
    local real; real=$(_pg_real_dir "$dir")
    mkdir -p -- "$real"
    chmod 700 -- "$real"
    [ "$(id -u)" -eq 0 ] && chown "$user": -- "$real"

    if [ ! -s "$real/PG_VERSION" ]; then
        log "initdb $real"
        # initdb writes its own output to our log file (opened by us, so any path works).
        if ! _pg_as "$bin/initdb" -D "$real" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
                >>"$logfile" 2>&1 </dev/null; then
            tail -n 20 "$logfile" >&2; die "initdb failed (log: $logfile)"; return 1
        fi
        printf "\ninclude_if_exists = 'telemetry-dev.conf'\n" >>"$real/postgresql.conf"
        cat >"$real/pg_hba.conf" <<'EOF'
# Private development/test cluster: trust on the local socket and loopback only.
local   all all              trust
host    all all 127.0.0.1/32 trust
host    all all ::1/128      trust
EOF
        [ "$(id -u)" -eq 0 ] && chown "$user": -- "$real/postgresql.conf" "$real/pg_hba.conf"
    fi

    # Unix socket beside the data, unless the path is too long for sun_path (108 bytes).
    local sockdir=$real
    if [ $(( ${#real} + 20 )) -gt 107 ]; then sockdir=''; log "data path too long for a unix socket; TCP only"; fi
    # Rewritten on every start so the port and paths follow the arguments; read by `pg_ctl start` too,
    # so tests that stop and start the cluster get the same settings.
    cat >"$real/telemetry-dev.conf" <<EOF
# Written by scripts/lib.sh start_postgres on every start; edits are overwritten.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
max_connections = 500
shared_buffers = 256MB
fsync = on
synchronous_commit = on
full_page_writes = on
wal_level = replica
max_wal_size = 1GB
checkpoint_timeout = 5min
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = 1000
log_lock_waits = on
lc_messages = 'C'
${PG_EXTRA_CONF:-}
EOF
    [ "$(id -u)" -eq 0 ] && chown "$user": -- "$real/telemetry-dev.conf"

    if _pg_as "$bin/pg_ctl" -D "$real" status >/dev/null 2>&1; then
        die "a server already runs on $real (stop it: stop_postgres $dir)"; return 1
    fi
    log "starting PostgreSQL on 127.0.0.1:$port (data $real, log $logfile)"
    # -W: don't let pg_ctl wait; we wait below with pg_isready and a deadline. The server's output goes
    # to the log file we opened (pg_ctl puts the postmaster in its own session).
    if ! _pg_as "$bin/pg_ctl" -D "$real" -W start >>"$logfile" 2>&1 </dev/null; then
        tail -n 20 "$logfile" >&2; die "pg_ctl start failed (log: $logfile)"; return 1
    fi
    local deadline=$((SECONDS + 60))
    until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres -U postgres; do
        if [ $SECONDS -ge $deadline ]; then
            tail -n 20 "$logfile" >&2; die "PostgreSQL not ready on port $port after 60 s (log: $logfile)"; return 1
        fi
        # pg_ctl status is 3 when no server runs: it died (bad setting, port taken, no memory).
        if ! _pg_as "$bin/pg_ctl" -D "$real" status >/dev/null 2>&1 && [ -n "$(sleep 0.5; _pg_as "$bin/pg_ctl" -D "$real" status >/dev/null 2>&1 || echo dead)" ]; then
            tail -n 20 "$logfile" >&2; die "PostgreSQL exited during start-up (log: $logfile)"; return 1
        fi
        sleep 0.2
    done
    local psql=(psql -X -q -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1)
    if [ "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'telemetry'")" != 1 ]; then
        "${psql[@]}" -d postgres -c 'CREATE DATABASE telemetry' >/dev/null || { die "CREATE DATABASE failed"; return 1; }
    fi
    PG_DATA=$real
    PG_PORT=$port
    PG_URL="postgresql://postgres@127.0.0.1:$port/telemetry"
    export PG_DATA PG_PORT PG_URL
    log "PostgreSQL ready: $PG_URL"
    echo "$PG_URL"
}

stop_postgres() {
    local dir=${1:?usage: stop_postgres DIR}
    local bin real; real=$(_pg_real_dir "$dir")
    [ -f "$real/postmaster.pid" ] || return 0
    bin=$(_pg_bin) || return 1
    log "stopping PostgreSQL ($real)"
    if ! _pg_as "$bin/pg_ctl" -D "$real" -m fast -w -t 60 stop >/dev/null 2>&1; then
        # Still there after 60 s (or pg_ctl failed): immediate stop, then the postmaster itself.
        _pg_as "$bin/pg_ctl" -D "$real" -m immediate -w -t 10 stop >/dev/null 2>&1 || {
            local pid; pid=$(head -n 1 "$real/postmaster.pid" 2>/dev/null)
            [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
        }
    fi
    return 0
}

# ---------------------------------------------------------------------------------------------------
# mosquitto

_mosquitto_bin() {
    if [ -n "${MOSQUITTO_BIN:-}" ]; then echo "$MOSQUITTO_BIN"; return 0; fi
    command -v mosquitto 2>/dev/null || { [ -x /usr/sbin/mosquitto ] && echo /usr/sbin/mosquitto; } ||
        die "mosquitto not installed (run ensure_packages)"
}

# pids of mosquitto processes started with exactly this config file (also ones a test restarted).
_mosquitto_pids_for() {
    local conf=$1 p cmd
    for p in /proc/[0-9]*; do
        cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
        case "$cmd" in
            *mosquitto\ -c\ "$conf"\ * | *mosquitto\ -c\ "$conf") echo "${p#/proc/}" ;;
        esac
    done
}

# Exit 0 when an MQTT client can connect to 127.0.0.1:PORT.
# MOSQUITTO_PROBE_ARGS: extra mosquitto_pub arguments for a broker that takes no anonymous client
# (e.g. "-u ingest-unrouted -P secret": let in, its publish dropped by the ACL).
_mqtt_accepts() {
    local port=$1 probe
    read -r -a probe <<<"${MOSQUITTO_PROBE_ARGS:-}"
    if command -v mosquitto_pub >/dev/null 2>&1; then
        mosquitto_pub -h 127.0.0.1 -p "$port" -i "lib-probe-$$" "${probe[@]}" -t lib-probe/ready -n -q 0 >/dev/null 2>&1
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    fi
}

start_mosquitto() {
    local dir=${1:?usage: start_mosquitto DIR PORT} port=${2:?usage: start_mosquitto DIR PORT}
    local bin; bin=$(_mosquitto_bin) || return 1
    local base=${MOSQUITTO_BASE_CONF:-$REPO_ROOT/config/mosquitto.conf}
    [ -f "$base" ] || { die "no broker config at $base"; return 1; }
    dir=$(_abspath "$dir")
    mkdir -p -- "$dir"
    local conf="$dir/mosquitto.conf" pidfile="$dir/mosquitto.pid" logfile
    logfile="$(dirname -- "$dir")/mosquitto.log"

    local old; old=$(_mosquitto_pids_for "$conf")
    if [ -n "$old" ]; then
        die "a broker already runs for $dir (pid $old; stop it: stop_mosquitto $dir)"; return 1
    fi

    # MOSQUITTO_EXTRA_CONF: lines after this instance's own (e.g. auth files and a TLS listener); the base
    # config's lines for the same keys are left out.
    local own='listener|port|bind_address|persistence_location|pid_file|log_dest|user' key
    while read -r key _; do
        [ -n "$key" ] && own="$own|$key"
    done <<<"${MOSQUITTO_EXTRA_CONF:-}"
    {
        echo "# Generated by scripts/lib.sh start_mosquitto from $base; edits are overwritten."
        grep -vE "^[[:space:]]*($own)([[:space:]]|\$)" "$base"
        echo
        echo "# --- this instance ---"
        # As root, stay root (mosquitto 2.0 would switch to the mosquitto user, which may not reach DIR).
        [ "$(id -u)" -eq 0 ] && echo "user root"
        echo "listener $port 127.0.0.1"
        echo "persistence_location $dir/"
        echo "pid_file $pidfile"
        echo "log_dest stderr"
        if [ -n "${MOSQUITTO_EXTRA_CONF:-}" ]; then printf '%s\n' "$MOSQUITTO_EXTRA_CONF"; fi
    } >"$conf"

    log "starting mosquitto on 127.0.0.1:$port (persistence $dir, log $logfile)"
    # In the background, its own output to the log (never to the caller's stdout); stdin closed.
    "$bin" -c "$conf" >>"$logfile" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$pidfile"
    local deadline=$((SECONDS + 30))
    until _mqtt_accepts "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$logfile" >&2; die "mosquitto exited during start-up (log: $logfile)"; return 1
        fi
        if [ $SECONDS -ge $deadline ]; then
            kill -TERM "$pid" 2>/dev/null
            tail -n 20 "$logfile" >&2; die "mosquitto not accepting on port $port after 30 s"; return 1
        fi
        sleep 0.1
    done
    MOSQUITTO_CONF=$conf
    MOSQUITTO_PID=$pid
    MOSQUITTO_PORT=$port
    MQTT_URL="mqtt://127.0.0.1:$port"
    export MOSQUITTO_CONF MOSQUITTO_PID MOSQUITTO_PORT MQTT_URL
    log "mosquitto ready: $MQTT_URL (pid $pid)"
    echo "$MQTT_URL"
}

stop_mosquitto() {
    local dir=${1:?usage: stop_mosquitto DIR}
    dir=$(_abspath "$dir")
    local conf="$dir/mosquitto.conf" pidfile="$dir/mosquitto.pid"
    [ -f "$conf" ] || return 0
    # Our pid, plus any broker a test restarted with the same config.
    local pids p
    # (mosquitto rewrites the pid file itself, without a final newline.)
    pids=$( { cat "$pidfile" 2>/dev/null; echo; _mosquitto_pids_for "$conf"; } | sort -u)
    local alive=()
    for p in $pids; do
        # Only a mosquitto process: the pid file may be stale and the pid reused.
        if kill -0 "$p" 2>/dev/null && [[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")" == *mosquitto* ]]; then
            alive+=("$p")
        fi
    done
    [ ${#alive[@]} -eq 0 ] && { rm -f -- "$pidfile"; return 0; }
    log "stopping mosquitto (pid ${alive[*]})"
    kill -TERM "${alive[@]}" 2>/dev/null
    local deadline=$((SECONDS + 20))
    for p in "${alive[@]}"; do
        while kill -0 "$p" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
        if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null; fi
        wait "$p" 2>/dev/null || true   # reap if it was our child
    done
    rm -f -- "$pidfile"
    return 0
}

# build_bench PRODUCT...: release builds of the products with TELEMETRY_SWIFT_FLAGS (default "--scratch-path
# .build-bench", so a benchmark build never shares .build with other work); sets BENCH_BIN to their folder.
# Build output goes to stderr: a benchmark's stdout is its report.
build_bench() {
    local flags product
    read -r -a flags <<<"${TELEMETRY_SWIFT_FLAGS:---scratch-path .build-bench}"
    for product in "$@"; do swift build -c release --product "$product" "${flags[@]}" >&2 || return 1; done
    BENCH_BIN=$(swift build -c release --show-bin-path "${flags[@]}")
}

# The broker's security settings as scripts/run-local.sh runs it (docs/identity.md): settings per
# listener; the services' listener takes only the service accounts (broker-sync's files under DIR), and each
# devices' listener only devices, whose client id is their username (so they can take no other's session).
# Print the lines that go right after the services' listener's, and after each devices' listener's.
secured_service_conf() {
    printf 'per_listener_settings true\nallow_anonymous false\npassword_file %s\nacl_file %s\n' "$1/service-passwords" "$1/service-acl"
}
secured_device_conf() {
    printf 'allow_anonymous false\npassword_file %s\nacl_file %s\nuse_username_as_clientid true\n' "$1/passwords" "$1/acl"
}

# start_secured_broker DIR PORT BIN PASSWORD: for a benchmark, `$BIN/telemetry broker-sync` against PG_URL
# keeping the files in DIR/broker, then mosquitto under DIR/mosquitto reading them: the services' listener on
# PORT, a plaintext devices' listener on loopback (DEVICE_PORT), and the devices' listener MOSQUITTO_EXTRA_CONF
# may define (one, e.g. TLS: the devices' settings are added after it). PASSWORD is the services' account
# password. Sets SYNC_PID (the caller stops it), DEVICE_PORT and MQTT_URL/MOSQUITTO_PID as start_mosquitto does.
start_secured_broker() {
    local dir=$1 port=$2 bin=$3 password=$4
    mkdir -p "$dir/broker" "$dir/mosquitto"
    # broker-sync first: mosquitto does not start without the password files it writes (the services' ACL last).
    TELEMETRY_DATABASE_URL=$PG_URL TELEMETRY_CATALOG=$REPO_ROOT/config/sensors TELEMETRY_SERVICE_PASSWORD=$password \
        TELEMETRY_BROKER_PASSWORD_FILE=$dir/broker/passwords TELEMETRY_BROKER_ACL_FILE=$dir/broker/acl \
        TELEMETRY_BROKER_SERVICE_PASSWORD_FILE=$dir/broker/service-passwords TELEMETRY_BROKER_SERVICE_ACL_FILE=$dir/broker/service-acl \
        TELEMETRY_BROKER_PID_FILE=$dir/mosquitto/mosquitto.pid TELEMETRY_LOG_LEVEL=notice \
        TELEMETRY_MQTT_URL=mqtt://127.0.0.1:$port "$bin/telemetry" broker-sync >"$dir/broker-sync.log" 2>&1 &
    SYNC_PID=$!
    until [ -s "$dir/broker/service-acl" ]; do
        kill -0 "$SYNC_PID" 2>/dev/null || { cat "$dir/broker-sync.log" >&2; die "broker-sync exited"; return 1; }
        sleep 0.1
    done
    DEVICE_PORT=$(free_port)
    local devices; devices=$(secured_device_conf "$dir/broker")
    MOSQUITTO_EXTRA_CONF="$(secured_service_conf "$dir/broker")
listener $DEVICE_PORT 127.0.0.1
$devices${MOSQUITTO_EXTRA_CONF:+
$MOSQUITTO_EXTRA_CONF
$devices}" MOSQUITTO_PROBE_ARGS="-u ingest-unrouted -P $password" \
        start_mosquitto "$dir/mosquitto" "$port" >/dev/null
}

start_bench_servers() {
    BENCH_WORK=$(_abspath "${1:?usage: start_bench_servers DIR}")
    _stop_bench_servers() {
        set +e
        stop_mosquitto "$BENCH_WORK/mosquitto" >/dev/null 2>&1
        stop_postgres "$BENCH_WORK/pgdata" >/dev/null 2>&1
        rm -rf -- "$(_pg_real_dir "$BENCH_WORK/pgdata")" "$BENCH_WORK/mosquitto" "$BENCH_WORK"/journal-*
    }
    trap _stop_bench_servers EXIT
    PG_EXTRA_CONF="track_commit_timestamp = on" start_postgres "$BENCH_WORK/pgdata" "$(free_port)" >/dev/null
    start_mosquitto "$BENCH_WORK/mosquitto" "$(free_port)" >/dev/null
    log "logs in $BENCH_WORK; load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
