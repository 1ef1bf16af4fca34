#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Sourced by guest-test.sh and zswap-guest.sh in the guest (busybox sh),
# after kv() is defined, and by test.sh and zswap-test.sh on the host
# (bash, after scripts/tap.sh).  kreports prints the kernel's reports found in
# the ring buffer: KASAN, KFENCE, lockdep (circular or recursive locking,
# inconsistent lock state, suspicious RCU usage), sleeping in atomic
# context, WARN, BUG, oops (guest-driver/kernel/debug.config turns the
# checks on).  The host fails the scenario when kernel.reports is not 0;
# the reports themselves follow as "kernel: " lines.
# The patterns are the headers that these reports begin with.

KREPORTS='BUG:|WARNING:|Oops|general protection fault|kernel BUG at|UBSAN:'
KREPORTS="$KREPORTS|Kernel panic|INFO: task .* blocked|non-static key"

kreports() {
	kv kernel.reports "$(dmesg | grep -cE "$KREPORTS")"
	kv kernel.taint "$(cat /proc/sys/kernel/tainted)"
	dmesg | grep -E -A 60 "$KREPORTS" | head -n 200 | sed 's/^/kernel: /'
}

# Host side: check_reports NAME, one "ok"/"not ok" line from the scenario's
# output $RES; the reports follow a failure as "# kernel: " lines.
check_reports() {
	kreports_n=$(v kernel.reports)
	kreports_t=$(v kernel.taint)
	check "$1: no kernel report (KASAN, lockdep, WARN, BUG: $kreports_n; taint $kreports_t)" \
		"$kreports_n" = 0
	[ "$kreports_n" = 0 ] || grep '^kernel: ' "$RES" | head -n 60 | sed 's/^/# /'
}
