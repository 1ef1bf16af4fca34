#!/bin/bash
# Result lines for the guest test scripts, sourced by guest-driver/test.sh,
# tools/cram-info/test.sh and others: "ok - ..." / "not ok - ..." lines that
# scripts/test.sh counts, the counters for a final summary line, and the
# figures of a scenario (v, q).
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

# why OUT: after a failed run-guest run, why it failed, from its output
# OUT: run-guest's reason and the console lines it shows, or the last
# lines the command printed; as TAP comments, so that the CI log says it.
why() {
    local from
    from=$(grep -n -m1 '^run-guest: ' "$1" 2>/dev/null | cut -d: -f1)
    if [ -n "$from" ]; then
        tail -n "+$from" "$1" | head -n 45
    else
        tail -n 15 "$1" 2>/dev/null
    fi | sed 's/^/#   /'
}

# lost_interrupt_retry STATUS OUT: after a run-guest run that ended with
# STATUS, its output in OUT.  When QEMU's TCG lost an interrupt (status
# 123: a vCPU halted for good, docs/guest.md), keep OUT as OUT.lost, say
# so in a '#' line and succeed: the caller boots the guest once more.
lost_interrupt_retry() {
    [ "$1" -eq 123 ] || return 1
    mv "$2" "$2.lost"
    echo "# $(sed -n 's/^run-guest: //p' "$2.lost" | head -n 1); ran again (first output: $2.lost)"
}

# v KEY: the value of KEY= in the scenario's output $RES ('' if none)
v() {
    sed -n "s|^$1=||p" "$RES" | tail -n 1
}

# q KEY: a figure of the device's QMP stats $JSON (run-guest --stats)
q() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
        "$JSON" "$1" 2>/dev/null
}

# qd DEV KEY: the same with several devices (run-guest --devices N)
qd() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]])' \
        "$JSON" "$1" "$2" 2>/dev/null
}
