#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Machine checks only for loads that a vCPU made (tools/cram-mce): a
# process in the test guest reads poison through a device-dax mapping.
#   xp     2 vCPUs: the guest poisons a page (the cxl debugfs inject_poison
#          file, i.e. the mailbox's Inject Poison); the host reads it with
#          HMP xp while the guest runs: all-ones, one poisoned read, no
#          machine check, nothing in the guest's log.  Then the guest's own
#          load takes the check: SIGBUS (BUS_MCEERR_AR), the guest goes on,
#          and the load counts once however often it was restarted.
#   nosmp  -smp 2 with nosmp: vCPU 1 never starts (CR4.MCE clear); the
#          guest's load of poison gives SIGBUS and the guest survives (the
#          broadcast share used to reset the machine).
#   interleave  two cxl-crams, one region interleaved across them with
#          4 KiB granules (run-guest --devices 2 --interleave): a page
#          poisoned on the device at position 1 takes the check at its
#          own place in the region (SIGBUS, BUS_MCEERR_AR); the same DPA
#          on the other device reads data.  The machine check and the
#          poisoned read are that device's alone.  Before that, IL_FILL
#          bytes written through the region read back, and each device
#          stores its half, compressed.
#   storm  2 vCPUs, a process on each loading STORM_PAGES poisoned pages
#          back to back: every load ends in its own machine check and
#          SIGBUS, none is abandoned, and the guest survives.  (User-mode
#          loads do not reproduce the nested-check race of the reckless
#          scenario: docs/driver.md.)
#   mapped  ram-path=on (docs/ram-path.md):
#          MAPPED_FILL bytes written and read back through the RAM alias
#          (the mapping serves them; under TCG each page's first write is
#          announced at its TLB entry: tlb-writes), then the guest poisons
#          a page it has just read through the mapping: the alias goes
#          out and its next load takes the machine check, as without it.
# Usage: tools/cram-mce/test.sh [xp|nosmp|interleave|storm|mapped]...
# Prints "ok"/"not ok" lines and ends with "N passed, N failed, N skipped".
# Logs: build/test-logs/cram-mce-<scenario>.{out,console,json,host}
set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$TOP/build/cram-mce
LOGS=$TOP/build/test-logs
POISON_DPA=0x200000             # page 512, in the region's second 2 MiB
REG_POISONED_READS=0x0a0
STORM_PAGES=32                  # per CPU
STORM_DPA=(0x400000 0x600000)   # CPU 0's pages, CPU 1's (2 MiB apart)
IL_GRAN=4096                    # interleave granule: a page
IL_FILL=$((32 << 20))           # written through the region: 16 MiB each
MAPPED_FILL=$((4 << 20))        # mapped: POISON_DPA's page among them
# POISON_DPA's place in a 2-way region, on the device at position 0 and 1
# (granule g of a device is the region's granule 2g + position; the DPA is
# granule-aligned)
IL_OFF=($((POISON_DPA * 2)) $((POISON_DPA * 2 + IL_GRAN)))
# shellcheck source=scripts/tap.sh
. "$TOP/scripts/tap.sh"

# The DPAs of the storm's poisoned pages, both CPUs' (decimal).
storm_pages() {
    local d k
    for d in "${STORM_DPA[@]}"; do
        for ((k = 0; k < STORM_PAGES; k++)); do
            printf "%d " $((d + k * 4096))
        done
    done
}

