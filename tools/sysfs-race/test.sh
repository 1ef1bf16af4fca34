#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Regression test of 3d6fac4 in a guest: the private_node and private_pages
# sysfs attributes of cxl_cram read cd->priv while cram_private_detach()
# (here: cxl_pci unbind, with private_node=1) clears and frees it.  The race
# window is a few instructions; tools/sysfs-race/sysfs_race.ko makes it
# certain: a hardware breakpoint after the load of cd->priv holds each
# reader with its pointer across the detach (see the module's comment).
# Our debug kernel (KASAN, lockdep: CRAM_KERNEL_DEBUG=1 scripts/build-kernel.sh,
# which this script does not run), 2 vCPUs: the readers on CPU 0, unbind on
# CPU 1 (tools/sysfs-race/sysfs-race-guest.sh).
# With the driver since 3d6fac4 the readers see the node or -1 and KASAN
# stays quiet; with the one before, KASAN reports a use after free in
# cram_private_node (and cram_private_pages).
# Usage: tools/sysfs-race/test.sh [--rev REV]
#   --rev REV  test the driver of commit REV (e.g. 3d6fac4^) instead of
#              the work tree's guest-driver/
# Prints "ok"/"not ok" lines and ends with "N passed, N failed, N skipped".
# Logs: build/test-logs/sysfs-race[-rev].{out,console,build.log}
set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
LOGS=$TOP/build/test-logs
OUT=$TOP/build/sysfs-race
export CRAM_KERNEL_TREE=${CRAM_KERNEL_TREE:-$TOP/build/kernel-debug/obj}
export GUEST_DIR=${GUEST_DIR:-$TOP/build/guest-cram-debug}
. "$TOP/scripts/tap.sh"
# shellcheck source=guest-driver/kreports.sh
. "$TOP/guest-driver/kreports.sh"   # check_reports

