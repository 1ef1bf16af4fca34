#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# scripts/run-guest against a guest that hangs, as a device bug may make
# it hang: a CPU that never comes back (tools/stuck-cpu/stuck_cpu.ko).
#   irqoff   CPU 1 spins with interrupts disabled: no CPU can report it
#            by itself; the guest's heartbeat (an expedited RCU grace
#            period every 5 s, guest/init) makes RCU report it
#   preempt  CPU 1 spins with preemption disabled: soft lockups
#   uart     as irqoff, with the console UART's interrupt moved to CPU 1
#            first: the tty's output stops, the kernel's log goes on
# Each time run-guest must give up with status 124 long before its
# timeout, say why, show the console's last lines, and leave QEMU's
# registers of every vCPU in LOG.lockup.
# Usage: tools/stuck-cpu/test.sh [irqoff|preempt|uart]...
# Logs: build/test-logs/stuck-cpu-<scenario>.{out,console,console.lockup}
set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$TOP/build/stuck-cpu
LOGS=$TOP/build/test-logs
TIMEOUT=400     # run-guest's; a hang must be caught in well under half
# shellcheck source=scripts/tap.sh
. "$TOP/scripts/tap.sh"

# scenario NAME IRQS_OFF [COMMAND]: COMMAND runs before the module loads
scenario() {
    local name=$1 irqs_off=$2 pre=${3:-true} rc log=$LOGS/stuck-cpu-$1.console
    echo "== stuck-cpu-$name"
    rm -f "$log" "$log.lockup" "$log.lockup.int"
    SECONDS=0
    "$TOP/scripts/run-guest" --timeout $TIMEOUT --add "$OUT/root" --log "$log" \
        --cmd "$pre; insmod /root/stuck_cpu.ko cpu=1 irqs_off=$irqs_off && echo stuck.loaded=yes; sleep $((TIMEOUT * 2))" \
        >"$LOGS/stuck-cpu-$name.out" 2>&1
    rc=$?
    check "$name: run-guest gave up with status 124 (status $rc)" "$rc" -eq 124
    check "$name: after $SECONDS s, less than $((TIMEOUT / 2))" "$SECONDS" -lt $((TIMEOUT / 2))
    [ "$SECONDS" -lt $((TIMEOUT / 2)) ] || why "$LOGS/stuck-cpu-$name.out"
    check "$name: the module hung CPU 1" \
        "$(grep -c '^stuck.loaded=yes' "$LOGS/stuck-cpu-$name.out")" -ge 1
    check "$name: it says the guest reports a stuck CPU" \
        "$(grep -c 'the guest reports a CPU stuck' "$LOGS/stuck-cpu-$name.out")" -eq 1
    check "$name: QEMU's registers of both vCPUs are in the .lockup file" \
        "$(grep -cE '^CPU#[01]$' "$log.lockup" 2>/dev/null)" -ge 2
    # a vCPU spinning is not a vCPU that QEMU left halted (status 123)
    check "$name: not taken for a lost interrupt" \
        "$(python3 "$TOP/scripts/lost-interrupt.py" "$log.lockup")" = ""
}

# The UART's interrupt is moved at its next interrupt: the sleep has the
# tty print, so that it has moved before the module hangs CPU 1.
uart() {
    scenario uart 1 "echo 1 >/proc/irq/4/smp_affinity_list; echo; sleep 1;
        echo uart.cpu=\$(cat /proc/irq/4/effective_affinity_list)"
    check "uart: the console's interrupt (IRQ 4) was on CPU 1" \
        "$(grep -c '^uart.cpu=1' "$LOGS/stuck-cpu-uart.out")" -ge 1
}

# The dump of a CI run where QEMU's TCG lost a timer interrupt: vCPU 1
# halted for good, vector 236 in service (docs/guest.md, status 123).
lost_interrupt() {
    check "lost-interrupt.py finds the halted vCPU in a recorded dump" \
        "$(python3 "$TOP/scripts/lost-interrupt.py" "$TOP/tools/stuck-cpu/lost-interrupt.lockup")" = \
        "vCPU 1 halted with interrupts on, vector 236 in service, 33 34 236 pending"
}

main() {
    local t
    lost_interrupt
    mkdir -p "$LOGS" "$OUT/root/root"
    CRAM_DRIVER_SRC=$TOP/tools/stuck-cpu CRAM_DRIVER_OUT=$OUT/ko \
        bash "$TOP/guest-driver/build.sh" >"$LOGS/stuck-cpu-build.log" 2>&1
    check "stuck_cpu.ko builds (log: build/test-logs/stuck-cpu-build.log)" $? -eq 0
    if cp "$OUT/ko/stuck_cpu.ko" "$OUT/root/root/" 2>/dev/null; then
        [ $# -gt 0 ] || set -- irqoff preempt uart
        for t in "$@"; do
            case $t in
            irqoff) scenario irqoff 1 ;;
            preempt) scenario preempt 0 ;;
            uart) uart ;;
            *) echo "usage: $0 [irqoff|preempt|uart]..." >&2; exit 2 ;;
            esac
        done
    fi
    echo "$passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
}

main "$@"
