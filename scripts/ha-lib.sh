# The Patroni cluster of scripts/run-ha.sh and scripts/ha-faults.sh (docs/high-availability.md): etcd and
# three PostgreSQL nodes under Patroni on loopback ports, their data under HA_WORK (a folder the postgres
# user can reach). Source after scripts/lib.sh; call ha_start_cluster, and ha_stop_cluster at exit.
#
# After ha_start_cluster: HA_URL (the telemetry database, multi-host, read-write), HA_ADMIN_URL (the
# postgres database), HA_PG_PORTS[1..3], HA_REST_PORTS[1..3], HA_ETCD_PORT, HA_ETCD_PID.

HA_PG_PORTS=() HA_REST_PORTS=() HA_NODE_PIDS=()
HA_ETCD_PID=

ha_ensure_packages() {
    TELEMETRY_APT_PACKAGES+=(patroni etcd-server etcd-client)
    ensure_packages
}

ha_start_etcd() {
    : "${HA_ETCD_PORT:=$(free_port)}"
    : "${HA_ETCD_PEER_PORT:=$(free_port)}"
    etcd --name telemetry-ha --data-dir "$HA_WORK/etcd" \
        --listen-client-urls "http://127.0.0.1:$HA_ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$HA_ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$HA_ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$HA_ETCD_PEER_PORT" \
        --initial-cluster "telemetry-ha=http://127.0.0.1:$HA_ETCD_PEER_PORT" >>"$HA_WORK/etcd.log" 2>&1 &
    HA_ETCD_PID=$!
    local deadline=$((SECONDS + 30))
    until ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$HA_ETCD_PORT" endpoint health >/dev/null 2>&1; do
        if ! kill -0 "$HA_ETCD_PID" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
            tail -n 20 "$HA_WORK/etcd.log" >&2; die "etcd did not start"; return 1
        fi
        sleep 0.2
    done
}

# Starts node N (1-3) from config/patroni/patroni.yml; its data stays across restarts of the node.
ha_start_node() {
    local n=$1
    if [ -z "${HA_PG_PORTS[$n]:-}" ]; then
        HA_PG_PORTS[$n]=$(free_port)
        HA_REST_PORTS[$n]=$(free_port)
    fi
    mkdir -p "$HA_WORK/node$n/data"
    chmod 700 "$HA_WORK/node$n/data"
    [ "$(id -u)" -eq 0 ] && chown -R "$(_pg_user):" "$HA_WORK/node$n"
    sed -e "s|{{NAME}}|node$n|g" -e "s|{{PG_PORT}}|${HA_PG_PORTS[$n]}|g" -e "s|{{REST_PORT}}|${HA_REST_PORTS[$n]}|g" \
        -e "s|{{ETCD}}|127.0.0.1:$HA_ETCD_PORT|g" -e "s|{{DATA_DIR}}|$HA_WORK/node$n/data|g" -e "s|{{BIN_DIR}}|$(_pg_bin)|g" \
        -e "s|{{WORK}}|$HA_WORK/node$n|g" "$REPO_ROOT/config/patroni/patroni.yml" >"$HA_WORK/node$n.yml"
    _pg_as patroni "$HA_WORK/node$n.yml" >>"$HA_WORK/node$n.log" 2>&1 &
    HA_NODE_PIDS[$n]=$!
}

# The node (1-3) whose Patroni answers 200 to GET /$1 (primary, sync, replica), or nothing.
ha_node_with() {
    local n
    for n in 1 2 3; do
        [ -n "${HA_REST_PORTS[$n]:-}" ] && curl -fs -m 2 -o /dev/null "http://127.0.0.1:${HA_REST_PORTS[$n]}/$1" && { echo "$n"; return 0; }
    done
    return 0
}

# Waits (up to $1 s) for a primary and, unless $2 is "any", a synchronous standby.
ha_wait_ready() {
    local deadline=$((SECONDS + ${1:-180})) primary sync
    while :; do
        primary=$(ha_node_with primary)
        sync=$(ha_node_with sync)
        [ -n "$primary" ] && { [ -n "$sync" ] || [ "${2:-}" = any ]; } && return 0
        if [ $SECONDS -ge $deadline ]; then
            local n
            for n in 1 2 3; do log "node$n:"; tail -n 15 "$HA_WORK/node$n.log" >&2; done
            die "no primary${2:+ }${2:-with a synchronous standby} after ${1:-180} s"
            return 1
        fi
        sleep 0.5
    done
}

ha_start_cluster() {
    mkdir -p "$HA_WORK"
    chmod 755 "$HA_WORK"
    ha_start_etcd || return 1
    log "etcd on 127.0.0.1:$HA_ETCD_PORT"
    local n
    for n in 1 2 3; do ha_start_node "$n"; done
    ha_wait_ready 180 || return 1
    local hosts
    hosts=$(for n in 1 2 3; do printf '127.0.0.1:%s,' "${HA_PG_PORTS[$n]}"; done)
    hosts=${hosts%,}
    HA_ADMIN_URL="postgresql://postgres@$hosts/postgres?target_session_attrs=read-write&connect_timeout=3"
    HA_URL="postgresql://postgres@$hosts/telemetry?target_session_attrs=read-write&connect_timeout=3"
    if [ "$(psql -X -qtA "$HA_ADMIN_URL" -c "SELECT count(*) FROM pg_database WHERE datname = 'telemetry'")" = 0 ]; then
        psql -X -q "$HA_ADMIN_URL" -c "CREATE DATABASE telemetry" || return 1
    fi
    log "primary node$(ha_node_with primary), synchronous standby node$(ha_node_with sync)"
}

ha_list() { patronictl -c "$HA_WORK/node1.yml" list 2>/dev/null; }

# Every process of node N, as if its host died: Patroni and PostgreSQL, SIGKILL.
ha_kill_node() {
    local n=$1 pids
    pids=$(pgrep -f "patroni $HA_WORK/node$n.yml" || true)
    pids+=" $(pgrep -f -- "-D $HA_WORK/node$n/data" || true)"
    [ -s "$HA_WORK/node$n/data/postmaster.pid" ] && pids+=" $(head -n 1 "$HA_WORK/node$n/data/postmaster.pid")"
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    # The postmaster's children go with it once it is gone; wait for the port to be free.
    local deadline=$((SECONDS + 20))
    while pgrep -f -- "$HA_WORK/node$n/data" >/dev/null && [ $SECONDS -lt $deadline ]; do
        pkill -KILL -f -- "$HA_WORK/node$n/data" 2>/dev/null || true
        sleep 0.2
    done
}

ha_stop_cluster() {
    set +e
    # Patroni stops its PostgreSQL on SIGTERM (runuser does not pass the signal on: to Patroni itself).
    local pids pid n deadline=$((SECONDS + 30))
    pids=$(pgrep -f "patroni $HA_WORK/node" || true)
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -TERM $pids 2>/dev/null
    for pid in $pids; do
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null
    done
    for n in 1 2 3; do
        [ -s "$HA_WORK/node$n/data/postmaster.pid" ] && _pg_as "$(_pg_bin)/pg_ctl" -D "$HA_WORK/node$n/data" -m immediate -w stop >/dev/null 2>&1
    done
    if [ -n "$HA_ETCD_PID" ]; then kill -TERM "$HA_ETCD_PID" 2>/dev/null; wait "$HA_ETCD_PID" 2>/dev/null; fi
    return 0
}
