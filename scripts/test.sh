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
SECONDS=0

# section NAME: a heading, with the time since the start (where the time
# of a fresh-machine run goes)
section() {
    echo "== $1 (at $((SECONDS / 60)) min $((SECONDS % 60)) s)"
}

# Pins that fall back to another version (scripts/versions.sh) are listed
# at the end.
rm -f "$CRAM_BUILD/pin-warnings"
bash "$here/build-qemu.sh" || { echo "0 passed, 1 failed"; exit 1; }
bash "$here/build-engine.sh" || { echo "0 passed, 1 failed"; exit 1; }
bash "$here/build-sanitize.sh" || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
logdir=$CRAM_BUILD/test-logs
mkdir -p "$logdir"

# run_tap NAME TIMEOUT CMD...: run one TAP producer and count its results.
run_tap() {
    local name=$1 limit=$2 log=$logdir/$1.log rc ok bad
    shift 2
    section "$name"
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

# run_check NAME WORDS... -- SCRIPT [ARG...]: one result, SCRIPT's status;
# its log is shown when it fails.
run_check() {
    local log=$logdir/$1.log what=()
    shift
    while [ "$1" != -- ]; do
        what+=("$1")
        shift
    done
    shift
    if bash "$@" >"$log" 2>&1; then
        echo "   ok ${what[*]}"
        passed=$((passed + 1))
    else
        echo "   not ok ${what[*]} (log: $log)"
        tail -n 20 "$log" | sed 's/^/   | /'
        failed=$((failed + 1))
    fi
}

# run_script NAME SCRIPT [ARG...]: a test script that prints "ok"/"not ok"
# lines; one that prints no result at all counts as a failure.
run_script() {
    local log=$logdir/$1.log ok bad
    bash "${@:2}" >"$log" 2>&1
    grep -E '^(ok|not ok|# )' "$log" | sed 's/^/   /'
    ok=$(grep -c '^ok ' "$log")
    bad=$(grep -c '^not ok ' "$log")
    [ "$ok" -gt 0 ] || bad=$((bad + 1))     # built nothing, ran nothing
    passed=$((passed + ok))
    failed=$((failed + bad))
}

# The device's files call each other one way; the engine's headers
# include each other without a circle (docs/design.md).
section "layers"
run_check check-layers "one-way call graph of hw/mem/cxl-cram, no circle" \
    "of engine headers" -- "$here/check-layers.sh"

for t in "$CRAM_BUILD"/engine/test-*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    run_tap "engine-$(basename "$t")" 600 "$t"
done
# The engine benchmarks on tiny inputs: they work, nothing is timed
# (docs/performance.md has the real runs).
run_tap bench-smoke 300 "$CRAM_BUILD/engine/bench/test-bench-smoke"
run_tap bench-cli 300 bash "$CRAM_TOP/bench/smoke.sh" \
    "$CRAM_BUILD/engine/bench/cram-bench"

export QTEST_QEMU_BINARY=$CRAM_BUILD/qemu/qemu-system-x86_64
run_tap qtest-cxl-cram 1200 "$CRAM_BUILD/qemu/tests/qtest/cxl-cram-test"
# The randomized fuzzer against its shadow model, a short run (seed printed
# in the log; docs/robustness.md has the long run).
CRAM_FUZZ_OPS=${CRAM_FUZZ_OPS:-1500} run_tap qtest-cxl-cram-fuzz 1200 \
    "$CRAM_BUILD/qemu/tests/qtest/cxl-cram-fuzz-test"
# Again with the synchronous one-page buffer instead of the cache.
CRAM_QTEST_PROPS=cache-size=0 run_tap qtest-cxl-cram-nocache 1200 \
    "$CRAM_BUILD/qemu/tests/qtest/cxl-cram-test"
# And with the cache mapped into the window as RAM (docs/ram-path.md):
# every qtest, and the fuzzer's shadow model, hold in both modes.
CRAM_QTEST_PROPS=ram-path=on run_tap qtest-cxl-cram-rampath 1200 \
    "$CRAM_BUILD/qemu/tests/qtest/cxl-cram-test"
CRAM_QTEST_PROPS=ram-path=on CRAM_FUZZ_OPS=${CRAM_FUZZ_OPS:-1500} \
    run_tap qtest-cxl-cram-fuzz-rampath 1200 \
    "$CRAM_BUILD/qemu/tests/qtest/cxl-cram-fuzz-test"

# AddressSanitizer + UBSan: engine tests with leak checking, and a fast
# subset of the qtests (QEMU itself is not leak-clean at exit: leaks off).
for t in "$CRAM_BUILD"/engine-asan/test-*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        run_tap "asan-engine-$(basename "$t")" 600 "$t"
done
ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
QTEST_QEMU_BINARY=$CRAM_BUILD/qemu-asan/qemu-system-x86_64 \
    run_tap asan-qtest-cxl-cram 1200 \
    "$CRAM_BUILD/qemu-asan/tests/qtest/cxl-cram-test" \
    -p /x86_64/cxl-cram/bad-props -p /x86_64/cxl-cram/registers \
    -p /x86_64/cxl-cram/integrity -p /x86_64/cxl-cram/no-alloc \
    -p /x86_64/cxl-cram/poison-list -p /x86_64/cxl-cram/clear-poison \
    -p /x86_64/cxl-cram/media-ops -p /x86_64/cxl-cram/cache \
    -p /x86_64/cxl-cram/narrow-writes -p /x86_64/cxl-cram/edge-of-capacity \
    -p /x86_64/cxl-cram/poison-mce -p /x86_64/cxl-cram/media-ops-1tib \
    -p /x86_64/cxl-cram/hostile/hdm-bad-iw -p /x86_64/cxl-cram/hostile/hb-bad-iw \
    -p /x86_64/cxl-cram/hostile/mailbox-length \
    -p /x86_64/cxl-cram/hostile/qmp-poison \
    -p /x86_64/cxl-cram/hostile/rp-msi-mme \
    -p /x86_64/cxl-cram/device-del/idle \
    -p /x86_64/cxl-cram/device-del/write-load \
    -p /x86_64/cxl-cram/qmp/bad-args -p /x86_64/cxl-cram/qmp/store-as \
    -p /x86_64/cxl-cram/qmp/query-pages -p /x86_64/cxl-cram/qmp/take-media \
    -p /x86_64/cxl-cram/qmp/set-codec -p /x86_64/cxl-cram/qmp/set-cache-size \
    -p /x86_64/cxl-cram/failure-policy/log \
    -p /x86_64/cxl-cram/ram-path/data -p /x86_64/cxl-cram/ram-path/poison
# LeakSanitizer on QEMU: realize (and its failures), use, migration,
# device_del and exit of cxl-cram; every leak is sorted by the code that
# allocated it, and none may come from hw/mem/cxl-cram/
# (scripts/leak-check.py).
rm -rf "$logdir/lsan"
mkdir -p "$logdir/lsan"
ASAN_OPTIONS=detect_leaks=1:log_path=$logdir/lsan/asan:fast_unwind_on_malloc=0:malloc_context_size=30 \
LSAN_OPTIONS=exitcode=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
QTEST_QEMU_BINARY=$CRAM_BUILD/qemu-asan/qemu-system-x86_64 \
    run_tap asan-leaks-qtest 1200 \
    "$CRAM_BUILD/qemu-asan/tests/qtest/cxl-cram-test" \
    -p /x86_64/cxl-cram/bad-props -p /x86_64/cxl-cram/registers \
    -p /x86_64/cxl-cram/migration -p /x86_64/cxl-cram/device-del/write-load
section "asan-leaks"
python3 "$here/leak-check.py" "$logdir/lsan" >"$logdir/asan-leaks.log" 2>&1
sed 's/^/   /' "$logdir/asan-leaks.log"
ok=$(grep -c '^ok ' "$logdir/asan-leaks.log")
passed=$((passed + ok))
failed=$((failed + 1 - ok))
ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
QTEST_QEMU_BINARY=$CRAM_BUILD/qemu-asan/qemu-system-x86_64 \
CRAM_FUZZ_OPS=${CRAM_FUZZ_OPS:-1000} run_tap asan-qtest-cxl-cram-fuzz 1200 \
    "$CRAM_BUILD/qemu-asan/tests/qtest/cxl-cram-fuzz-test"

# The guest driver: kernel checkpatch --strict, then its end-to-end tests
# in guests booted with cxl-cram (each "ok"/"not ok" line counts).
section "guest-driver"
bash "$here/build-guest.sh" >"$logdir/build-guest.log" 2>&1 ||
    echo "   (guest image build failed: $logdir/build-guest.log)"
run_check driver-check "guest-driver checkpatch and register map" -- \
    "$CRAM_TOP/guest-driver/check.sh"
run_script driver-test "$CRAM_TOP/guest-driver/test.sh"

# The private-node series and zswap direct nodes: our own guest kernel
# (scripts/build-kernel.sh) in its debug variant (KASAN, lockdep, atomic
# sleep), the driver with private_node=1, and the direct, fallback,
# forced and interleave scenarios.  Every scenario fails on a kernel
# report.  The plain variant runs them by hand (guest-driver/zswap-test.sh):
# building both would cost a fresh machine 12 more minutes for the same
# scenarios.
section "zswap-direct-nodes (debug kernel)"
CRAM_KERNEL_DEBUG=1 run_script zswap-debug-test \
    "$CRAM_TOP/guest-driver/zswap-test.sh"
# The driver's guest tests again, on that debug kernel
section "guest-driver (debug kernel)"
CRAM_KERNEL_DEBUG=1 run_script driver-debug-test \
    "$CRAM_TOP/guest-driver/test.sh" --cram-kernel
# Scenarios (docs/scenarios.md): the runner's own test on Debian's kernel,
# then the ratio collapsing under zswap's direct stores, on the debug
# kernel: the verdicts must refuse before the device drops a write
section "scenarios"
run_script scenario-test "$CRAM_TOP/scenarios/test.sh"
CRAM_KERNEL_DEBUG=1 run_script scenario-ratio-collapse \
    "$CRAM_TOP/scenarios/test.sh" ratio-collapse
# The private-node sysfs attributes against a detach, with a reader held
# between its load of the node pointer and its use (tools/sysfs-race)
section "sysfs-race (debug kernel)"
run_script sysfs-race-test "$CRAM_TOP/tools/sysfs-race/test.sh"

# cram-info: the guest tool against trixie's libcxl, figures against QMP
section "cram-info"
run_script cram-info-test "$CRAM_TOP/tools/cram-info/test.sh"

# cram-stat without a guest OS: two devices, a fake guest on a socket,
# events from take-media and poison, --pages, the charts
section "cram-stat"
run_script cram-stat-test "$CRAM_TOP/tools/cram-stat/test.sh"

# Machine checks only for a vCPU's loads: HMP xp of poison while a guest
# runs, a nosmp guest reading poison, both vCPUs loading poison back to
# back (tools/cram-mce)
section "cram-mce"
run_script cram-mce-test "$CRAM_TOP/tools/cram-mce/test.sh"

# Concurrency: 4 vCPUs under multi-threaded TCG write and read the device
# through device-dax while its worker compresses; data and figures exact
section "cram-stress"
run_script cram-stress-test "$CRAM_TOP/tools/cram-stress/test.sh"

# A guest with a CPU stuck (interrupts off, or preemption off): run-guest
# gives up early and keeps QEMU's view of the vCPUs (tools/stuck-cpu)
section "stuck-cpu"
run_script stuck-cpu-test "$CRAM_TOP/tools/stuck-cpu/test.sh"

# The Debian root file system (scripts/build-rootfs.sh: about 2 minutes
# the first time, seconds after) and its tools in a guest booted with
# run-guest --rootfs: numactl, cxl, stress-ng, fio, perf, the driver
section "rootfs"
run_script rootfs-test "$here/test-rootfs.sh"

# The run command's guest demo: the driver's and the device's figures agree.
section "demo-guest"
if bash "$here/demo-guest.sh" >"$logdir/demo-guest.log" 2>&1; then
    echo "   ok demo-guest: $(tail -n 1 "$logdir/demo-guest.log")"
    passed=$((passed + 1))
else
    echo "   not ok demo-guest (log: $logdir/demo-guest.log)"
    failed=$((failed + 1))
fi

if [ -s "$CRAM_BUILD/pin-warnings" ]; then
    section "pins not in the archive: this run used other versions"
    sort -u "$CRAM_BUILD/pin-warnings" | sed 's/^/   warning: /'
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
