#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Concurrency: cram-stress (tools/cram-stress) in a guest with 4 vCPUs under
# multi-threaded TCG (-accel tcg,thread=multi), writing and reading a
# device-dax mapping of cxl-cram (kmem not loaded, so nothing else touches
# the device) from 4 pinned threads while the device's cache evicts and its
# worker compresses.  Then checks:
#  - MTTCG: query-cpus-fast gives each vCPU a host thread of its own, and
#    each of those threads ran guest code (CPU time from /proc);
#  - every page holds what was written last (0 mismatches);
#  - after CACHE_FLUSH, the device's accounting is exact: cache-dirty,
#    media-reserved, dropped-writes, poison 0; logical-held and media-used
#    consistent; registers equal QMP; every page class count equals what
#    the workload left (zero, same-filled, compressed, raw pages).
# Usage: tools/cram-stress/test.sh
#   CRAM_STRESS_SEED: the workload's seed (default random, printed)
#   CRAM_STRESS_ARGS: its options (default below); CRAM_STRESS_PROPS: more
#   cxl-cram properties, e.g. cache-size=1M
# Prints "ok"/"not ok" lines and ends with "N passed, N failed, N skipped".
# Logs: build/test-logs/cram-stress.{out,console,json,mttcg}
set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$TOP/build/cram-stress
LOGS=$TOP/build/test-logs
SEED=${CRAM_STRESS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
# 6144 owned + 512 shared pages: 26 MiB, over 3 times the 8 MiB cache
ARGS=${CRAM_STRESS_ARGS:--t 4 -o 6144 -s 512 -r 4}
# shellcheck source=scripts/tap.sh
. "$TOP/scripts/tap.sh"

finish() {
    echo "$passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
    exit
}

# The vCPU threads of the QEMU behind QMP socket $1: connects as soon as it
# exists, asks query-cpus-fast, lets go of the socket (run-guest needs it
# for --stats), then follows each thread's CPU time until QEMU ends.
watch_vcpus() {
    python3 - "$TOP/scripts" "$1" <<'EOF'
import os, sys, time
sys.path.insert(0, sys.argv.pop(1))
from qmp_client import Qmp
qmp = Qmp(sys.argv[1])
tids = [c["thread-id"] for c in qmp.call("query-cpus-fast")]
qmp.close()
tick = os.sysconf("SC_CLK_TCK")
cpu = {}
while True:
    alive = False
    for t in set(tids):
        try:
            st = open("/proc/%d/task/%d/stat" % (t, t)).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        alive = True
        cpu[t] = (int(st[11]) + int(st[12])) / tick    # utime + stime
    if not alive:
        break
    time.sleep(0.2)
print("mttcg.vcpus=%d" % len(tids))
print("mttcg.threads=%d" % len(set(tids)))
print("mttcg.cpu_seconds=%s" % ",".join("%.1f" % cpu.get(t, 0) for t in tids))
EOF
}

main() {
    local status qmp watcher cpus k bad owned shared

    mkdir -p "$LOGS" "$OUT/root/root"
    RES=$LOGS/cram-stress.out
    JSON=$LOGS/cram-stress.json
    rm -f "$RES" "$JSON"
    rm -f "$OUT/root/root/cram-stress"
    gcc -static -O2 -Wall -Wextra -Werror -pthread -o "$OUT/root/root/cram-stress" \
        "$TOP/tools/cram-stress/cram-stress.c" >"$LOGS/cram-stress-build.log" 2>&1
    check "cram-stress builds static (log: build/test-logs/cram-stress-build.log)" $? -eq 0
    [ -x "$OUT/root/root/cram-stress" ] || finish

    for try in 1 2; do
        qmp=$(mktemp -u "${TMPDIR:-/tmp}/cram-stress-qmp.XXXXXX")
        watch_vcpus "$qmp" >"$LOGS/cram-stress.mttcg" 2>&1 &
        watcher=$!
        echo "== cram-stress: seed $SEED, $ARGS"
        # cram.nomod=kmem: dax0.0 stays a device-dax, to be enabled by daxctl
        GUEST_TCG_OPTS=thread=multi "$TOP/scripts/run-guest" --smp 4 --timeout 600 \
            --append cram.nomod=kmem --add "$OUT/root" --qmp "$qmp" --stats "$JSON" \
            --log "$LOGS/cram-stress.console" ${CRAM_STRESS_PROPS:+--props "$CRAM_STRESS_PROPS"} \
            --cmd "cram-region && daxctl reconfigure-device -m devdax -f dax0.0 &&
                   echo guest.cpus=\$(nproc) && /root/cram-stress -f -S $SEED $ARGS" \
            >"$RES" 2>&1
        status=$?
        wait "$watcher"
        rm -f "$qmp"
        if [ "$try" = 2 ] || ! lost_interrupt_retry "$status" "$RES"; then break; fi
    done
    check "the guest command completed (status $status; log: build/test-logs/cram-stress.out)" \
        "$status" -eq 0
    [ "$status" -eq 0 ] || why "$RES"

    # MTTCG is on: one host thread per vCPU, each of which ran
    cpus=$(sed -n 's/^mttcg.cpu_seconds=//p' "$LOGS/cram-stress.mttcg")
    check "MTTCG: 4 vCPUs on 4 host threads (query-cpus-fast)" \
        "$(sed -n 's/^mttcg.vcpus=//p; s/^mttcg.threads=//p' "$LOGS/cram-stress.mttcg" |
           paste -sd/)" = 4/4
    check "MTTCG: every vCPU thread ran guest code (CPU s: $cpus)" \
        "$(tr , '\n' <<<"$cpus" | awk '$1 > 0.5 {n++} END {print n + 0}')" = 4
    check "the guest has 4 CPUs; the 4 threads ended on CPUs $(v stress.cpus)" \
        "$(v guest.cpus)/$(v stress.cpus | tr , '\n' | sort -u | wc -l)" = 4/4

    # data
    owned=$(v stress.owned_pages)
    shared=$(v stress.shared_pages)
    check "every page verified: $(v stress.verified) of $owned owned + $shared shared, $(v stress.mismatched) mismatched" \
        "$(v stress.mismatched)/$(v stress.verified)" = "0/$((owned + shared))"
    check "no mismatch in $(v stress.read_checks) read-backs during the rounds" \
        "$(v stress.early_mismatched)" = 0
    [ -s "$JSON" ] || { not_ok "no QMP stats"; finish; }

    # concurrency with the cache worker
    check "the cache evicted: $(q cache-misses) misses for $(q cache-pages) cache pages" \
        "$(q cache-misses)" -gt "$(q cache-pages)"
    check "the worker stored $(q writebacks-async) pages while vCPUs wrote ($(q writebacks-sync) by vCPUs)" \
        "$(q writebacks-async)" -gt 0

    # accounting, after CACHE_FLUSH
    for k in cache-dirty media-reserved dropped-writes poisoned-pages poisoned-reads \
        machine-checks; do
        check "$k is 0" "$(q "$k")" = 0
    done
    check "logical-held = 4096 x (same + compressed + raw)" "$(q logical-held)" = \
        $((4096 * ($(q pages-same) + $(q pages-compressed) + $(q pages-raw))))
    check "media-free = media-size - media-used, media-used in whole pages" \
        "$(q media-free)/$(($(q media-used) % 4096))" = "$(($(q media-size) - $(q media-used)))/0"
    check "raw + compressed objects ($(q stored-bytes) bytes) <= media-used ($(q media-used))" \
        "$(q stored-bytes)" -le "$(q media-used)"
    check "stored-bytes within 4096 x raw + [1, 3840] x compressed" \
        "$(python3 -c 'import sys; s, r, c = map(int, sys.argv[1:])
print(4096 * r + c <= s <= 4096 * r + 3840 * c)' \
            "$(q stored-bytes)" "$(q pages-raw)" "$(q pages-compressed)")" = True
    bad=''
    for k in media_used logical_held stored_bytes pages_zero pages_same \
        pages_compressed pages_raw dropped_writes poisoned_pages cache_dirty; do
        [ "$(v "reg.$k")" = "$(q "${k//_/-}")" ] || bad+=" $k"
    done
    check "the registers read in the guest after the flush equal QMP${bad:+:$bad}" -z "$bad"

    # the figures are what the workload left
    for k in zero same compressed raw; do
        check "pages-$k $(q "pages-$k") = the workload's $k pages $(v "expect.$k")" \
            "$(q "pages-$k")" = "$(v "expect.$k")"
    done
    check "logical-held $(q logical-held) = the workload's non-zero pages x 4096" \
        "$(q logical-held)" = "$(v expect.logical_held)"
    check "every page written is held: zero + same + compressed + raw = $((owned + shared))" \
        $(($(q pages-zero) + $(q pages-same) + $(q pages-compressed) + $(q pages-raw))) \
        = $((owned + shared))
    echo "# seed $SEED: $(v stress.seconds) s in the guest, $(v stress.small_stores) small stores, $(v stress.page_copies) page copies, ratio $(q ratio)"
    finish
}

main "$@"
