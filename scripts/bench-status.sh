#!/usr/bin/env bash
# Device status benchmark (issue 21): the status pass over 100,000 devices while the writers refresh them,
# and how soon 1,000 that stop sending are found silent. A private PostgreSQL in a temporary folder, the
# DeviceStatusBenchmark executable in release mode, a Markdown table on stdout.
#
#   scripts/bench-status.sh [--devices 100000] [--stopping 1000] [--interval-seconds 10] [--factor 3] [--pass-seconds 5]
#
# Env: TELEMETRY_SWIFT_FLAGS (default "--scratch-path .build-bench").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
ensure_packages
build_bench DeviceStatusBenchmark
dir=$(mktemp -d /tmp/telemetry-status.XXXXXX)
url=$(start_postgres "$dir/pgdata" "$(free_port)")
trap 'stop_postgres "$dir/pgdata" >/dev/null 2>&1; rm -rf "$dir"' EXIT
log "load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$BENCH_BIN/DeviceStatusBenchmark" --database "$url" "$@"