# The guest side: a region as device-dax, poison at POISON_DPA, then the
# host's read (xp), then its own load.  KEY=VALUE lines.
guest_cmd() {
    [ "$1" != interleave ] || { guest_interleave; return; }
    [ "$1" != mapped ] || { guest_mapped; return; }
    cat <<EOF
set -e
dmesg -n 1
cram-region >/dev/null
daxctl reconfigure-device -m devdax -f dax0.0 >/dev/null 2>&1
echo region.start=\$(cat /sys/bus/cxl/devices/region0/resource)
echo $POISON_DPA >/sys/kernel/debug/cxl/mem0/inject_poison
echo inject.rc=\$?
set +e
if [ "$1" = storm ]; then
    for d in $(storm_pages); do
        echo \$d >/sys/kernel/debug/cxl/mem0/inject_poison
    done
    taskset -c 0 /root/cram-mce storm /dev/dax0.0 ${STORM_DPA[0]} $STORM_PAGES 4096 >/tmp/storm0 &
    taskset -c 1 /root/cram-mce storm /dev/dax0.0 ${STORM_DPA[1]} $STORM_PAGES 4096 >/tmp/storm1 &
    wait
    sleep 3     # the kernel's machine-check reports, printed after them
    for c in 0 1; do sed "s/^/cpu\$c./" /tmp/storm\$c; done
    echo guest.alive=yes
    exit 0
fi
if [ "$1" = xp ]; then
    /root/cram-mce wait-reg $REG_POISONED_READS 1 300
    echo xp.seen=\$?
    echo xp.guest_mce_lines=\$(dmesg | grep -ci 'machine check\|mce:\|memory failure')
fi
/root/cram-mce read /dev/dax0.0 $POISON_DPA
echo after.poisoned_reads=\$(/root/cram-mce reg $REG_POISONED_READS)
echo after.memory_failure=\$(dmesg | grep -c 'Memory failure')
echo after.cpus_online=\$(cat /sys/devices/system/cpu/online)
echo guest.alive=yes
EOF
}

# interleave: the region over mem0 and mem1; the page is poisoned on the
# memdev at position 1 of the region (its target1 decoder's), then read
# through the region at both devices' copies of that DPA.
guest_interleave() {
    cat <<EOF
set -e
dmesg -n 1
CRAM_GRAN=$IL_GRAN cram-region mem0 mem1 >/dev/null
daxctl reconfigure-device -m devdax -f dax0.0 >/dev/null 2>&1
echo region.ways=\$(cat /sys/bus/cxl/devices/region0/interleave_ways)
echo region.gran=\$(cat /sys/bus/cxl/devices/region0/interleave_granularity)
echo region.start=\$(cat /sys/bus/cxl/devices/region0/resource)
/root/cram-mce fill /dev/dax0.0 0 $IL_FILL
d=\$(cat /sys/bus/cxl/devices/region0/target1)
e=endpoint\$(echo \$d | sed 's/^decoder\([0-9]*\)\..*/\1/')
m=\$(basename \$(readlink -f /sys/bus/cxl/devices/\$e/uport))
echo pos1.memdev=\$m
echo $POISON_DPA >/sys/kernel/debug/cxl/\$m/inject_poison
set +e
/root/cram-mce read /dev/dax0.0 ${IL_OFF[0]} | sed 's/^/pos0./'
/root/cram-mce read /dev/dax0.0 ${IL_OFF[1]} | sed 's/^/pos1./'
echo after.memory_failure=\$(dmesg | grep -c 'Memory failure')
echo guest.alive=yes
EOF
}

# mapped: fill through the alias, read the page, poison it, load it.
guest_mapped() {
    cat <<EOF
set -e
dmesg -n 1
cram-region >/dev/null
daxctl reconfigure-device -m devdax -f dax0.0 >/dev/null 2>&1
/root/cram-mce fill /dev/dax0.0 0 $MAPPED_FILL
/root/cram-mce read /dev/dax0.0 $POISON_DPA | sed 's/^/before./'
echo $POISON_DPA >/sys/kernel/debug/cxl/mem0/inject_poison
set +e
/root/cram-mce read /dev/dax0.0 $POISON_DPA
echo after.memory_failure=\$(dmesg | grep -c 'Memory failure')
echo guest.alive=yes
EOF
}

