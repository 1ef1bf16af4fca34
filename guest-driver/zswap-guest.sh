#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Guest side of guest-driver/zswap-test.sh: runs in a guest booted with our
# kernel (the private-node series), a swap disk on /dev/vda and little RAM;
# /root holds cxl_cram.ko and cram-hog.  Prints KEY=VALUE lines for the host.
#   sh zswap-guest.sh direct|fallback|forced|interleave[-bridges]
# direct:   compressible anonymous memory beyond RAM goes to the cram node
# interleave: direct, on one region interleaved over cram0 and cram1
#           (run-guest --devices 2 --interleave, or --interleave-bridges):
#           each page's verdict and discard go to the device that holds it
# fallback: incompressible memory: the verdicts refuse, zswap falls back
# forced:   verdicts forced off (force_accept=1): dropped writes, poison;
#           the workload pages itself out (MADV_PAGEOUT) instead of
#           exceeding RAM, so that no other task's pages reach the device
#           after its media is gone (a lost page of init is a panic)
# Each one then checks that freed entries discarded their device pages and
# that the module unloads, taking the private node away.

KO=/root/cxl_cram.ko
HOG=/root/cram-hog
D=/sys/class/cxl_cram/cram0
Z=/sys/kernel/debug/zswap
NODES=/sys/devices/system/node
NID=
MEMDEVS=mem0	# the region's memdevs: cram-region's arguments

kv() { echo "$1=$2"; }

# KEY=VALUE lines of the kernel's reports (KASAN, lockdep, WARN...)
# shellcheck source=guest-driver/kreports.sh
. /root/kreports.sh

# node_inuse NID: pages of the node's zones that are allocated: managed,
# less free, less the free pages parked on per-CPU lists
node_inuse() {
	awk -v n="$1," '
		/^Node/ { on = ($2 == n) }
		on && /pages free/ { free += $3 }
		on && $1 == "managed" { managed += $2 }
		on && $1 == "count:" { pcp += $2 }
		END { print managed - free - pcp }' /proc/zoneinfo
}

# devn PREFIX N: figures of cram<N> alone, for regions over several devices
devn() {
	for f in media_used logical_held ratio_fp16 dropped_writes \
		poisoned_pages private_node private_pages hpa_range memdev; do
		kv "$1.cram$2.$f" "$(cat /sys/class/cxl_cram/cram$2/$f)"
	done
	kv "$1.cram$2.interleave" "$(tr ' ' , </sys/class/cxl_cram/cram$2/interleave)"
	for f in verdicts_accepted verdicts_refused discards_done discard_errors; do
		kv "$1.cram$2.$f" "$(cat /sys/class/cxl_cram/cram$2/driver_stats/$f)"
	done
}

# dev PREFIX: the device's figures after a flush (exact), and zswap's;
# with several memdevs, each device's own too
dev() {
	for d in /sys/class/cxl_cram/cram*; do echo 1 >"$d/flush"; done
	if [ "$MEMDEVS" != mem0 ]; then
		devn "$1" 0
		devn "$1" 1
	fi
	for f in media_used logical_held ratio_fp16 headroom_pages \
		dropped_writes poisoned_pages private_pages; do
		kv "$1.$f" "$(cat $D/$f)"
	done
	set -- "$1" $(cat $D/status)
	kv "$1.status" "$2"
	kv "$1.memtotal_kb" "$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
	[ -n "$NID" ] && kv "$1.node_inuse" "$(node_inuse "$NID")"
	kv "$1.refused" "$(cat $D/driver_stats/verdicts_refused)"
	kv "$1.irqs_danger" "$(cat $D/driver_stats/irqs_danger)"
	for f in stored_pages pool_total_size direct_stores direct_loads \
		direct_refusals direct_fallbacks direct_load_failures \
		direct_pages reject_compress_poor reject_compress_fail; do
		kv "$1.$f" "$(cat $Z/$f)"
	done
}

