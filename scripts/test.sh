#!/usr/bin/env bash
# Runs the whole test suite against a throwaway PostgreSQL cluster and mosquitto broker.
#
#   scripts/test.sh                     build and run every test, and the docs check (scripts/check-docs.sh)
#   scripts/test.sh --filter Ingest     extra arguments go to `swift test` (and then only that runs)
#
# Tests get (all on 127.0.0.1, free ports, removed afterwards):
#   TELEMETRY_TEST_DATABASE_URL    postgresql://postgres@127.0.0.1:PORT/telemetry (trust auth)
#   TELEMETRY_TEST_PG_DATA         the cluster's data directory
#   TELEMETRY_TEST_PG_PORT         its port
#   TELEMETRY_TEST_PG_CTL          pg_ctl command line to stop/start it, word-split it:
#                                  $TELEMETRY_TEST_PG_CTL -D "$TELEMETRY_TEST_PG_DATA" -m fast -w stop
#                                  $TELEMETRY_TEST_PG_CTL -D "$TELEMETRY_TEST_PG_DATA" -w start
#                                  (port and settings live in the data directory, so a plain start
#                                  comes back on the same port)
#   TELEMETRY_TEST_MQTT_URL        mqtt://127.0.0.1:PORT
#   TELEMETRY_TEST_MOSQUITTO_PORT  its port
#   TELEMETRY_TEST_MOSQUITTO_CONF  its full config (listener, persistence): to restart the broker,
#                                  SIGTERM the pid in TELEMETRY_TEST_MOSQUITTO_PID_FILE, then run
#                                  `$TELEMETRY_TEST_MOSQUITTO_BIN -c "$TELEMETRY_TEST_MOSQUITTO_CONF" -d`
#                                  (brokers started with that config are stopped at the end too)
#   TELEMETRY_TEST_MOSQUITTO_PID_FILE, TELEMETRY_TEST_MOSQUITTO_BIN
#   TELEMETRY_BIN_DIR              where the built executables are (swift build --show-bin-path)
#   TELEMETRY_TEST_PYTHON          a Python with Selenium (.local/browser-venv) for the browser tests
#
# Env knobs: TELEMETRY_SWIFT_FLAGS (extra flags for every swift build/test call, e.g.
# "--scratch-path .build-ci"), TELEMETRY_TEST_SKIP_BUILD=1 (use what is built: quick reruns), TELEMETRY_TEST_KEEP_LOGS=dir (copy server logs there on failure;
# default .local/test-logs).
# The output ends with swift test's own summary; the exit status is swift test's (or the build's).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ensure_packages

# Suites with wall-clock deadlines: run apart from the rest (below).
QUIET_SUITES='IntegrationTests\.(DashboardBrowserTests|RollupCacheTests|DeviceStatusTests|LiveReadingsTests|NotificationTests)/'
# The suites that start the platform through TestServers.startIngest: run both ways.
MONOLITH_SUITES='IntegrationTests\.(EndToEndTests|RejectionEndToEndTests|DeliveryTests|DeliveryChecksTests|DeadLetterTests|SensorDatabasesTests)/'
# The suites whose readings of closed hours are compacted before they read them back when
# TELEMETRY_TEST_COMPACT=1 (compactClosedHoursIfAsked): run again on compacted data. (CompactionTests and
# AggregatePropertyTests compact in every run.)
COMPACTED_SUITES='IntegrationTests\.(EndToEndTests|CSVExportTests)/'

ensure_browser_venv
export TELEMETRY_TEST_PYTHON=$BROWSER_PYTHON

read -r -a swift_flags <<<"${TELEMETRY_SWIFT_FLAGS:-}"

