#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# End-to-end tests of cram-info in the test guest (scripts/run-guest):
#   basic   one cxl-cram found, with and without the driver; ram size; the
#           driver's figures (media used, ratio, ...) equal the host's QMP
#           stats after a flush; -p with no poison; -m nonexistent fails
#   poison  media-size=64M, reckless self-test with retire: the poison
#           records of -p (Get Poison List) cover the poisoned pages
# Usage: tools/cram-info/test.sh [basic|poison]...
# Prints "ok"/"not ok" lines and ends with "N passed, N failed".
# Logs: build/test-logs/cram-info-<scenario>.{out,console,json}
set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$TOP/build/cram-info
LOGS=$TOP/build/test-logs
STAGE=$OUT/guest-root
. "$TOP/scripts/tap.sh"

# sec NAME: the output of the guest's cram-info run NAME
sec() {
    awk -v n="$1" '$0 ~ "^--- end " n " rc=" {p = 0} p; $0 == "--- begin " n {p = 1}' "$RES"
}

# rc NAME: its exit status
rc() {
    sed -n "s/^--- end $1 rc=//p" "$RES"
}

# py NAME EXPR: EXPR evaluated with c = the JSON output of run NAME and
# q = the QMP stats; prints "error: ..." when either does not parse
py() {
    sec "$1" | python3 -c '
import json, sys
try:
    c = json.load(sys.stdin)
    q = json.load(open(sys.argv[1]))
except Exception as e:
    print("error:", e)
    sys.exit(0)

def ratio(x):
    # the driver prints RATIO (16.16) with two decimals, rounded
    r = round(x * 65536)
    w, h = r >> 16, ((r & 0xffff) * 100 + 0x8000) >> 16
    return "%d.%02d" % (w + (h == 100), 0 if h == 100 else h)

print(eval(sys.argv[2]))' "$JSON" "$2"
}

# scenario NAME RUN-GUEST-OPTIONS...: boot the guest and run NAME in it
scenario() {
    local name=$1 status
    shift
    RES=$LOGS/cram-info-$name.out
    JSON=$LOGS/cram-info-$name.json
    echo "== cram-info-$name"
    rm -f "$JSON"
    for try in 1 2; do
        "$TOP/scripts/run-guest" --timeout 600 --add "$STAGE" --stats "$JSON" \
            --log "$LOGS/cram-info-$name.console" "$@" \
            --cmd "sh /root/guest-test.sh $name" >"$RES" 2>&1
        status=$?
        if [ "$try" = 2 ] || ! lost_interrupt_retry "$status" "$RES"; then break; fi
    done
    check "$name: the guest command completed (status $status)" "$status" -eq 0
    [ "$status" -eq 0 ] || why "$RES"
    return $status
}

