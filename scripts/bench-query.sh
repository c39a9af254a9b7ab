#!/usr/bin/env bash
# Query benchmark: a private PostgreSQL (kept in .local/bench-query between runs, so seeding happens once),
# the QueryBenchmark executable in release mode, a Markdown table on stdout.
#
#   scripts/bench-query.sh [--devices 1000] [--days 8] [--interval 12] [--iterations 50] [--raw 0]
#                          [--concurrency 8] [--cases TEXT]
#
# Defaults seed 1,000 devices × 8 days × one reading per 12 s = 57.6 M readings (several minutes on 2 cores,
# about 10 GB of disk); --cases concurrent runs only the eight-at-once case. Env: TELEMETRY_SWIFT_FLAGS (default
# "--scratch-path .build-bench", so a benchmark build never shares .build with other work),
# BENCH_DIR (default .local/bench-query), BENCH_KEEP_SERVER=1 leaves PostgreSQL running.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
ensure_packages
dir=${BENCH_DIR:-.local/bench-query}
mkdir -p "$dir"

build_bench QueryBenchmark
bin=$BENCH_BIN/QueryBenchmark

url=$(start_postgres "$dir/pgdata" "$(free_port)")
log "load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "${BENCH_KEEP_SERVER:-}" ] || trap 'stop_postgres "$dir/pgdata"' EXIT
"$bin" --database "$url" --port "$(free_port)" "$@"
