#!/usr/bin/env bash
# Checks config/systemd/*.service with `systemd-analyze verify` (skipped, saying so, where systemd-analyze
# is missing). The units name /usr/local/bin/telemetry; the check points them at BIN (default: the debug
# build) in temporary copies, and fails on anything systemd-analyze reports.
#   scripts/check-units.sh [BIN]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v systemd-analyze >/dev/null || { echo "check-units: systemd-analyze not found; units not checked" >&2; exit 0; }
bin=${1:-$(swift build --show-bin-path)/telemetry}
[ -x "$bin" ] || { echo "check-units: $bin is not built" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for unit in config/systemd/*.service; do
    name=$(basename "$unit")
    # A template is checked as one instance of it.
    [[ $name == *@.service ]] && name=${name/@.service/@temperature.service}
    sed "s|/usr/local/bin/telemetry|$bin|g" "$unit" >"$work/$name"
done
report=$(cd "$work" && systemd-analyze verify ./*.service 2>&1) || { echo "$report" >&2; exit 1; }
if [ -n "$report" ]; then echo "$report" >&2; exit 1; fi
echo "check-units: $(ls "$work" | wc -l) units verified by systemd-analyze" >&2
