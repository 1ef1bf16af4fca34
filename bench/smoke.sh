#!/bin/bash
# The test command's check that cram-bench works: each mode on a tiny
# corpus (16 pages per class, 1 MiB churn media), then the chart script on
# the CSV it wrote.  Speaks TAP; it checks that every mode runs, prints
# its table for both codecs and writes its CSV, never what it measured
# (timings on tiny inputs under shared load mean nothing).
#   bench/smoke.sh CRAM_BENCH [ignored...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench=${1:?usage: smoke.sh PATH/TO/cram-bench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tiny=(-n 16 -f 2 -r 1 --rounds 1 -m 1 -w 2 --meta-max 1024)
n=0
failed=0

result() {      # result OK DESCRIPTION [LOG]
    n=$((n + 1))
    if [ "$1" = 1 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failed=$((failed + 1))
        [ -n "${3:-}" ] && sed 's/^/# /' "$3" | tail -n 20
    fi
}

# mode, the CSV files it must write, a pattern every codec row matches
check_mode() {
    local mode=$1 csvs=$2 rows=$3 log=$tmp/$1.log ok=1 f
    mkdir -p "$tmp/csv-$mode"
    "$bench" "${tiny[@]}" -o "$tmp/csv-$mode" "$mode" >"$log" 2>&1 || ok=0
    grep -q '^== ' "$log" || ok=0
    for f in $csvs; do
        [ "$(wc -l <"$tmp/csv-$mode/$f" 2>/dev/null || echo 0)" -ge 2 ] ||
            ok=0
    done
    if [ -n "$rows" ]; then
        grep -Eq "^lz4 +$rows" "$log" || ok=0
        grep -Eq "^zstd +$rows" "$log" || ok=0
    fi
    result $ok "cram-bench $mode" "$log"
    cp "$tmp/csv-$mode"/*.csv "$tmp/" 2>/dev/null
}

echo "1..7"
check_mode speed "speed.csv" "mixed "
check_mode latency "latency.csv" "[0-9]"
check_mode space "space.csv" "[0-9]+ "
check_mode churn "churn.csv churn-summary.csv" "(engine|compact) "
check_mode metadata "metadata.csv metadata-capacity.csv" ""

# A bad option fails with a message, not a crash.
if "$bench" --codec=nope speed >"$tmp/bad.log" 2>&1; then
    result 0 "cram-bench refuses an unknown codec" "$tmp/bad.log"
else
    grep -qi codec "$tmp/bad.log"
    result $((! $?)) "cram-bench refuses an unknown codec" "$tmp/bad.log"
fi

# The charts of docs/performance.md, from the tiny CSVs.
if command -v gnuplot >/dev/null; then
    ok=1
    bash "$here/plot.sh" "$tmp" "$tmp/png" >"$tmp/plot.log" 2>&1 || ok=0
    for p in speed latency churn metadata; do
        [ -s "$tmp/png/bench-$p.png" ] || ok=0
    done
    result $ok "bench/plot.sh draws the four charts" "$tmp/plot.log"
else
    echo "ok 7 - bench/plot.sh # SKIP gnuplot not installed"
fi
[ "$failed" -eq 0 ]