work=$(mktemp -d /tmp/telemetry-test.XXXXXX)
status=1
cleanup() {
    local exited=$?
    trap - EXIT INT TERM
    set +e
    # A command that failed under `set -e` fails the run, though `status` was 0 when it stopped.
    [ "$status" -ne 0 ] || status=$exited
    # Quiet: the last lines of the output stay swift test's summary.
    {
        stop_mosquitto "$work/mosquitto"
        stop_postgres "$work/pgdata"
        if [ "$status" -ne 0 ]; then
            local keep=${TELEMETRY_TEST_KEEP_LOGS:-.local/test-logs}
            mkdir -p "$keep" && cp -f "$work"/*.log "$keep"/ 2>/dev/null
        fi
        rm -rf -- "$(_pg_real_dir "$work/pgdata")" "$work"
    } >/dev/null 2>&1
    exit "$status"
}
trap cleanup EXIT
trap 'status=130; exit 130' INT
trap 'status=143; exit 143' TERM

# Module imports follow the layers of docs/architecture.md (no build needed; fails fast).
python3 scripts/check-layering.py || { log "a module imports one it must not (scripts/check-layering.py)"; exit 1; }

# Build first: the servers need not idle through a long build, nor start for a build that fails.
status=0
[ -n "${TELEMETRY_TEST_SKIP_BUILD:-}" ] || swift build --build-tests "${swift_flags[@]}" || status=$?
if [ "$status" -ne 0 ]; then
    log "swift build --build-tests failed ($status)"
    exit "$status"
fi
TELEMETRY_BIN_DIR=$(swift build --show-bin-path "${swift_flags[@]}")
export TELEMETRY_BIN_DIR
bash scripts/check-units.sh "$TELEMETRY_BIN_DIR/telemetry" || { log "config/systemd units do not verify"; exit 1; }
# Every example of README.md and docs/ runs as written against a platform of its own (scripts/check-docs.sh).
# Before the suites: its platform then never competes with their deadlines, and the output still ends with
# swift test's summary. A failure here is reported in the exit status; the suites run all the same.
docs_status=0
if [ $# -eq 0 ]; then
    bash scripts/check-docs.sh </dev/null || docs_status=$?
    [ "$docs_status" -eq 0 ] || log "the docs check failed ($docs_status); the test suites run all the same"
fi
status=1

start_postgres "$work/pgdata" "$(free_port)" >/dev/null
start_mosquitto "$work/mosquitto" "$(free_port)" >/dev/null

export TELEMETRY_TEST_DATABASE_URL=$PG_URL
export TELEMETRY_TEST_PG_DATA=$PG_DATA
export TELEMETRY_TEST_PG_PORT=$PG_PORT
TELEMETRY_TEST_PG_CTL=$(pg_ctl_command)
export TELEMETRY_TEST_PG_CTL
export TELEMETRY_TEST_MQTT_URL=$MQTT_URL
export TELEMETRY_TEST_MOSQUITTO_PORT=$MOSQUITTO_PORT
export TELEMETRY_TEST_MOSQUITTO_CONF=$MOSQUITTO_CONF
export TELEMETRY_TEST_MOSQUITTO_PID_FILE=$work/mosquitto/mosquitto.pid
TELEMETRY_TEST_MOSQUITTO_BIN=$(_mosquitto_bin)
export TELEMETRY_TEST_MOSQUITTO_BIN
log "test servers: $TELEMETRY_TEST_DATABASE_URL, $TELEMETRY_TEST_MQTT_URL"

# At most this many tests at once: they start services, brokers and emulators of their own, and with
# every suite at once the load on 2 cores passed 25 and deadlines measured the queue, not the code.
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=${TELEMETRY_TEST_WIDTH:-6}

status=0
if [ $# -eq 0 ]; then
    # Everything but the suites whose checks have a deadline on the wall clock (a reading in the browser
    # within 2 s, a lookup beside an open write within 5 s), which then run on their own, one at a time:
    # on 2 cores, beside every other suite at once, their deadlines measure the machine, not the code.
    swift test --skip-build "${swift_flags[@]}" --skip "$QUIET_SUITES" </dev/null || status=$?
    log "the suites with wall-clock deadlines, on their own"
    quiet_status=0
    swift test --skip-build "${swift_flags[@]}" --no-parallel --filter "$QUIET_SUITES" </dev/null || quiet_status=$?
    [ "$status" -ne 0 ] || status=$quiet_status
else
    swift test --skip-build "${swift_flags[@]}" "$@" </dev/null || status=$?
fi
# The monolith passes the same end-to-end tests as the microservices: those suites again, with each
# test's platform started as `telemetry all` instead of `telemetry ingest` (Support/ServiceProcess.swift).
# One test at a time: a monolith's catch-all subscribes to every topic on the shared broker.
# With arguments, only what they ask for runs, once (set TELEMETRY_TEST_MODE=all for the monolith).
if [ $# -eq 0 ]; then
    log "the end-to-end suites again, against the monolith (telemetry all)"
    monolith_status=0
    TELEMETRY_TEST_MODE=all swift test --skip-build "${swift_flags[@]}" --no-parallel \
        --filter "$MONOLITH_SUITES" </dev/null || monolith_status=$?
    [ "$status" -ne 0 ] || status=$monolith_status
fi
# Those suites once more with TELEMETRY_TEST_COMPACT=1: each test compacts what it stored before it reads it
# back, and the query services compact every closed hour every second (Support/ServiceProcess.swift). The
# report lists what each test compacted; an empty one means the pass read heap rows only, and fails.
if [ $# -eq 0 ]; then
    log "the suites that read back old readings, again on compacted data (TELEMETRY_TEST_COMPACT=1)"
    compacted_status=0
    export TELEMETRY_TEST_COMPACT_REPORT=$work/compacted.txt
    : >"$TELEMETRY_TEST_COMPACT_REPORT"
    TELEMETRY_TEST_COMPACT=1 swift test --skip-build "${swift_flags[@]}" --filter "$COMPACTED_SUITES" </dev/null || compacted_status=$?
    if [ ! -s "$TELEMETRY_TEST_COMPACT_REPORT" ]; then
        log "the compacted pass compacted nothing: it read heap rows only"
        compacted_status=1
    else
        sed 's/^/  compacted: /' "$TELEMETRY_TEST_COMPACT_REPORT"
    fi
    unset TELEMETRY_TEST_COMPACT_REPORT
    [ "$status" -ne 0 ] || status=$compacted_status
fi
[ "$status" -ne 0 ] || status=$docs_status
exit "$status"
