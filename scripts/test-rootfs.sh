#!/bin/bash
# The Debian root file system of scripts/build-rootfs.sh in the test guest
# (docs/guest.md, "A real userspace"): built (or found up to date), booted
# with run-guest --rootfs --script:
#   - the command's status comes back, and its output;
#   - an --add directory's files are in the root file system;
#   - numactl -H shows the CXL node once a region is onlined, and a
#     process bound to it runs (stress-ng) and reads a file into it
#     (virtio-blk DMA into CXL memory);
#   - cxl list sees the memdev; cxl (81), stress-ng, fio and perf run;
#   - cxl_cram.ko and cram-info, when built (make driver cram-info),
#     are in the root file system and work;
#   - a second boot finds the image as built (snapshot=on).
# In `make test`, and alone: scripts/test-rootfs.sh (make test-rootfs).
# Prints "ok"/"not ok" lines and ends with "N passed, N failed, N skipped".
# Logs: build/test-logs/rootfs-*.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
LOGS=$TOP/build/test-logs
# shellcheck source=scripts/tap.sh
. "$TOP/scripts/tap.sh"

# The guest's side: KEY=VALUE lines that v() reads.
guest_script() {
    cat <<'EOF'
cram-region >/dev/null || echo "region=failed"
echo "nodes=$(numactl -H | sed -n 's/^available: \([0-9]*\) nodes.*/\1/p')"
echo "node1.size=$(numactl -H | sed -n 's/^node 1 size: \([0-9]*\) MB/\1/p')"
echo "memdev=$(cxl list -M | sed -n 's/.*"memdev":"\(mem[0-9]*\)".*/\1/p' | head -n 1)"
echo "cxl=$(cxl version)"
echo "daxctl=$(daxctl version)"
echo "stress-ng=$(stress-ng --version | head -n 1)"
echo "fio=$(fio --version)"
echo "perf=$(perf version)"
echo "kernel=$(uname -r)"
perf stat -e task-clock -o /tmp/perf.out true && grep -q task-clock /tmp/perf.out &&
    echo "perf.stat=ok"
# The binaries' pages first, on node 0: code run from CXL memory is
# emulated I/O, an instruction at a time under TCG.
cat /usr/bin/stress-ng >/dev/null
numactl --membind=1 stress-ng --vm 1 --vm-bytes 4M --vm-ops 2 -q
echo "stress.rc=$?"
echo 3 >/proc/sys/vm/drop_caches
numactl --membind=1 cat /usr/bin/fio >/dev/null
echo "dma.rc=$?"
echo "node1.file-kb=$(sed -n 's/.* FilePages: *\([0-9]*\) kB/\1/p' /sys/devices/system/node/node1/meminfo)"
if [ -f /root/cxl_cram.ko ]; then
    insmod /root/cxl_cram.ko && echo "driver=loaded"
fi
if command -v cram-info >/dev/null; then
    cram-info >/tmp/ci.out 2>&1
    echo "cram-info.rc=$?"
    echo "cram-info.mem=$(grep -c '^mem[0-9]' /tmp/ci.out)"
fi
echo "add=$(rootfs-hello)"
echo marker >/root/rootfs-test.marker
exit 7
EOF
}

main() {
    local status t0 boot out l try
    mkdir -p "$LOGS"
    RES=$LOGS/rootfs-test.out
    t0=$SECONDS
    bash "$TOP/scripts/build-rootfs.sh" >"$LOGS/rootfs-build.log" 2>&1
    check "the root file system builds (log: build/test-logs/rootfs-build.log)" $? -eq 0
    echo "# build-rootfs.sh: $((SECONDS - t0)) s; $(tail -n 1 "$LOGS/rootfs-build.log")"
    [ -f "$TOP/build/rootfs/rootfs.ext4" ] || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
    guest_script >"$LOGS/rootfs-test.sh"
    rm -rf "$LOGS/rootfs-add"
    mkdir -p "$LOGS/rootfs-add/usr/local/bin"
    printf '#!/bin/sh\necho hello\n' >"$LOGS/rootfs-add/usr/local/bin/rootfs-hello"
    chmod 755 "$LOGS/rootfs-add/usr/local/bin/rootfs-hello"
    for try in 1 2; do
        t0=$SECONDS
        "$TOP/scripts/run-guest" --rootfs --timeout 600 --log "$LOGS/rootfs-test.console" \
            --add "$LOGS/rootfs-add" \
            --script "$LOGS/rootfs-test.sh" >"$RES" 2>&1
        status=$?
        boot=$((SECONDS - t0))
        if [ "$try" = 2 ] || ! lost_interrupt_retry "$status" "$RES"; then break; fi
    done
    echo "# boot, command and poweroff: $boot s"
    check "the command's status comes back (7: $status)" "$status" -eq 7
    [ "$status" -eq 7 ] || why "$RES"
    check "an --add directory's program runs" "$(v add)" = hello
    check "numactl -H: 2 nodes, the CXL node 1 with 8 GiB" \
        "$(v nodes)/$(v node1.size)" = 2/8192
    check "cxl list -M: mem0" "$(v memdev)" = mem0
    check "cxl and daxctl 81" "$(v cxl)/$(v daxctl)" = 81/81
    check "stress-ng runs ($(v stress-ng))" -n "$(v stress-ng)"
    check "fio runs ($(v fio))" -n "$(v fio)"
    check "perf of the kernel's series ($(v perf), kernel $(v kernel))" \
        "$(v perf | sed 's/^perf version \(6\.12\)\..*/\1/')" = "$(v kernel | cut -d. -f1-2)"
    check "perf stat counts task-clock" "$(v perf.stat)" = ok
    check "stress-ng bound to the CXL node" "$(v stress.rc)" = 0
    check "a file read into the CXL node's page cache (virtio-blk DMA into CXL memory)" \
        "$(v dma.rc)/$(( $(v node1.file-kb) > 1000 ))" = 0/1
    if [ -f "$TOP/build/guest-driver/cxl_cram.ko" ]; then
        check "cxl_cram.ko loads from /root" "$(v driver)" = loaded
    else
        skip "cxl_cram.ko (not built: make driver)"
    fi
    if [ -x "$TOP/build/cram-info/cram-info" ]; then
        check "cram-info runs and sees one memdev" "$(v cram-info.rc)/$(v cram-info.mem)" = 0/1
    else
        skip "cram-info (not built: make cram-info)"
    fi
    out=$("$TOP/scripts/run-guest" --rootfs --cmd 'test ! -e /root/rootfs-test.marker' 2>&1)
    check "a second boot finds the image as built (snapshot=on)" $? -eq 0
    [ -z "$out" ] || while IFS= read -r l; do echo "#   $l"; done <<<"$out"
    echo "$passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
}

main "$@"