# Host side of xp: once the guest has poisoned its page, read it with
# HMP xp at the window's HPA, and print what came back.
host_xp() {
    python3 - "$TOP/scripts" "$1" "$POISON_DPA" <<'EOF'
import re, sys, time
sys.path.insert(0, sys.argv.pop(1))
from qmp_client import Qmp
qmp = Qmp(sys.argv[1])
def call(cmd, **args):
    return qmp.call(cmd, **args)
def stats():
    return call("qom-get", path="/machine/peripheral/cram0", property="stats")
for _ in range(6000):
    if stats()["poisoned-pages"] >= 1:
        break
    time.sleep(0.1)
else:
    sys.exit("the guest poisoned nothing")
mtree = call("human-monitor-command", **{"command-line": "info mtree"})
base = int(re.search(r"([0-9a-f]+)-[0-9a-f]+ \(prio [-0-9]+, i/o\): "
                     r"cxl-fixed-memory-region", mtree).group(1), 16)
hpa = base + int(sys.argv[2], 16)
before = stats()
out = call("human-monitor-command", **{"command-line": "xp /1gx 0x%x" % hpa})
after = stats()
print("host.window=0x%x" % base)
print("host.xp=%s" % out.strip().split(":", 1)[-1].strip())
print("host.xp_poisoned_reads=%d" % (after["poisoned-reads"] -
                                     before["poisoned-reads"]))
print("host.xp_machine_checks=%d" % (after["machine-checks"] -
                                     before["machine-checks"]))
print("host.running=%s" % call("query-status")["running"])
EOF
}

# listen_events SOCKET: the machine-check events QEMU sends on the QMP
# monitor SOCKET until it exits, as KEY=VALUE lines: how many, the first
# one's data, and how many were not delivered.
listen_events() {
    python3 - "$TOP/scripts" "$1" <<'EOF'
import sys
sys.path.insert(0, sys.argv.pop(1))
from qmp_client import Qmp
mce = [e["data"] for e in Qmp(sys.argv[1]).events()
       if e["event"] == "CXL_CRAM_MACHINE_CHECK"]
print("event.mce=%d" % len(mce))
for k, v in (mce[0] if mce else {}).items():
    print("event.mce.first.%s=%s" % (k, v))
print("event.mce.undelivered=%d" % sum(not m["delivered"] for m in mce))
if mce:
    print("event.mce.last.machine-checks=%d" % mce[-1]["machine-checks"])
EOF
}

# scenario NAME RUN-GUEST-OPTIONS...: boot the guest and run NAME in it
scenario() {
    local name=$1 status qmp host='' ev events
    shift
    RES=$LOGS/cram-mce-$name.out
    JSON=$LOGS/cram-mce-$name.json
    echo "== cram-mce-$name"
    rm -f "$JSON" "$LOGS/cram-mce-$name.host"
    for try in 1 2; do
        qmp=$(mktemp -u "${TMPDIR:-/tmp}/cram-mce-qmp.XXXXXX")
        ev=$qmp.ev
        if [ "$name" = xp ]; then
            host_xp "$qmp" >"$LOGS/cram-mce-$name.host" 2>&1 &
            host=$!
        fi
        listen_events "$ev" >"$LOGS/cram-mce-$name.events" 2>&1 &
        events=$!
        # cram.nomod=kmem: dax0.0 stays a device-dax, nothing else touches it
        "$TOP/scripts/run-guest" --timeout 600 --append cram.nomod=kmem \
            --add "$OUT/root" --qmp "$qmp" --stats "$JSON" \
            --log "$LOGS/cram-mce-$name.console" "$@" \
            --cmd "$(guest_cmd "$name")" \
            -- -qmp "unix:$ev,server=on,wait=off" >"$RES" 2>&1
        status=$?
        [ -z "$host" ] || wait "$host"
        wait "$events"
        rm -f "$qmp" "$ev"
        if [ "$try" = 2 ] || ! lost_interrupt_retry "$status" "$RES"; then break; fi
    done
    [ ! -f "$LOGS/cram-mce-$name.host" ] || cat "$LOGS/cram-mce-$name.host" >>"$RES"
    cat "$LOGS/cram-mce-$name.events" >>"$RES"
    check "$name: the guest command completed (status $status)" "$status" -eq 0
    [ "$status" -eq 0 ] || why "$RES"
    return $status
}

