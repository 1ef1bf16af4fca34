#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Usage: lost-interrupt.py DUMP

DUMP is scripts/run-guest's LOG.lockup: QEMU's vCPU registers and local
APICs, taken when the guest reported a stuck CPU.  Exit 0 and say which
vCPU when one is halted with interrupts on while its local APIC holds a
vector in service and others pending behind it; else exit 1.

The guest ends every interrupt with an EOI before it can halt, so such
an ISR bit is one that QEMU's TCG accepted (moved from IRR to ISR) and
never delivered: that vCPU takes no interrupt again (docs/guest.md).
"""
import re
import sys

RFLAGS_IF = 0x200


def lost_interrupt(text):
    # the last "info registers -a": a second after the first, still halted
    regs = text.rsplit("info registers -a", 1)[-1]
    halted = {}
    for cpu, rfl, hlt in re.findall(
            r"CPU#(\d+)\n(?:.*\n)*?RIP=\S+ RFL=([0-9a-f]+) .*HLT=(\d)", regs):
        halted[int(cpu)] = hlt == "1" and int(rfl, 16) & RFLAGS_IF
    for cpu, isr, irr in re.findall(
            r"\(qemu cpu (\d+)\) info lapic\n(?:.*\n)*?ISR\s+(.*)\n"
            r"(?:.*\n)*?IRR\s+(.*)\n", text):
        isr, irr = isr.strip(), irr.strip()
        if halted.get(int(cpu)) and isr != "(none)" and irr != "(none)":
            return ("vCPU %s halted with interrupts on, vector %s in service,"
                    " %s pending" % (cpu, isr, irr))
    return None


def main():
    with open(sys.argv[1], errors="replace") as f:
        found = lost_interrupt(f.read())
    if not found:
        return 1
    print(found)
    return 0


if __name__ == "__main__":
    sys.exit(main())
