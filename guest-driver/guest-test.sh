#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Guest side of guest-driver/test.sh: runs in the test guest (busybox sh)
# with cxl_cram.ko in /root, and prints KEY=VALUE lines that the host
# checks.  Usage: sh guest-test.sh basic|incompressible|reckless
# Waits on observable state with bounded loops; no timing guesses.

KO=/root/cxl_cram.ko
D=/sys/class/cxl_cram/cram0
T=/sys/kernel/debug/cxl_cram/cram0/selftest

# Kernel messages stay in the ring buffer (the checks read it with dmesg):
# printed on the console, they can land inside a KEY=VALUE line.
dmesg -n 1

kv() { echo "$1=$2"; }
exists() { if [ -e "$1" ]; then echo yes; else echo no; fi; }

# KEY=VALUE lines of the kernel's reports (KASAN, lockdep, WARN...)
# shellcheck source=guest-driver/kreports.sh
. /root/kreports.sh

# wait_for PATH: up to 10 s for PATH to appear
wait_for() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "$1" ]
}

# The self-test result as PREFIX.KEY=VALUE lines; a snapshot line
# "stored: media_used=..." gives PREFIX.stored.media_used=...
st_dump() {
	while read -r line; do
		sec=
		case $line in
		*:\ *) sec=${line%%: *}. line=${line#*: } ;;
		esac
		for w in $line; do
			case $w in *=*) echo "$1.$sec$w" ;; esac
		done
	done <$T
}

# run PREFIX WORDS: one self-test run
run() {
	p=$1
	shift
	echo "run $*" >$T
	kv "$p.write" $?
	st_dump "$p"
}

sysfs_dump() {
	for f in "$D"/* "$D"/driver_stats/*; do
		[ -f "$f" ] && [ -r "$f" ] || continue
		case ${f##*/} in uevent | flush) continue ;; esac
		kv "sysfs.${f#"$D"/}" "$(cat "$f" | tr ' ' '_')"
	done
}

