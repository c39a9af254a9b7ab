#!/usr/bin/env bash
# The platform on a PostgreSQL that survives the loss of its host (docs/high-availability.md): etcd and
# three PostgreSQL 15 nodes under Patroni (synchronous_mode: a commit returns once a standby has it), each
# node on its own loopback ports (scripts/ha-lib.sh, config/patroni/patroni.yml), then everything
# scripts/run-local.sh starts (broker, services, emulators) with a multi-host database URL: the services
# follow the primary (target_session_attrs=read-write).
#
#   scripts/run-ha.sh            prints the cluster's state; Ctrl-C (or SIGTERM) stops everything it started
#
# The cluster is throwaway: its data lives in a folder under /tmp that is removed at exit (the postgres
# user must reach it). .local/ha/ keeps the platform's own state (journals, logs, tokens) and .local/ha/env
# (`source .local/ha/env`: API, TOKEN, ... and PATRONI_CONFIG, for `patronictl -c "$PATRONI_CONFIG" list`).
# Knobs: TELEMETRY_BIN_DIR (prebuilt executables; default: build release), RUN_HA_STATE (.local/ha), and
# the RUN_LOCAL_* knobs of scripts/run-local.sh but the database's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
# Loopback ports (the platform below runs in this network namespace), whatever HA_NETNS says.
HA_NETNS=0
# shellcheck source=scripts/ha-lib.sh
source scripts/ha-lib.sh

if [ $# -gt 0 ]; then
    # No arguments: everything is a knob (above). --help, or anything else: this header.
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    [ "$1" = --help ] || [ "$1" = -h ] && exit 0
    exit 2
fi

ha_ensure_packages
state=${RUN_HA_STATE:-$PWD/.local/ha}
mkdir -p "$state"
HA_WORK=$(mktemp -d /tmp/telemetry-ha.XXXXXX)
platform_pid=

cleanup() {
    trap '' INT TERM
    set +e
    if [ -n "$platform_pid" ]; then
        kill -TERM "$platform_pid" 2>/dev/null
        wait "$platform_pid" 2>/dev/null
    fi
    ha_stop_cluster
    # The cluster's logs outlive it, beside the platform's: a failover can be looked into afterwards.
    mkdir -p "$state/logs/cluster"
    cp -- "$HA_WORK"/*.log "$state/logs/cluster/" 2>/dev/null
    rm -rf -- "$HA_WORK"
    rm -f "$state/env"
    log "the cluster is stopped and its data removed; its logs are in ${state#"$PWD"/}/logs/cluster"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ha_start_cluster
ha_list >&2

# The platform, on the cluster. run-local.sh writes its env file; the cluster's config is added to it.
RUN_LOCAL_DATABASE_URL=$HA_URL RUN_LOCAL_STATE=$state \
    RUN_LOCAL_ENV_EXTRA=$(printf 'export PATRONI_CONFIG=%q HA_WORK=%q' "$HA_WORK/node1.yml" "$HA_WORK") scripts/run-local.sh &
platform_pid=$!
(
    while kill -0 "$platform_pid" 2>/dev/null && [ ! -s "$state/env" ]; do sleep 1; done
    [ -s "$state/env" ] || exit 0
    log "the cluster: source ${state#"$PWD"/}/env; patronictl -c \"\$PATRONI_CONFIG\" list (its logs: $HA_WORK/node*.log, etcd.log)"
) &
wait "$platform_pid"