test_xp() {
    scenario xp || return
    check "xp: the host's xp got a failed transaction ($(v host.xp))" \
        "$(v host.xp)" = "Cannot access memory"
    check "xp: counted as one poisoned read, no machine check" \
        "$(v host.xp_poisoned_reads)/$(v host.xp_machine_checks)" = 1/0
    check "xp: the guest kept running and logged no machine check" \
        "$(v host.running)/$(v xp.seen)/$(v xp.guest_mce_lines)" = True/0/0
    check "xp: the region starts at the window ($(v region.start))" \
        "$(printf 0x%x "$(v region.start)")" = "$(v host.window)"
    check "load: the guest process got SIGBUS, BUS_MCEERR_AR (si_code $(v read.si_code))" \
        "$(v read.sigbus)/$(v read.si_code)" = 1/4
    check "load: the guest survived and handled it (memory failure logged)" \
        "$(v guest.alive)/$(($(v after.memory_failure) > 0))" = yes/1
    check "load: one machine check, one more poisoned read (restarts not counted)" \
        "$(q machine-checks)/$(q poisoned-reads)" = 1/2
    check "load: QMP event CXL_CRAM_MACHINE_CHECK, delivered, at the page ($(v event.mce.first.dpa))" \
        "$(v event.mce)/$(v event.mce.first.delivered)/$(v event.mce.first.dpa)/$(v event.mce.first.machine-checks)" = \
        "1/True/$((POISON_DPA))/1"
}

test_nosmp() {
    scenario nosmp --smp 2 --append nosmp || return
    check "nosmp: one CPU online of two" "$(v after.cpus_online)" = 0
    check "nosmp: SIGBUS, BUS_MCEERR_AR (si_code $(v read.si_code))" \
        "$(v read.sigbus)/$(v read.si_code)" = 1/4
    check "nosmp: the guest survived (no reset)" "$(v guest.alive)" = yes
    check "nosmp: one machine check, one poisoned read" \
        "$(q machine-checks)/$(q poisoned-reads)" = 1/1
}

# il_dev KEY: the figure KEY of each device, "cram0/cram1"
il_dev() {
    python3 -c 'import json,sys; s = json.load(open(sys.argv[1]))
print("/".join(str(s["cram%d" % i][sys.argv[2]]) for i in (0, 1)))' \
        "$JSON" "$1" 2>/dev/null
}

# il_min KEY: the smaller of the two devices' figure KEY, its whole part
il_min() {
    local a b
    IFS=/ read -r a b <<<"$(il_dev "$1")"
    a=${a%%.*} b=${b%%.*}
    echo $((${a:-0} < ${b:-0} ? ${a:-0} : ${b:-0}))
}

test_interleave() {
    local who addr
    scenario interleave --devices 2 --interleave --props capacity=4G || return
    check "interleave: a 2-way region with 4 KiB granules" \
        "$(v region.ways)/$(v region.gran)" = 2/$IL_GRAN
    check "interleave: position 0's copy of the DPA reads its data" \
        "$(v pos0.read.sigbus)/$(v pos0.read.value)" = "0/$(printf 0x%016x \
            $(((IL_OFF[0] / 8 / 512) << 32 | (IL_OFF[0] / 8 % 16))))"
    check "interleave: position 1's takes the check: SIGBUS, BUS_MCEERR_AR (si_code $(v pos1.read.si_code))" \
        "$(v pos1.read.sigbus)/$(v pos1.read.si_code)" = 1/4
    check "interleave: the guest survived and handled it (memory failure logged)" \
        "$(v guest.alive)/$(($(v after.memory_failure) > 0))" = yes/1
    # the kernel's report of the check: "... ADDR 110401000 MISC 8c"
    addr=$(sed -n 's/.* ADDR \([0-9a-f]*\) .*/\1/p' "$RES" | head -n 1)
    check "interleave: the check names position 1's copy (ADDR 0x$addr)" \
        "$((0x${addr:-0}))" -eq "$(($(v region.start) + IL_OFF[1]))"
    check "interleave: $IL_FILL bytes through the region read back" \
        "$(v fill.bad)" = 0
    # At most the cache (8 MiB) of each device's 16 MiB is not stored yet.
    check "interleave: each device stores at least 8 MiB of its half ($(il_dev logical-held))" \
        "$(il_min logical-held)" -ge $((8 << 20))
    check "interleave: each device compresses it (ratios $(il_dev ratio))" \
        "$(il_min ratio)" -ge 4
    # which cxl-cram is position 1 is the guest's choice: mem<N> is not cram<N>
    who=$(il_dev poisoned-pages)
    check "interleave: one device holds the poisoned page ($who)" \
        "$who" = 0/1 -o "$who" = 1/0
    check "interleave: that device took the one machine check and the poisoned read" \
        "$(il_dev machine-checks)/$(il_dev poisoned-reads)" = "$who/$who"
}