# wait_online: until the region's memory is online on a node, or 10 s.
# kmem onlines it after the DAX device appears (asynchronously on 7.2).
wait_online() {
	i=0
	while [ "$(cat $D/numa_node)" -lt 0 ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

region() {
	cxl create-region -m -t ram -d decoder0.0 -w 1 "$(cat $D/memdev)" >/dev/null
	kv region $?
	wait_for /sys/bus/dax/devices/dax0.0
	wait_online
	kv node "$(cat $D/numa_node)"
	kv hpa_range "$(cat $D/hpa_range)"
}

loaded_state() {
	kv "$1.class" "$(exists $D)"
	kv "$1.debugfs" "$(exists /sys/kernel/debug/cxl_cram)"
	kv "$1.irqs" "$(grep -c cxl_cram /proc/interrupts)"
	kv "$1.iomem" "$(grep -c cxl_cram /proc/iomem)"
	kv "$1.module" "$(grep -c '^cxl_cram ' /proc/modules)"
}

basic() {
	insmod $KO
	kv load $?
	loaded_state loaded
	kv irq_mode "$(cat $D/irq_mode)"
	kv memdev "$(cat $D/memdev)"

	# watermark validation: low < high <= media size
	low=$(cat $D/low_watermark)
	high=$(cat $D/high_watermark)
	media=$(cat $D/media_size)
	echo $((media + 1)) 2>/dev/null >$D/high_watermark
	kv wm.high_over_media $?
	echo "$high" 2>/dev/null >$D/low_watermark
	kv wm.low_at_high $?
	echo $((low - 4096)) >$D/low_watermark
	kv wm.low_lower $?
	kv wm.low_read "$(($(cat $D/low_watermark) - low))"
	echo "$low" >$D/low_watermark
	kv wm.restored "$(($(cat $D/low_watermark) == low))"

	# cxl_pci unbinds: detach; binds again: attach
	bdf=$(basename "$(readlink $D/device)")
	echo "$bdf" >/sys/bus/pci/drivers/cxl_pci/unbind
	loaded_state unbound
	echo "$bdf" >/sys/bus/pci/drivers/cxl_pci/bind
	wait_for $D
	loaded_state rebound
	cxl wait-probe 2>/dev/null
	wait_for /sys/bus/cxl/drivers/cxl_mem/"$(cat $D/memdev)"

	region
	run compressible pages=4096 pattern=compressible
	run mixed pages=1024 pattern=mixed

	rmmod cxl_cram
	kv unload $?
	loaded_state unloaded
	insmod $KO
	kv reload $?
	loaded_state reloaded

	# leave data on the device for the sysfs / QMP comparison
	mkdir -p /mnt
	mount -t tmpfs -o "size=64M,mpol=bind:$(cat $D/numa_node)" tmpfs /mnt
	dd if=/dev/zero of=/mnt/zero bs=1M count=4 2>/dev/null
	head -c 4000000 /dev/urandom >/mnt/random
	i=0
	while [ $i -lt 200 ]; do
		echo "cxl-cram guest driver test line $i: compressible text" >>/mnt/text
		i=$((i + 1))
	done
	echo 1 >$D/flush
	sysfs_dump
}

incompressible() {
	insmod $KO
	kv load $?
	region
	run incompressible pages=20000 pattern=random
	kv dmesg.danger "$(dmesg | grep -c 'cram0: danger:')"
	kv dmesg.safe "$(dmesg | grep -c 'cram0: safe:')"
	kv dmesg.dropped "$(dmesg | grep -c 'cram0: media exhausted')"
	sysfs_dump
	rmmod cxl_cram
	kv unload $?
}

# region_private: the region onlined as a private node by the driver
# (private_node=1), not by kmem as ordinary memory.  Only the pages the
# test allocates (with __GFP_THISNODE) are then on the device: onlined
# by kmem, its memory also takes the kernel's own data (slab, and KASAN's
# shadow of its later memory blocks, 1 GiB for 8 GiB), whose writes the
# device drops and poisons like the test's once media runs out.
region_private() {
	wait_for /sys/bus/cxl/drivers/cxl_mem/mem0
	echo offline >/sys/devices/system/memory/auto_online_blocks
	cxl create-region -m -t ram -d decoder0.0 -w 1 mem0 >/dev/null
	kv region $?
	wait_for /sys/bus/dax/drivers/kmem/dax0.0
	echo dax0.0 >/sys/bus/dax/drivers/kmem/unbind
	kv kmem_unbind $?
	echo online >/sys/devices/system/memory/auto_online_blocks
	insmod $KO private_node=1
	kv load $?
	wait_online
	kv node "$(cat $D/numa_node)"
	kv private_node "$(cat $D/private_node)"
	kv node.slab_kb "$(sed -n 's/.*Slab: *\([0-9]*\) kB/\1/p' \
		"/sys/devices/system/node/node$(cat $D/numa_node)/meminfo")"
}

reckless() {
	# Poisoned reads in quick succession on different vCPUs: a machine
	# check may arrive while another CPU's handler still runs (see
	# docs/ratio-safety.md); keep Linux's broadcast rendezvous off.
	echo 0 >/sys/devices/system/machinecheck/machinecheck0/monarch_timeout
	if [ -e /sys/devices/system/node/has_private_memory ]; then
		region_private
	else
		insmod $KO
		kv load $?
		region
	fi
	run reckless pages=16500 pattern=random reckless
	kv dmesg.mce "$(dmesg | grep -c 'cram0: machine check: poisoned read')"
	# again, handing the poisoned pages to memory-failure (they stay
	# poisoned on the device, and the kernel retires them)
	run retire pages=16500 pattern=random reckless retire
	kv dmesg.memory_failure "$(dmesg | grep -c 'Memory failure:')"
	kv hwcorrupted_kb "$(sed -n 's/^HardwareCorrupted: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
	kv media_errors "$(cxl list -m "$(cat $D/memdev)" --media-errors 2>/dev/null |
		grep -c '"offset"')"
	sysfs_dump
	rmmod cxl_cram
	kv unload $?
	kv alive yes
}

case ${1:-} in
basic | incompressible | reckless)
	"$1"
	rc=$?
	kreports
	exit $rc
	;;
*)
	echo "usage: guest-test.sh basic|incompressible|reckless" >&2
	exit 2
	;;
esac
