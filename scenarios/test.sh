#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Tests of scripts/scenario (docs/scenarios.md), in `make test`:
#   scenarios/test.sh             the runner's own test, on Debian's kernel
#                                 and no driver: a scenario that passes,
#                                 checked part by part, one that must
#                                 fail, and files that cannot be read
#   scenarios/test.sh NAME...     run scenarios/NAME.scn (CRAM_KERNEL_DEBUG=1:
#                                 on the debug kernel, as in `make test`)
# Prints "ok"/"not ok" lines and ends with "N passed, N failed, N skipped".
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/scripts/env.sh"
. "$TOP/scripts/tap.sh"
RUN=$TOP/scripts/scenario
OUT=$CRAM_BUILD/scenario-test
LOGS=$CRAM_BUILD/test-logs
mkdir -p "$LOGS"

# run LOG FILE...: the runner on FILEs, its output in $LOGS/LOG; sets RC
run() {
    local log=$LOGS/$1
    shift
    "$RUN" --out "$OUT" "$@" >"$log" 2>&1
    RC=$?
}

# col NAME: the column of NAME in steer's samples.csv
col() {
    head -n 1 "$OUT/steer/samples.csv" | tr ',' '\n' | grep -nx "$1" | cut -d: -f1
}

test_steer() {
    local log=$LOGS/scenario-steer.log s=$OUT/steer n
    run scenario-steer.log "$TOP/scenarios/test/steer.scn"
    check "steer: the runner passes it ($(tail -n 1 "$log"))" "$RC" -eq 0
    [ "$RC" -eq 0 ] || grep -E '^(not ok|#)' "$log" | head -n 20 | sed 's/^/# /'
    n=$(grep -c '^ok ' "$log")
    check "steer: every expectation reported ($n ok lines)" "$n" -eq 14
    check "steer: samples have both device and guest columns" \
        "$(col cram0.media-taken | wc -l)/$(col guest.seq | wc -l)" = 1/1
    check "steer: the four steps logged with their result" \
        "$(grep -c ',"{.*""result"": ""ok""' "$s/commands.csv")" -eq 4
    # 1 GiB of capacity in 16 buckets, each of 16384 pages, none written
    n=$(cat "$s"/pages-cram0-*.csv 2>/dev/null | awk -F, 'NR > 1 { b++; p += $2; e += $3 } END { print b "/" p "/" e }')
    check "steer: the pages step's buckets cover the capacity ($n)" "$n" = 16/262144/262144
    check "steer: the pages chart was drawn" \
        "$(stat -c %s "$s"/pages-cram0-*.png 2>/dev/null || echo 0)" -gt 10000
    check "steer: the events were recorded" \
        "$(grep -c CXL_CRAM_WATERMARK "$s/events.csv")" -ge 2
    check "steer: the timeline chart was drawn" "$(stat -c %s "$s/timeline.png" 2>/dev/null || echo 0)" -gt 10000
}

test_fails() {
    local log=$LOGS/scenario-fails.log
    run scenario-fails.log "$TOP/scenarios/test/fails.scn"
    check "fails: the runner fails it (status $RC)" "$RC" -eq 1
    check "fails: the bad step is reported" \
        "$(grep -c '^not ok - fails: timeline: .*error' "$log")" -eq 1
    check "fails: both false expectations are reported" \
        "$(grep -cE '^not ok - fails: (ever media-taken|event CXL_CRAM_NO_ALLOC)' "$log")" -eq 2
    check "fails: a figure with no value, and an unknown event, fail too" \
        "$(grep -cE '^not ok - fails: (never cram0.media-usde > 0: column .* has no value|no-event: QEMU has no event CXL_CRAM_NO_SUCH_EVENT)' "$log")" -eq 2
    check "fails: the true one passes" \
        "$(grep -c '^ok - fails: guest command exit == 0' "$log")" -eq 1
    check "fails: the summary counts them" "$(tail -n 1 "$log")" = "2 passed, 5 failed"
}

test_unreadable() {
    local bad=$OUT/bad.scn log=$LOGS/scenario-unreadable.log
    mkdir -p "$OUT"
    printf 'boot --props capacity=1G\nguest true\nat 1 cxl-cram-set low\n' >"$bad"
    run scenario-unreadable.log "$bad" "$OUT/missing.scn"
    check "unreadable: a bad step and a missing file, each one failure" \
        "$RC/$(grep -c '^not ok - .*cannot be read' "$log")" = 1/2
    check "unreadable: the error names the line" \
        "$(grep -c 'bad.scn:3: argument .low. is not NAME=VALUE' "$log")" -eq 1
}

if [ $# -eq 0 ]; then
    test_unreadable
    test_steer
    test_fails
else
    for t in "$@"; do
        "$RUN" "$TOP/scenarios/$t.scn" >"$LOGS/scenario-$t.log" 2>&1
        rc=$?
        grep -v '^[0-9]* passed, [0-9]* failed$' "$LOGS/scenario-$t.log"
        passed=$((passed + $(grep -c '^ok ' "$LOGS/scenario-$t.log")))
        failed=$((failed + $(grep -c '^not ok ' "$LOGS/scenario-$t.log")))
        # a runner that died, or a scenario that checked nothing
        check "$t: the runner ended with its summary (status $rc)" \
            "$(tail -n 1 "$LOGS/scenario-$t.log" | grep -c ' passed, ')/$((rc > 1))" = 1/0
    done
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