test_basic() {
    local n bad
    scenario basic || return
    check "without the driver: one cxl-cram, driver null, exit 0" \
        "$(py nodriver '[(m["memdev"], m["driver"]) for m in c]')/$(rc nodriver)" = \
        "[('mem0', None)]/0"
    n=$(sec text | grep -c '^mem[0-9]')
    check "text: exactly one cxl-cram memdev, exit 0" "$n/$(rc text)" = 1/0
    check "json: exactly one cxl-cram memdev (mem0, driver cram0), exit 0" \
        "$(py json '[(m["memdev"], m["driver"]) for m in c]')/$(rc json)" = \
        "[('mem0', 'cram0')]/0"
    check "ram size 8589934592 (libcxl)" "$(py json 'c[0]["ram_size"]')" = 8589934592
    check "host is a PCI BDF" "$(py json 'c[0]["host"]')" != "" -a \
        "$(sec text | sed -n 's/^  host  *\([0-9a-f:.]*\) (1b36:00cc)$/x/p')" = x
    check "media_used equals QMP media-used ($(py json 'q["media-used"]') bytes)" \
        "$(py json 'c[0]["media_used"] == q["media-used"] > 0')" = True
    check "ratio equals QMP ratio ($(py json 'ratio(q["ratio"])'))" \
        "$(sec text | sed -n 's/^  ratio  *//p')" = "$(py json 'ratio(q["ratio"])')"
    check "json ratio equals QMP ratio" \
        "$(py json 'abs(c[0]["ratio"] - float(ratio(q["ratio"]))) < 1e-9')" = True
    bad=$(py json '" ".join(k for k, v in [
        ("media_size", "media-size"), ("media_free", "media-free"),
        ("logical_capacity", "capacity"), ("logical_held", "logical-held"),
        ("low_watermark", "wm-low"), ("high_watermark", "wm-high"),
        ("dropped_writes", "dropped-writes"), ("poisoned_pages", "poisoned-pages"),
        ("poisoned_reads", "poisoned-reads"), ("machine_checks", "machine-checks"),
        ("status", "status")] if c[0][k] != q[v])')
    check "10 more figures and status equal QMP${bad:+: $bad}" -z "$bad"
    check "-p: no poison records, exit 0" \
        "$(py poison '(c[0]["poison_records"], c[0]["poison_incomplete"])')/$(rc poison)" = \
        "([], False)/0"
    check "-m nonexistent: exit status $(rc nonexistent), non-zero" "$(rc nonexistent)" -ne 0
    check "-m nonexistent: a clear error ($(sec nonexistent))" \
        "$(sec nonexistent)" = "cram-info: no CXL memdev named 'nonexistent'"
}

test_poison() {
    local pages
    scenario poison --props media-size=64M || return
    pages=$(py json 'q["poisoned-pages"]')
    check "the self-test left poisoned pages on the device ($pages)" "$pages" -gt 0
    check "poisoned_pages, dropped_writes equal QMP, exit 0" \
        "$(py json '(c[0]["poisoned_pages"], c[0]["dropped_writes"]) == (q["poisoned-pages"], q["dropped-writes"])')/$(rc json)" = \
        True/0
    check "-p: poison records ($(py json 'len(c[0]["poison_records"])')) cover exactly the poisoned pages" \
        "$(py json 'sum(r["length"] for r in c[0]["poison_records"]) // 4096')" = "$pages"
    check "-p: the records equal cxl list --media-errors" \
        "$(py json '[(r["dpa"], r["length"]) for r in c[0]["poison_records"]]')" = \
        "$(py cxl '[(r["offset"], r["length"]) for r in c[0]["media_errors"]]')"
    check "text: status shows poison, poison_records line" \
        "$(sec text | grep -c -e '^  status .* poison' -e '^  poison_records  *[1-9]')" = 2
}

main() {
    mkdir -p "$LOGS" "$STAGE/usr/local/bin" "$STAGE/root"
    bash "$TOP/tools/cram-info/build.sh" >"$LOGS/cram-info-build.log" 2>&1
    check "cram-info builds against trixie's libcxl (log: build/test-logs/cram-info-build.log)" \
        $? -eq 0
    bash "$TOP/guest-driver/build.sh" >"$LOGS/cram-info-driver-build.log" 2>&1
    check "cxl_cram.ko builds" $? -eq 0
    if [ ! -x "$OUT/cram-info" ] || [ ! -f "$TOP/build/guest-driver/cxl_cram.ko" ]; then
        echo "$passed passed, $failed failed"
        exit 1
    fi
    cp "$OUT/cram-info" "$STAGE/usr/local/bin/"
    cp "$TOP/build/guest-driver/cxl_cram.ko" "$TOP/tools/cram-info/guest-test.sh" "$STAGE/root/"
    local t tests=("$@")
    [ ${#tests[@]} -gt 0 ] || tests=(basic poison)
    for t in "${tests[@]}"; do
        case $t in
        basic | poison) "test_$t" ;;
        *) not_ok "no scenario $t" ;;
        esac
    done
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

main "$@"
