#!/usr/bin/env bash
# The docs check: every ```sh example of README.md and of the runnable pages of docs/ runs as written, in
# order, in one shell, against a platform that scripts/run-local.sh itself starts on throwaway loopback
# ports, and fails on a non-zero exit or a `# expect:` text that does not appear (docs/testing.md, "The
# docs check"; scripts/docs_examples.py does the reading and running).
#
#   scripts/check-docs.sh            lint the pages, start the platform, run the examples, stop it
#   scripts/check-docs.sh --lint     only the lint: markers, links, tables of contents, README length
#
# Knobs: TELEMETRY_BIN_DIR (the executables to run; default: build telemetry in debug), DOCS_CHECK_TIMEOUT
# (seconds for all the examples, 900), DOCS_CHECK_KEEP=1 (keep the folder with the platform's logs),
# DOCS_CHECK_VERBOSE=1 (print everything the examples printed).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
repo=$PWD

python3 scripts/docs_examples.py lint || { log "docs check: the pages do not lint (above)"; exit 1; }
log "docs check: pages lint"
[ "${1:-}" = "--lint" ] && exit 0

if [ -z "${TELEMETRY_BIN_DIR:-}" ]; then
    read -r -a swift_flags <<<"${TELEMETRY_SWIFT_FLAGS:-}"
    swift build --product telemetry "${swift_flags[@]}" >&2
    TELEMETRY_BIN_DIR=$(swift build --show-bin-path "${swift_flags[@]}")
fi
bin=$(cd "$TELEMETRY_BIN_DIR" && pwd)
[ -x "$bin/telemetry" ] || { die "$bin/telemetry is not built"; exit 1; }

# The examples run here: the platform's state is ./.local, and the repository's files are linked in, so
# `source .local/env`, `.local/tls/...` and `config/...` mean what they mean in a checkout.
work=$(mktemp -d /tmp/telemetry-docs.XXXXXX)
chmod 755 "$work"   # PostgreSQL's user must reach the data folder under it
for entry in "$repo"/* "$repo"/.ci; do
    [ -e "$entry" ] && ln -s "$entry" "$work/$(basename "$entry")"
done

platform=
status=1
cleanup() {
    trap - EXIT INT TERM
    set +e
    if [ -n "$platform" ] && kill -0 "$platform" 2>/dev/null; then
        # run-local.sh stops what it started on SIGTERM; wait for it, with a deadline.
        kill -TERM "$platform"
        local deadline=$((SECONDS + 90))
        while kill -0 "$platform" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
        kill -0 "$platform" 2>/dev/null && { log "docs check: run-local.sh did not stop in 90 s"; kill -KILL "$platform"; }
        wait "$platform" 2>/dev/null
    fi
    if [ -n "${DOCS_CHECK_KEEP:-}" ]; then
        log "docs check: kept $work (run-local.log, .local/logs/)"
    else
        rm -rf -- "$(_pg_real_dir "$work/.local/pgdata")" "$work"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'status=130; exit 130' INT
trap 'status=143; exit 143' TERM

log "docs check: starting scripts/run-local.sh in $work (log run-local.log)"
RUN_LOCAL_STATE=$work/.local TELEMETRY_BIN_DIR=$bin \
    RUN_LOCAL_PG_PORT=$(free_port) RUN_LOCAL_MQTT_PORT=$(free_port) RUN_LOCAL_MQTTS_PORT=$(free_port) \
    RUN_LOCAL_MQTTS_CERT_PORT=$(free_port) RUN_LOCAL_HTTP_PORT=$(free_port) \
    scripts/run-local.sh >"$work/run-local.log" 2>&1 </dev/null &
platform=$!

# Ready when run-local.sh has written .local/env (it does so last).
deadline=$((SECONDS + 300))
until [ -s "$work/.local/env" ]; do
    if ! kill -0 "$platform" 2>/dev/null; then
        tail -n 30 "$work/run-local.log" >&2
        die "docs check: scripts/run-local.sh exited before the platform was ready"; exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
        tail -n 30 "$work/run-local.log" >&2
        die "docs check: the platform was not ready after 300 s"; exit 1
    fi
    sleep 0.5
done
# The examples ask about devices the emulator publishes for: wait for their first readings, as a reader
# who started run-local.sh a minute ago would have them.
# shellcheck disable=SC1091
api=$(source "$work/.local/env" && echo "$API") token=$(source "$work/.local/env" && echo "$TOKEN")
for device in temperature/devices/emu-temperature-0000 power/devices/emu-power-0001; do
    deadline=$((SECONDS + 120))
    until curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$api/v1/sensors/$device/latest" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || { die "docs check: no reading of $device after 120 s (.local/logs/emulator-*.log)"; exit 1; }
        sleep 0.5
    done
done
log "docs check: platform ready at $api"

status=0
python3 scripts/docs_examples.py run "$work" || status=$?
exit "$status"
