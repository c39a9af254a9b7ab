#!/usr/bin/env bash
# Compaction benchmark: a private PostgreSQL (fresh each run, removed after), CompactionBenchmark in
# release mode, a Markdown report on stdout (docs/benchmarks/2026-12-compaction.md has a run).
#
#   scripts/bench-compaction.sh [--devices 1000] [--hours 24] [--interval 10] [--sensors temperature,power]
#                               [--iterations 30] [--ingest-seconds 10] [--time device|receive] [--values tm|decimal]
#
# Env: TELEMETRY_SWIFT_FLAGS (default "--scratch-path .build-bench"), BENCH_DIR (default .local/bench-compaction).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
ensure_packages
dir=${BENCH_DIR:-.local/bench-compaction}
rm -rf "$dir" && mkdir -p "$dir"

build_bench CompactionBenchmark
url=$(start_postgres "$dir/pgdata" "$(free_port)")
trap 'stop_postgres "$dir/pgdata"; rm -rf "$(_pg_real_dir "$dir/pgdata")"' EXIT
log "load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$BENCH_BIN/CompactionBenchmark" --database "$url" "$@"
