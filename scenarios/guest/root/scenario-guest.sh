#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of scripts/scenario: sample the guest's figures onto the
# second serial port (/dev/ttyS1, a socket that the host's cram-stat
# reads and timestamps on arrival, so that device and guest share the
# host's clock), while the scenario's workload runs.
#   sh scenario-guest.sh INTERVAL 'WORKLOAD COMMAND'
# Each line is "key=value ...": seq, the verdicts and discards of every
# cxl_cram device (summed), zswap's direct-node counters, and vmstat's
# swap counts.  Missing files (before the driver loads) are left out.
# Only shell builtins in the loop: a fork costs milliseconds under TCG.

INTERVAL=$1
shift

# add KEY FILE: add FILE's number to the sum in KEY's variable
add() {
	[ -r "$2" ] || return 0
	read -r v <"$2" && eval "$1=\$((\${$1:-0} + v))"
}

sample() {
	line="seq=$seq"
	# shellcheck disable=SC2034  # summed through eval in add()
	verdicts_accepted='' verdicts_refused='' discards_done=''
	for d in /sys/class/cxl_cram/cram*/driver_stats; do
		add verdicts_accepted "$d/verdicts_accepted"
		add verdicts_refused "$d/verdicts_refused"
		add discards_done "$d/discards_done"
	done
	for k in verdicts_accepted verdicts_refused discards_done; do
		eval "v=\$$k"
		[ -z "$v" ] || line="$line $k=$v"
	done
	for k in direct_stores direct_loads direct_refusals direct_fallbacks \
		direct_load_failures stored_pages; do
		[ -r /sys/kernel/debug/zswap/$k ] || continue
		read -r v </sys/kernel/debug/zswap/$k && line="$line $k=$v"
	done
	while read -r k v; do
		case $k in
		pswpin | pswpout) line="$line $k=$v" ;;
		esac
	done </proc/vmstat
	echo "$line"
}

sampler() {
	seq=0
	while :; do
		sample
		seq=$((seq + 1))
		sleep "$INTERVAL" 2>/dev/null || sleep 1
	done
}

[ -d /sys/kernel/debug/zswap ] ||
	mount -t debugfs none /sys/kernel/debug 2>/dev/null
stty -F /dev/ttyS1 raw -echo 2>/dev/null
sampler >/dev/ttyS1 &
pid=$!
sh -c "$1"
rc=$?
kill $pid
wait $pid 2>/dev/null
echo "scenario.rc=$rc"
exit $rc
