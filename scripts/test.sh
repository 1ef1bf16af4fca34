#!/bin/bash
# The test command: build everything, run every test, and end with one
# summary line "N passed, N failed".
#  - engine unit tests (top-level meson.build, no QEMU);
#  - qtests against qemu-system-x86_64 with cxl-cram.
# Each test binary speaks TAP; every "ok"/"not ok" line counts, and a
# binary that dies without reporting counts as one failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

bash "$here/build-qemu.sh" || { echo "0 passed, 1 failed"; exit 1; }
bash "$here/build-engine.sh" || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
logdir=$CRAM_BUILD/test-logs
mkdir -p "$logdir"

# run_tap NAME TIMEOUT CMD...: run one TAP producer and count its results.
run_tap() {
    local name=$1 limit=$2 log=$logdir/$1.log rc ok bad
    shift 2
    echo "== $name"
    timeout "$limit" "$@" --tap -k >"$log" 2>&1
    rc=$?
    ok=$(grep -c '^ok ' "$log")
    bad=$(grep -c '^not ok ' "$log")
    grep -E '^(ok|not ok|# [^s])' "$log" | sed 's/^/   /'
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        echo "   $name exited with status $rc (log: $log)"
        tail -n 5 "$log" | sed 's/^/   | /'
        bad=1
    fi
    passed=$((passed + ok))
    failed=$((failed + bad))
}

for t in "$CRAM_BUILD"/engine/test-*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    run_tap "engine-$(basename "$t")" 600 "$t"
done

export QTEST_QEMU_BINARY=$CRAM_BUILD/qemu/qemu-system-x86_64
run_tap qtest-cxl-cram 1200 "$CRAM_BUILD/qemu/tests/qtest/cxl-cram-test"
# Again with the synchronous one-page buffer instead of the cache.
CRAM_QTEST_PROPS=cache-size=0 run_tap qtest-cxl-cram-nocache 1200 \
    "$CRAM_BUILD/qemu/tests/qtest/cxl-cram-test"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