# The region, given back by kmem (the guest boots with hot-added memory
# offline), a swap device, zswap on, then the driver with a private node.
setup() {
	kv boot.memtotal_kb "$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
	# shellcheck disable=SC2086  # one argument per memdev
	set -- $(cram-region $MEMDEVS)
	kv region.node "$3"
	NID=$3
	# the memdev at each position, as cxl_core placed them: targetN names
	# an endpoint decoder, decoderK.J of endpointK, whose uport is memN
	for t in /sys/bus/cxl/devices/"$1"/target[0-9]*; do
		dec=$(readlink -f "/sys/bus/cxl/devices/$(cat "$t")")
		kv "region.${t##*/}" "$(basename "$(readlink -f "${dec%/*}/uport")")"
	done
	if [ -e "/sys/bus/dax/drivers/kmem/$2" ]; then
		echo "$2" >/sys/bus/dax/drivers/kmem/unbind
		kv kmem_unbind $?
	fi
	mkswap /dev/vda >/dev/null && swapon /dev/vda
	kv swapon $?
	echo Y >/sys/module/zswap/parameters/enabled
	# Linux's rendezvous for a second machine check can time out under TCG
	echo 0 >/sys/devices/system/machinecheck/machinecheck0/monarch_timeout
	insmod $KO private_node=1
	kv load $?
	kv private_node "$(cat $D/private_node)"
	kv has_private_memory "$(cat $NODES/has_private_memory)"
	kv has_memory "$(cat $NODES/has_memory)"
	kv iomem "$(grep -c 'System RAM (cxl_cram)' /proc/iomem)"
	dev before
}

# hog MIB PATTERN [pageout]: run cram-hog; its figures are sampled while
# it is stopped between filling and verifying (all of it swapped out or
# held).
hog() {
	$HOG "$1" "$2" 1 ${3:-} stop >/tmp/hog.out 2>&1 &
	pid=$!
	i=0
	while [ $i -lt 3000 ]; do
		state=$(sed 's/.*) \(.\).*/\1/' /proc/$pid/stat 2>/dev/null)
		[ "$state" = T ] && break
		[ -z "$state" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	kv hog.stopped "$state"
	dev filled
	kill -CONT $pid
	wait $pid
	kv hog.rc $?
	cat /tmp/hog.out
}

# After the workload: its entries are freed and their pages discarded;
# zswap still holds other tasks' pages (the initramfs lives in tmpfs)
# until swapoff loads everything back.  Then unload.
teardown() {
	dev after
	swapoff /dev/vda
	kv swapoff $?
	dev drained
	# sysfs readers of the private node while detach takes it away
	while cat $D/private_node $D/private_pages; do :; done >/dev/null 2>&1 &
	reader=$!
	rmmod cxl_cram
	kv unload $?
	kill $reader 2>/dev/null
	wait $reader
	kv unloaded.has_private_memory "$(cat $NODES/has_private_memory)"
	kv unloaded.iomem "$(grep -c 'System RAM (cxl_cram)' /proc/iomem)"
	kv alive yes
}

# The API's contract, checked from a module against the live private node
contract() {
	insmod /root/node_private_test.ko nid="$NID"
	kv contract.load $?
	rmmod node_private_test 2>/dev/null
	kv contract.ok "$(dmesg | grep -c 'node_private_test: ok - ')"
	kv contract.not_ok "$(dmesg | grep -c 'node_private_test: not ok - ')"
	dmesg | grep 'node_private_test: not ok - '
}

direct() {
	setup
	contract
	hog 384 text
	teardown
}

interleave() {
	# In PCI order, which is the window's order of host bridges (run-guest
	# --interleave-bridges): across host bridges cxl_core wants each at
	# its own position, and memN are numbered as they probe.
	MEMDEVS=$(for m in /sys/bus/cxl/devices/mem[0-9]*; do
		echo "$(readlink -f "$m") ${m##*/}"
	done | sort | sed 's/.* //' | tr '\n' ' ')
	setup
	contract
	hog 384 text
	teardown
}

fallback() {
	setup
	hog 384 random
	teardown
}

forced() {
	setup
	echo 1 >/sys/module/cxl_cram/parameters/force_accept
	hog 128 random pageout
	dev poisoned
	kv dmesg.zswap_poisoned "$(dmesg | grep -c 'zswap: direct page .* is poisoned')"
	kv dmesg.memory_failure "$(dmesg | grep -c 'Memory failure')"
	kv dmesg.machine_check "$(dmesg | grep -ci 'machine check')"
	echo 0 >/sys/module/cxl_cram/parameters/force_accept
	teardown
}

# the same guest side, whatever the topology
[ "${1:-}" != interleave-bridges ] || set -- interleave
case ${1:-} in
direct | fallback | forced | interleave)
	"$1"
	rc=$?
	kreports
	exit $rc
	;;
*)
	echo "usage: zswap-guest.sh direct|fallback|forced|interleave[-bridges]" >&2
	exit 2
	;;
esac
