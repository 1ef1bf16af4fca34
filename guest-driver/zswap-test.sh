#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# End-to-end tests of the private-node hooks and zswap direct nodes: our
# guest kernel (scripts/build-kernel.sh: Linux 6.12 + guest-driver/kernel/),
# cxl_cram.ko built against it with private_node=1, a guest with 384 MiB of
# RAM, a 1 GiB swap disk, zswap on, and cram-hog filling 384 MiB of
# anonymous memory (tools/cram-hog):
#   direct    compressible data: pages go straight to the cram node
#   fallback  incompressible data into 64 MiB of media: the verdicts
#             refuse, zswap falls back, nothing is dropped or poisoned
#   forced    verdicts forced off (force_accept=1), and 128 MiB of
#             incompressible data that cram-hog pages out itself
#             (MADV_PAGEOUT) into 64 MiB of media: the device drops writes
#             and poisons pages, the workload gets SIGBUS, the guest stays
#             up.  Only the workload's pages go out: under memory pressure,
#             init's or the scenario shell's pages would reach the device
#             after its media is gone too, and die of SIGBUS with it.
#   interleave  direct, on one region interleaved over two cxl-crams of
#             512 MiB (run-guest --devices 2 --interleave, 4 KiB granules):
#             verdicts and discards from both devices, data from both
#   interleave-bridges  the same across two host bridges (by hand)
# SCENARIO: one of those; by default all but interleave-bridges.
# CRAM_PROPS: more cxl-cram properties for every scenario (run-guest adds them).
# Usage: [CRAM_KERNEL_DEBUG=1] guest-driver/zswap-test.sh [SCENARIO]...
#        guest-driver/zswap-test.sh --stage: build and stage only, and print
#        how to boot the guest (scripts/scenario's "stage", docs/scenarios.md)
#        guest-driver/zswap-test.sh --kernel-src DIR [scenario]...
# --kernel-src DIR: your own kernel tree DIR with the series applied (for
# 7.2: guest-driver/kernel/linux-7.2/), built first (scripts/own-kernel.sh),
# instead of ours; logs zswap-<name of DIR>-<scenario>.*
# Prints "ok"/"not ok" lines and ends with "N passed, N failed, N skipped".
# Every scenario fails on a kernel report (KASAN, lockdep, WARN, BUG).
# Logs: build/test-logs/zswap-<scenario>.{out,console,json}
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
LOGS=$TOP/build/test-logs
# CRAM_KERNEL_DEBUG=1: the debug kernel (KASAN, lockdep), kept apart in
# build/*-debug, with logs zswap-debug-<scenario>.*
D=$([ "${CRAM_KERNEL_DEBUG:-0}" != 1 ] || echo -debug)
OWN='' SUF=$D   # SUF: the suffix of this kernel's outputs and logs
if [ "${1:-}" = --kernel-src ]; then
    OWN=${2:-}
    shift 2 || { echo "zswap-test: --kernel-src DIR" >&2; exit 2; }
    # own_kernel (in main) exports CRAM_KERNEL_TREE and GUEST_DIR
    SUF=${OWN%/}
    SUF=-${SUF##*/}
else
    export CRAM_KERNEL_TREE=${CRAM_KERNEL_TREE:-$TOP/build/kernel$D/obj}
    export GUEST_DIR=${GUEST_DIR:-$TOP/build/guest-cram$D}
fi
OUT=$TOP/build/guest-driver-cram$SUF
STAGE=$TOP/build/zswap-test$SUF
TAG=zswap$SUF
# The guest's RAM: the workloads are sized for what 384M leaves (about
# 367 MB of MemTotal).  The debug kernel takes about 92 MB more for
# itself (KASAN's shadow, lockdep), so it gets 480M.
MEM=384M
[ -z "$D" ] || MEM=480M
. "$TOP/scripts/tap.sh"
# shellcheck source=guest-driver/kreports.sh
. "$TOP/guest-driver/kreports.sh"   # check_reports

# scenario NAME PROPS [RUN-GUEST OPTION...]: boot our kernel and run NAME in it
scenario() {
    local name=$1 props=$2 rc
    shift 2
    RES=$LOGS/$TAG-$name.out
    JSON=$LOGS/$TAG-$name.json
    echo "== $TAG-$name"
    rm -f "$JSON"
    for try in 1 2; do
        "$TOP/scripts/run-guest" --cram-kernel --offline --mem "$MEM" --swap 1G \
            --props "$props" --append "mce=recovery log_buf_len=1M" \
            --timeout 900 "$@" \
            --add "$STAGE" --stats "$JSON" --log "$LOGS/$TAG-$name.console" \
            --cmd "sh /root/zswap-guest.sh $name" >"$RES" 2>&1
        rc=$?
        if [ "$try" = 2 ] || ! lost_interrupt_retry "$rc" "$RES"; then break; fi
    done
    check "$name: the guest command completed (status $rc)" "$rc" -eq 0
    [ "$rc" -eq 0 ] || why "$RES"
    check_reports "$name"
    return $rc
}

# Common checks: the node was private while loaded, and is gone after.
check_setup() {
    local n=$1
    check "$n: region's node $(v region.node) made private, memory onlined" \
        "$(v load)/$(v private_node)/$(v has_private_memory)/$(v iomem)" = \
        "0/$(v region.node)/$(v region.node)/1"
    check "$n: the private node is not an ordinary memory node (has_memory=$(v has_memory))" \
        "$(v has_memory)" = 0
    # Only zswap's direct pages are in use on the node: none of the
    # workload's own pages, though it needs more than the guest's RAM.
    # (The free-page count lags by the per-CPU vmstat deltas: 256 pages.)
    local used=$(v filled.node_inuse) direct=$(v filled.private_pages)
    check "$n: nothing but direct pages on the node ($used pages in use, $direct direct)" \
        "$used" -le $((direct + 256))
}

# After the workload exits, its entries are freed and their device pages
# discarded; what zswap still holds belongs to other tasks (the initramfs
# is in tmpfs), and swapoff brings that back too.
check_teardown() {
    local n=$1 held=$(($(v after.direct_pages) * 4096))
    # kswapd still moves other tasks' pages while the two are read: 64 pages
    local drv=$(v after.private_pages) zs=$(v after.direct_pages)
    check "$n: driver and zswap agree on the pages held ($drv, $zs)" \
        $((drv > zs ? drv - zs : zs - drv)) -le 64
    local used="$(v filled.media_used) -> $(v after.media_used), others' pages $held B"
    check "$n: workload's pages discarded on exit (media used $used)" \
        "$(v after.media_used)" -le $((held + 65536))
    check "$n: swapoff: no direct page left, no page held on the device" \
        "$(v swapoff)/$(v drained.direct_pages)/$(v drained.private_pages)" = 0/0/0
    used="$(v drained.media_used) <= $(v before.media_used) + 64 KiB"
    check "$n: media used back to baseline ($used)" \
        "$(v drained.media_used)" -le $(($(v before.media_used) + 65536))
    check "$n: unload offlines and unregisters the node" \
        "$(v unload)/$(v unloaded.has_private_memory)/$(v unloaded.iomem)" = 0//0
}

# What every direct scenario shows: the API's contract on the live node,
# pages stored there and loaded back without a refusal, and the data intact.
check_direct() {
    local n=$1
    check "$n: the private-node API holds its contract ($(v contract.ok) checks)" \
        "$(v contract.load)/$(v contract.not_ok)/$(v contract.ok)" = 0/0/13
    check "$n: pages stored on the cram node ($(v filled.direct_stores) direct stores)" \
        "$(v filled.direct_stores)" -gt 1000
    check "$n: no verdict refused, no fallback" \
        "$(v filled.direct_refusals)/$(v filled.direct_fallbacks)" = 0/0
    check "$n: loads came back from the node ($(v after.direct_loads))" \
        "$(v after.direct_loads)" -gt 1000
    check "$n: the workload verified every page by checksum" \
        "$(v hog.rc)/$(v hog.mismatched)/$(v hog.verified)" = "0/0/$(v hog.pages)"
}

test_direct() {
    scenario direct capacity=1G,media-size=128M || return
    check_setup direct
    check_direct direct
    check "direct: device ratio above 2 ($(v filled.ratio_fp16)/65536)" \
        "$(v filled.ratio_fp16)" -gt 131072
    check "direct: no dropped write, no poison" \
        "$(q dropped-writes)/$(q poisoned-pages)" = 0/0
    check_teardown direct
}

test_fallback() {
    scenario fallback capacity=1G,media-size=64M || return
    check_setup fallback
    check "fallback: some pages went to the node first ($(v filled.direct_stores))" \
        "$(v filled.direct_stores)" -gt 0
    check "fallback: NO_ALLOC set, danger interrupt handled (status $(v filled.status))" \
        "$(($(v filled.status) & 4))/$(($(v filled.irqs_danger) >= 1))" = 4/1
    local n="$(v filled.direct_refusals) refusals, $(v filled.direct_fallbacks) fallbacks"
    check "fallback: verdicts refused, zswap fell back ($n)" \
        "$(($(v filled.direct_refusals) > 0 && $(v filled.direct_fallbacks) > 0))" = 1
    check "fallback: the device dropped nothing and holds no poison" \
        "$(q dropped-writes)/$(q poisoned-pages)" = 0/0
    check "fallback: the workload's data is intact" \
        "$(v hog.rc)/$(v hog.mismatched)/$(v hog.verified)" = "0/0/$(v hog.pages)"
    check_teardown fallback
}

test_forced() {
    scenario forced capacity=1G,media-size=64M || return
    check_setup forced
    local out=$(v hog.paged_out) filled=$(v hog.filled)
    check "forced: the workload paged itself out (${out:-no} of ${filled:-no} pages)" \
        "${out:-0}" -gt $((${filled:-0} / 2))
    check "forced: the device dropped writes ($(v poisoned.dropped_writes))" \
        "$(v poisoned.dropped_writes)" -gt 0
    check "forced: zswap's MC-safe loads hit poison ($(v poisoned.direct_load_failures))" \
        "$(v poisoned.direct_load_failures)" -gt 0
    local logged="zswap $(v dmesg.zswap_poisoned), memory failure $(v dmesg.memory_failure)"
    check "forced: the kernel logged it ($logged)" \
        "$(v dmesg.zswap_poisoned)" -gt 0
    check "forced: the workload got SIGBUS (exit status $(v hog.rc))" "$(v hog.rc)" = 135
    check "forced: the guest stayed up" "$(v alive)" = yes
    check_teardown forced
}

# test_interleave NAME OPTION: a 2-way region (run-guest OPTION: across
# root ports or host bridges), one private node, each page's verdict and
# discard from the device that holds it
test_interleave() {
    local n=$1 d pos m at ok no held ratio disc err was now
    scenario "$n" capacity=512M,media-size=128M --devices 2 "$2" || return
    check_setup "$n"
    # the driver's positions against cxl_core's order (the region's targets)
    for d in 0 1; do
        pos=$(v before.cram$d.interleave) m=$(v before.cram$d.memdev)
        at=$(v "region.target${pos##*,}")
        check "$n: cram$d ($m) at position ${pos##*,}, where cxl_core has $at" \
            "${pos%,*}/$at" = "2,4096/$m"
    done
    check "$n: both devices give the region's range ($(v before.cram0.hpa_range))" \
        "$(v before.cram1.hpa_range)" = "$(v before.cram0.hpa_range)"
    d=$(v before.cram1.private_node)
    check "$n: one private node over both (cram1: $d)" "$d" = "$(v region.node)"
    check_direct "$n"
    for d in 0 1; do
        ok=$(v filled.cram$d.verdicts_accepted) no=$(v filled.cram$d.verdicts_refused)
        check "$n: cram$d gave verdicts ($ok accepted, $no refused)" \
            "$((ok > 500))/$no" = 1/0
        held=$(v filled.cram$d.logical_held) ratio=$(v filled.cram$d.ratio_fp16)
        check "$n: cram$d holds its share ($held B, ratio $ratio/65536)" \
            "$((held > 4 << 20 && ratio > 131072))" = 1
        disc=$(v drained.cram$d.discards_done) err=$(v drained.cram$d.discard_errors)
        check "$n: cram$d discarded its pages ($disc discards, $err errors)" \
            "$((disc > 500))/$err" = 1/0
        was=$(v before.cram$d.media_used) now=$(v drained.cram$d.media_used)
        check "$n: cram$d media back to baseline ($was -> $now)" \
            "$now" -le $((was + 65536))
        check "$n: cram$d dropped nothing, holds no poison" \
            "$(qd cram$d dropped-writes)/$(qd cram$d poisoned-pages)" = 0/0
    done
    check_teardown "$n"
}

# Build the kernel, the driver and cram-hog, and stage the guest's files.
build_stage() {
    if [ -n "$OWN" ]; then
        # shellcheck source=scripts/own-kernel.sh
        . "$TOP/scripts/own-kernel.sh"
        own_kernel "$OWN" >"$LOGS/$TAG-kernel.log" 2>&1
        check "your kernel $OWN builds (log: build/test-logs/$TAG-kernel.log)" $? -eq 0
    else
        bash "$TOP/scripts/build-kernel.sh" >"$LOGS/$TAG-kernel.log" 2>&1
        check "guest kernel with the series builds (log: build/test-logs/$TAG-kernel.log)" $? -eq 0
    fi
    CRAM_DRIVER_OUT=$OUT bash "$TOP/guest-driver/build.sh" >"$LOGS/$TAG-build.log" 2>&1
    check "cxl_cram.ko builds against it with the hooks" \
        "$(grep -c cram_private "$OUT/cxl_cram.mod" 2>/dev/null)" -gt 0
    gcc -static -O2 -Wall -Werror -o "$STAGE/root/cram-hog" \
        "$TOP/tools/cram-hog/cram-hog.c" >>"$LOGS/$TAG-build.log" 2>&1
    check "cram-hog builds" $? -eq 0
    [ "$failed" -eq 0 ] || return 1
    cp "$OUT/cxl_cram.ko" "$OUT/node_private_test.ko" \
        "$TOP/guest-driver/zswap-guest.sh" "$TOP/guest-driver/kreports.sh" "$STAGE/root/"
}

# --stage: build and stage only, then say how to boot the scenarios'
# guest, for scripts/scenario's "stage" directive (docs/scenarios.md)
stage_only() {
    build_stage >&2 || exit 1
    echo "add $STAGE"
    echo "env CRAM_KERNEL_TREE=$CRAM_KERNEL_TREE"
    echo "env GUEST_DIR=$GUEST_DIR"
    echo "boot --cram-kernel --offline --mem $MEM --swap 1G --append 'mce=recovery log_buf_len=1M'"
    exit 0
}

main() {
    mkdir -p "$LOGS" "$STAGE/root"
    [ "${1:-}" != --stage ] || stage_only
    if ! build_stage; then
        echo "$passed passed, $failed failed, $skipped skipped"
        exit 1
    fi
    local t tests=("$@")
    [ ${#tests[@]} -gt 0 ] || tests=(direct fallback forced interleave)
    for t in "${tests[@]}"; do
        case $t in
        direct | fallback | forced) "test_$t" ;;
        interleave) test_interleave interleave --interleave ;;
        interleave-bridges) test_interleave interleave-bridges --interleave-bridges ;;
        *) not_ok "no scenario $t" ;;
        esac
    done
    echo "$passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
}

main "$@"
