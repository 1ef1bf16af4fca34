#!/bin/bash
# Result lines for the guest test scripts, sourced by guest-driver/test.sh
# and tools/cram-info/test.sh: "ok - ..." / "not ok - ..." lines that
# scripts/test.sh counts, and the counters for a final summary line.
# shellcheck disable=SC2034
passed=0
failed=0
skipped=0

ok() {
    passed=$((passed + 1))
    echo "ok - $*"
}

not_ok() {
    failed=$((failed + 1))
    echo "not ok - $*"
}

skip() {
    skipped=$((skipped + 1))
    echo "ok - $* # SKIP"
}

# check DESCRIPTION TEST...: one result from a test(1) expression
check() {
    local what=$1
    shift
    if [ "$@" ] 2>/dev/null; then ok "$what"; else not_ok "$what ($*)"; fi
}