# probe_point KO SYMBOL: "OFFSET DISP" of the instruction after the first
# 64-bit load from a register base, "mov DISP(%rXX),%rYY", in SYMBOL.
# In cram_private_node and cram_private_pages that first load is the one of
# cd->priv (the old code and the new one alike: the function starts with
# it, or with rcu_read_lock(), whose loads are %rip-relative or %gs); the
# caller checks that both functions agree on DISP, and sysfs_race.ko checks
# the instruction bytes against offsetof(struct cram_dev, priv) from cram.h
# before it arms a breakpoint.  No debug info: our kernel has none
# (CONFIG_DEBUG_INFO_NONE), so the modules have none either.
probe_point() {
    local line start next disp
    line=$(objdump -d --no-show-raw-insn "$1" | awk -v f="<$2>:" '
        $2 == f { p = 1; start = $1; next }
        p && NF == 0 { exit }
        p && want { sub(":", "", $1); print start, $1, disp; exit }
        p && $2 == "mov" && $3 ~ /^0x[0-9a-f]+\(%r[a-z0-9]+\),%r([a-z][a-z]|[0-9]+)$/ &&
            $3 !~ /\(%r(ip|sp)\)/ { want = 1; disp = $3; sub(/\(.*/, "", disp) }')
    read -r start next disp <<<"$line"
    [ -n "$disp" ] || return 1
    echo "$((0x$next - 0x$start)) $((disp))"
}

build() {
    local drv_src=$1 stage=$OUT/src
    mkdir -p "$stage" "$OUT/root/root"
    # the probe module, with the driver's cram.h for offsetof(struct cram_dev, priv)
    cp "$TOP/tools/sysfs-race/Kbuild" "$TOP/tools/sysfs-race/sysfs_race.c" \
        "$drv_src/cram.h" "$drv_src/cram_regs.h" "$stage/"
    CRAM_DRIVER_SRC=$stage CRAM_DRIVER_OUT=$OUT/ko \
        bash "$TOP/guest-driver/build.sh" >"$BUILDLOG" 2>&1
    check "sysfs_race.ko builds (log: ${BUILDLOG#"$TOP"/})" $? -eq 0
    CRAM_DRIVER_SRC=$drv_src CRAM_DRIVER_OUT=$OUT/driver$TAGSUF \
        bash "$TOP/guest-driver/build.sh" >>"$BUILDLOG" 2>&1
    check "cxl_cram.ko ($WHAT) builds against build/kernel-debug" $? -eq 0
    cp "$OUT/ko/sysfs_race.ko" "$OUT/driver$TAGSUF/cxl_cram.ko" \
        "$TOP/tools/sysfs-race/sysfs-race-guest.sh" "$TOP/guest-driver/kreports.sh" \
        "$OUT/root/root/" 2>/dev/null
}

main() {
    local rev='' drv_src=$TOP/guest-driver node pages rc
    while [ $# -gt 0 ]; do
        case $1 in
        --rev) rev=$2; shift ;;
        *) echo "usage: $0 [--rev REV]" >&2; exit 2 ;;
        esac
        shift
    done
    TAG=sysfs-race TAGSUF='' WHAT="work tree"
    if [ -n "$rev" ]; then
        TAG=sysfs-race-rev TAGSUF=-rev WHAT="at $rev"
        rm -rf "$OUT/rev-src" && mkdir -p "$OUT/rev-src"
        git -C "$TOP" archive "$rev" guest-driver | tar -x -C "$OUT/rev-src" ||
            { not_ok "no guest-driver at $rev"; echo "$passed passed, $failed failed, $skipped skipped"; exit 1; }
        drv_src=$OUT/rev-src/guest-driver
    fi
    mkdir -p "$LOGS"
    BUILDLOG=$LOGS/$TAG.build.log RES=$LOGS/$TAG.out
    echo "== $TAG ($WHAT)"
    if [ ! -f "$CRAM_KERNEL_TREE/Module.symvers" ]; then
        skip "no debug kernel in ${CRAM_KERNEL_TREE#"$TOP"/} (CRAM_KERNEL_DEBUG=1 scripts/build-kernel.sh)"
        echo "$passed passed, $failed failed, $skipped skipped"
        exit 0
    fi
    build "$drv_src"
    node=$(probe_point "$OUT/driver$TAGSUF/cxl_cram.ko" cram_private_node)
    pages=$(probe_point "$OUT/driver$TAGSUF/cxl_cram.ko" cram_private_pages)
    check "probe points: cram_private_node+${node%% *}, cram_private_pages+${pages%% *}, both after a load at cd + ${node##* }" \
        -n "$node" -a -n "$pages" -a "${node##* }" = "${pages##* }"
    if [ "$failed" -gt 0 ]; then
        echo "$passed passed, $failed failed, $skipped skipped"
        exit 1
    fi

    for try in 1 2; do
        "$TOP/scripts/run-guest" --cram-kernel --offline --mem 1G \
            --props "capacity=1G,media-size=128M" \
            --append "kasan_multi_shot log_buf_len=1M" --timeout 200 \
            --add "$OUT/root" --log "$LOGS/$TAG.console" \
            --cmd "sh /root/sysfs-race-guest.sh ${node%% *} ${pages%% *}" >"$RES" 2>&1
        rc=$?
        if [ "$try" = 2 ] || ! lost_interrupt_retry "$rc" "$RES"; then break; fi
    done
    check "the guest command completed (status $rc)" "$rc" -eq 0
    [ "$rc" -eq 0 ] || why "$RES"
    check "private node $(v private_node) attached (region node $(v region.node))" \
        "$(v load)/$(v private_node)" = "0/$(v region.node)"
    check "sysfs_race.ko armed its breakpoints (its checks of the loads passed)" \
        "$(v probe.load)" = 0
    check "a reader held cd->priv when the unbind began ($(v parked.at_unbind) parked)" \
        "$(v parked.at_unbind)" -ge 1
    local hits
    hits="$(v probe.hits) hits, $(v probe.windows) windows: $(v probe.slept) slept, $(v probe.spun) spun"
    check "the probe hit during the detach ($(v probe.overlaps) windows overlapped it; $hits)" \
        "$(v probe.overlaps)" -ge 1
    check "every window closed as planned, none timed out ($(v probe.timeouts))" \
        "$(v probe.timeouts)" = 0
    check "unbind completed, the node went offline, the class device went" \
        "$(v unbind)/$(v detached)/$(v class_device)/$(v has_private_memory.after)" = 0/0/gone/
    check "private_node read $(v node.reads) times: only $(v region.node) or -1 ($(v node.values))" \
        "$(v node.bad)" = 0 -a "$(v node.reads)" -gt 0
    check "private_pages read $(v pages.reads) times: only numbers" \
        "$(v pages.bad)" = 0 -a "$(v pages.reads)" -gt 0
    check "no use after free in the readers (KASAN reports in cram_private_node/pages: $(v kasan.readers))" \
        "$(v kasan.readers)" = 0
    check_reports "$TAG"
    check "the guest survived" "$(v alive)" = yes
    echo "$passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
}

main "$@"
