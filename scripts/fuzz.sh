#!/usr/bin/env bash
# Builds the wire-format fuzzers (libFuzzer + AddressSanitizer, release) and runs each for <seconds>.
# Usage: scripts/fuzz.sh <seconds> [FuzzTM FuzzLPP FuzzSenMLJSON FuzzSenMLCBOR FuzzJSON FuzzText FuzzChirpStack FuzzTTN FuzzSparkplug FuzzBlocks]
# Corpora grow in Tools/Fuzz/corpus-<format>/ (seeded from the golden testcases; FuzzBlocks from the codec's); crashes land in Tools/Fuzz/artifacts/.
# Replay a crash with a plain build: swift run FuzzTM Tools/Fuzz/artifacts/<file>
set -euo pipefail
seconds=${1:?usage: scripts/fuzz.sh <seconds> [fuzzer...]}
shift
cd "$(dirname "$0")/.."
fuzzers=("$@")
[ ${#fuzzers[@]} -gt 0 ] || fuzzers=(FuzzTM FuzzLPP FuzzSenMLJSON FuzzSenMLCBOR FuzzJSON FuzzText FuzzChirpStack FuzzTTN FuzzSparkplug FuzzBlocks)
scratch=.build-fuzz
flags=(-c release --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING)

format_of() {
    case $1 in
        FuzzTM) echo tm ;; FuzzLPP) echo lpp ;; FuzzSenMLJSON) echo senml-json ;; FuzzSenMLCBOR) echo senml-cbor ;;
        FuzzJSON) echo json ;; FuzzText) echo text ;; FuzzChirpStack) echo chirpstack ;; FuzzTTN) echo ttn ;; FuzzSparkplug) echo sparkplug ;; FuzzBlocks) echo blocks ;;
        *) echo "unknown fuzzer $1" >&2; exit 2 ;;
    esac
}

for fuzzer in "${fuzzers[@]}"; do
    swift build "${flags[@]}" --product "$fuzzer" >/dev/null
done
bin=$(swift build "${flags[@]}" --show-bin-path)
mkdir -p Tools/Fuzz/artifacts

for fuzzer in "${fuzzers[@]}"; do
    format=$(format_of "$fuzzer")
    corpus=Tools/Fuzz/corpus-$format
    mkdir -p "$corpus"
    seeds=Tests/WireFormatsTests/testcases/$format
    [ "$format" = blocks ] && seeds=Tests/BlockCodecTests/testcases
    for input in "$seeds"/*; do
        name=$(basename "$input")
        case $name in
            *.expect.json) ;;
            *.json)
                if [ "$format" = blocks ]; then
                    python3 -c 'import json,sys; sys.stdout.buffer.write(bytes.fromhex(json.load(open(sys.argv[1]))["hex"]))' "$input" > "$corpus/seed-${name%.json}"
                else
                    cp "$input" "$corpus/seed-$name"
                fi ;;
            *.hex) sed 's/#.*//' "$input" | xxd -r -p > "$corpus/seed-${name%.hex}" ;;
            *) cp "$input" "$corpus/seed-$name" ;;
        esac
    done
    dict=()
    [ -f "Tools/Fuzz/$format.dict" ] && dict=(-dict="Tools/Fuzz/$format.dict")
    log=$(mktemp)
    set +e
    "$bin/$fuzzer" "$corpus" "${dict[@]}" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
        -artifact_prefix="Tools/Fuzz/artifacts/$format-" >"$log" 2>&1
    status=$?
    set -e
    runs=$(grep -o 'number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    if [ $status -eq 0 ]; then
        echo "$fuzzer: $runs inputs executed in ${seconds}s, no crash"
    else
        echo "$fuzzer: CRASH after $runs inputs (exit $status), log: $log"
        grep -E 'ERROR|Fatal error|Precondition|artifact' "$log" | head -5
    fi
done
