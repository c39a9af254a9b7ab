# shellcheck shell=bash
# The Patroni cluster of scripts/run-ha.sh and scripts/ha-faults.sh (docs/high-availability.md): etcd and
# three PostgreSQL nodes under Patroni, their data under HA_WORK (a folder the postgres user can reach).
# Source after scripts/lib.sh; call ha_start_cluster, and ha_stop_cluster at exit.
#
# Two modes:
#   loopback (default): every node on its own free ports on 127.0.0.1; no root needed (scripts/run-ha.sh).
#   HA_NETNS=1 (root): each part on a host of its own, as in scripts/run-hosts.sh: a network namespace per
#     part, joined by a bridge in a namespace of its own (the switch), so a node's network can be cut
#     (ha_link N down) while its processes run on. Nothing goes into the root namespace's routing; the
#     namespaces (and with them veths and bridge) are removed by ha_stop_cluster.
#       ${HA_NS}etcd   $HA_NET.2    etcd (2379)
#       ${HA_NS}nodeN  $HA_NET.1N   Patroni + PostgreSQL of node N (5432, REST 8008)
#       ${HA_NS}app    $HA_NET.20   the clients: broker, services, emulator, psql, curl, patronictl
#     Run a client with ha_client CMD... (in loopback mode that is CMD... itself).
#
# After ha_start_cluster: HA_URL (the telemetry database, multi-host, read-write), HA_ADMIN_URL (the
# postgres database), HA_HOSTS[1..3], HA_PG_PORTS[1..3], HA_REST_PORTS[1..3], HA_ETCD_PORT, HA_ETCD_PID.

HA_PG_PORTS=() HA_REST_PORTS=() HA_NODE_PIDS=() HA_HOSTS=()
HA_ETCD_PID=
HA_NETNS=${HA_NETNS:-0}
HA_NET=${HA_NET:-10.204.0}
HA_NS=ha$$-
HA_NAMESPACES=()

# ha_in WHERE CMD...: CMD in WHERE's namespace (etcd, node1-3, app) with HA_NETNS=1, else here.
ha_in() {
    local where=$1; shift
    if [ "$HA_NETNS" = 1 ]; then ip netns exec "$HA_NS$where" "$@"; else "$@"; fi
}
ha_client() { ha_in app "$@"; }
# ha_bg WHERE CMD...: the same in the background, $! the command's own pid (ip netns exec execs it), so
# that it can be signalled and waited for; a function run with & would leave $! its subshell's.
ha_bg() {
    local where=$1; shift
    if [ "$HA_NETNS" = 1 ]; then ip netns exec "$HA_NS$where" "$@" & else "$@" & fi
}

# The address of etcd, node1-3 or app.
ha_address() {
    [ "$HA_NETNS" = 1 ] || { echo 127.0.0.1; return 0; }
    case "$1" in etcd) echo "$HA_NET.2" ;; node*) echo "$HA_NET.1${1#node}" ;; app) echo "$HA_NET.20" ;; esac
}

# The switch side of a part's veth: what ha_link sets down, as when a host's cable is pulled.
_ha_port() { local a; a=$(ha_address "$1"); echo "hs$$-${a##*.}"; }

_ha_netns_up() {
    [ "$(id -u)" -eq 0 ] || { die "HA_NETNS=1 needs root (ip netns)"; return 1; }
    local switch=${HA_NS}switch where ns address
    ip netns add "$switch" && HA_NAMESPACES+=("$switch") || return 1
    ip -n "$switch" link add br0 type bridge && ip -n "$switch" link set br0 up || return 1
    for where in etcd node1 node2 node3 app; do
        ns=$HA_NS$where address=$(ha_address "$where")
        ip netns add "$ns" && HA_NAMESPACES+=("$ns") || return 1
        ip -n "$ns" link set lo up
        ip link add "hh$$-${address##*.}" netns "$ns" type veth peer name "$(_ha_port "$where")" netns "$switch" || return 1
        ip -n "$ns" link set "hh$$-${address##*.}" name eth0
        ip -n "$ns" addr add "$address/24" dev eth0
        ip -n "$ns" link set eth0 up
        ip -n "$switch" link set "$(_ha_port "$where")" master br0 up || return 1
    done
    log "namespaces ${HA_NS}{etcd,node1,node2,node3,app} on $HA_NET.0/24, bridged in ${HA_NS}switch"
}

# ha_link N up|down: node N's link to the switch (HA_NETNS=1 only).
ha_link() { ip -n "${HA_NS}switch" link set "$(_ha_port "node$1")" "$2"; }

_ha_netns_down() {
    local ns
    for ns in "${HA_NAMESPACES[@]}"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        ip netns del "$ns" 2>/dev/null
    done
    HA_NAMESPACES=()
}

ha_ensure_packages() {
    TELEMETRY_APT_PACKAGES+=(patroni etcd-server etcd-client)
    ensure_packages
}