test_storm() {
    scenario storm || return
    check "storm: each CPU's $STORM_PAGES loads got SIGBUS, BUS_MCEERR_AR, and no data" \
        "$(v cpu0.storm.ar)/$(v cpu0.storm.data)/$(v cpu1.storm.ar)/$(v cpu1.storm.data)" \
        = $STORM_PAGES/0/$STORM_PAGES/0
    check "storm: no other SIGBUS" \
        "$(v cpu0.storm.other)/$(v cpu1.storm.other)" = 0/0
    check "storm: one machine check per load, none abandoned" \
        "$(q machine-checks)/$(q poisoned-reads)/$(q machine-checks-abandoned)" \
        = $((2 * STORM_PAGES))/$((2 * STORM_PAGES))/0
    check "storm: the guest survived" "$(v guest.alive)" = yes
    # rate-limited: one event at once, then the last of each second
    local n last
    n=$(v event.mce) last=$(v event.mce.last.machine-checks)
    check "storm: CXL_CRAM_MACHINE_CHECK events, rate-limited ($n for $(q machine-checks) checks, the last at ${last:-none})" \
        "$((n >= 1 && n <= $(q machine-checks)))/$(v event.mce.undelivered)/$((last >= n && last <= $(q machine-checks)))" = 1/0/1
}

test_mapped() {
    scenario mapped --props ram-path=on || return
    check "mapped: $MAPPED_FILL bytes through the alias read back" \
        "$(v fill.bad)" = 0
    # each page's first write seen before it landed: faulted, or
    # announced by TCG at its TLB entry (ram-path-tlb-write)
    check "mapped: the mapping served them ($(q cache-faults) faults, $(q tlb-writes) writes announced)" \
        "$(($(q cache-faults) + $(q tlb-writes)))" -ge $((MAPPED_FILL / 4096))
    # where the device translates at TLB fill (TCG): not under KVM
    if [ "$(q tlb-fills)" -gt 0 ]; then
        check "mapped: their first writes were announced at the TLB, not faulted" \
            "$(q tlb-writes)" -ge $((MAPPED_FILL / 4096))
    fi
    check "mapped: the page read its data before the poison" \
        "$(v before.read.sigbus)/$(v before.read.value)" = "0/$(printf 0x%016x \
            $(((POISON_DPA / 8 / 512) << 32 | (POISON_DPA / 8 % 16))))"
    check "mapped: then the load took the check: SIGBUS, BUS_MCEERR_AR (si_code $(v read.si_code))" \
        "$(v read.sigbus)/$(v read.si_code)" = 1/4
    check "mapped: the guest survived and handled it (memory failure logged)" \
        "$(v guest.alive)/$(($(v after.memory_failure) > 0))" = yes/1
    check "mapped: one machine check, one poisoned read" \
        "$(q machine-checks)/$(q poisoned-reads)" = 1/1
}

main() {
    local t
    mkdir -p "$LOGS" "$OUT/root/root"
    rm -f "$OUT/root/root/cram-mce"
    gcc -static -O2 -Wall -Wextra -Werror -o "$OUT/root/root/cram-mce" \
        "$TOP/tools/cram-mce/cram-mce.c" >"$LOGS/cram-mce-build.log" 2>&1
    check "cram-mce builds static (log: build/test-logs/cram-mce-build.log)" $? -eq 0
    if [ -x "$OUT/root/root/cram-mce" ]; then
        for t in "${@:-xp nosmp interleave storm mapped}"; do
            for t in $t; do
                "test_$t"
            done
        done
    fi
    echo "$passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
}

main "$@"