ha_start_etcd() {
    if [ "$HA_NETNS" = 1 ]; then HA_ETCD_PORT=2379 HA_ETCD_PEER_PORT=2380; fi
    : "${HA_ETCD_PORT:=$(free_port)}"
    : "${HA_ETCD_PEER_PORT:=$(free_port)}"
    local a; a=$(ha_address etcd)
    ha_bg etcd etcd --name telemetry-ha --data-dir "$HA_WORK/etcd" \
        --listen-client-urls "http://$a:$HA_ETCD_PORT" --advertise-client-urls "http://$a:$HA_ETCD_PORT" \
        --listen-peer-urls "http://$a:$HA_ETCD_PEER_PORT" --initial-advertise-peer-urls "http://$a:$HA_ETCD_PEER_PORT" \
        --initial-cluster "telemetry-ha=http://$a:$HA_ETCD_PEER_PORT" >>"$HA_WORK/etcd.log" 2>&1
    HA_ETCD_PID=$!
    local deadline=$((SECONDS + 30))
    until ETCDCTL_API=3 ha_in etcd etcdctl --endpoints "$a:$HA_ETCD_PORT" endpoint health >/dev/null 2>&1; do
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
        if [ "$HA_NETNS" = 1 ]; then
            HA_PG_PORTS[$n]=5432 HA_REST_PORTS[$n]=8008
        else
            HA_PG_PORTS[$n]=$(free_port)
            HA_REST_PORTS[$n]=$(free_port)
        fi
        HA_HOSTS[$n]=$(ha_address "node$n")
    fi
    # Loopback always (Patroni's own connections use the first address); the node's address on the bridge too.
    local listen=127.0.0.1 net=127.0.0.1/32
    [ "$HA_NETNS" = 1 ] && listen="127.0.0.1,${HA_HOSTS[$n]}" net=$HA_NET.0/24
    mkdir -p "$HA_WORK/node$n/data"
    chmod 700 "$HA_WORK/node$n/data"
    [ "$(id -u)" -eq 0 ] && chown -R "$(_pg_user):" "$HA_WORK/node$n"
    sed -e "s|{{NAME}}|node$n|g" -e "s|{{PG_PORT}}|${HA_PG_PORTS[$n]}|g" -e "s|{{REST_PORT}}|${HA_REST_PORTS[$n]}|g" \
        -e "s|{{HOST}}|${HA_HOSTS[$n]}|g" -e "s|{{LISTEN}}|$listen|g" -e "s|{{NET}}|$net|g" \
        -e "s|{{ETCD}}|$(ha_address etcd):$HA_ETCD_PORT|g" -e "s|{{DATA_DIR}}|$HA_WORK/node$n/data|g" -e "s|{{BIN_DIR}}|$(_pg_bin)|g" \
        -e "s|{{WORK}}|$HA_WORK/node$n|g" -e "s|failsafe_mode: true|failsafe_mode: ${HA_FAILSAFE:-true}|" \
        "$REPO_ROOT/config/patroni/patroni.yml" >"$HA_WORK/node$n.yml"
    if [ "$HA_NETNS" = 1 ]; then
        ha_bg "node$n" runuser -u postgres -- patroni "$HA_WORK/node$n.yml" >>"$HA_WORK/node$n.log" 2>&1
    else
        _pg_as patroni "$HA_WORK/node$n.yml" >>"$HA_WORK/node$n.log" 2>&1 &
    fi
    HA_NODE_PIDS[$n]=$!
}

# The node (1-3, or only among the nodes given after $1) whose Patroni answers 200 to GET /$1 (primary,
# sync, replica), or nothing.
ha_node_with() {
    local role=$1 n; shift
    local nodes=("$@"); [ $# -gt 0 ] || nodes=(1 2 3)
    for n in "${nodes[@]}"; do
        [ -n "${HA_REST_PORTS[$n]:-}" ] && ha_client curl -fs --connect-timeout 1 -m 2 -o /dev/null "http://${HA_HOSTS[$n]}:${HA_REST_PORTS[$n]}/$role" &&
            { echo "$n"; return 0; }
    done
    return 0
}

# ha_url DATABASE [N...]: the multi-host URL of the given nodes (default all three) that connects to the
# one taking writes. The TCP settings are for a primary whose network is cut: no RST ever comes, and a
# session waiting on it (a COMMIT waiting for its synchronous standby, say) would otherwise hang until the
# kernel gives up retransmitting (about 15 minutes with tcp_retries2=15), or forever when nothing is in
# flight. keepalives_*: probe an idle session after 5 s, every 2 s; tcp_user_timeout: drop the session
# when data or probes stay unacknowledged for 10 s. The writer then takes the broken session as a retry
# and finds the new primary. connect_timeout: per host, so an unreachable first host costs 3 s, not 2 min.
ha_url() {
    local db=$1 hosts='' n; shift
    local nodes=("$@"); [ $# -gt 0 ] || nodes=(1 2 3)
    for n in "${nodes[@]}"; do hosts+="${HA_HOSTS[$n]}:${HA_PG_PORTS[$n]},"; done
    echo "postgresql://postgres@${hosts%,}/$db?target_session_attrs=read-write&connect_timeout=3&keepalives=1&keepalives_idle=5&keepalives_interval=2&keepalives_count=3&tcp_user_timeout=10000"
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
    if [ "$HA_NETNS" = 1 ]; then _ha_netns_up || return 1; fi
    ha_start_etcd || return 1
    log "etcd on $(ha_address etcd):$HA_ETCD_PORT"
    local n
    for n in 1 2 3; do ha_start_node "$n"; done
    ha_wait_ready 180 || return 1
    HA_ADMIN_URL=$(ha_url postgres)
    HA_URL=$(ha_url telemetry)
    if [ "$(ha_client psql -X -qtA "$HA_ADMIN_URL" -c "SELECT count(*) FROM pg_database WHERE datname = 'telemetry'")" = 0 ]; then
        ha_client psql -X -q "$HA_ADMIN_URL" -c "CREATE DATABASE telemetry" || return 1
    fi
    log "primary node$(ha_node_with primary), synchronous standby node$(ha_node_with sync)"
}

ha_ctl() { ha_client patronictl -c "$HA_WORK/node1.yml" "$@"; }
ha_list() { ha_ctl list 2>/dev/null; }

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
    _ha_netns_down
    return 0
}
