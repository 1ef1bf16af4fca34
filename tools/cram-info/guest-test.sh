#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Guest side of tools/cram-info/test.sh (runs in the test guest as
# /root/guest-test.sh, with /usr/local/bin/cram-info and /root/cxl_cram.ko).
# Each cram-info run is printed between "--- begin NAME" and
# "--- end NAME rc=STATUS"; the host compares them with QMP.
#   basic   before the driver, then with data left on the device
#   poison  media-size=64M: reckless writes leave poisoned pages (-p)
D=/sys/class/cxl_cram/cram0

sec() {
	name=$1
	shift
	echo "--- begin $name"
	"$@" 2>&1
	echo "--- end $name rc=$?"
}

setup() {
	cxl create-region -m -t ram -d decoder0.0 -w 1 mem0 >/dev/null ||
		echo "guest-test: create-region failed"
	insmod /root/cxl_cram.ko || echo "guest-test: insmod failed"
}

# Figures are exact only once the device's cached dirty pages are stored
flush() {
	if [ -e $D/flush ]; then echo 1 >$D/flush; fi
}

basic() {
	sec nodriver cram-info -j
	setup
	echo "run pages=2000 pattern=compressible" >/sys/kernel/debug/cxl_cram/cram0/selftest
	# the self-test frees its pages: leave data on the device too
	mkdir -p /mnt
	mount -t tmpfs -o "size=64M,mpol=bind:$(cat $D/numa_node)" tmpfs /mnt
	yes "cram-info test line: some compressible text" | head -c 4000000 >/mnt/text
	dd if=/dev/zero of=/mnt/zero bs=1M count=2 2>/dev/null
	head -c 200000 /dev/urandom >/mnt/random
	flush
	sec text cram-info
	sec json cram-info --json
	sec poison cram-info -j -p -m mem0
	sec nonexistent cram-info -m nonexistent
}

poison() {
	# see guest-driver/guest-test.sh: no broadcast rendezvous for
	# poisoned reads on several vCPUs
	echo 0 >/sys/devices/system/machinecheck/machinecheck0/monarch_timeout
	setup
	# retire: the poisoned pages stay poisoned on the device
	echo "run pages=16500 pattern=random reckless retire" \
		>/sys/kernel/debug/cxl_cram/cram0/selftest
	flush
	sec text cram-info -p
	sec json cram-info -j -p
	sec cxl cxl list -m mem0 --media-errors
}

case ${1:-} in
basic | poison) "$1" ;;
*)
	echo "usage: guest-test.sh basic|poison" >&2
	exit 2
	;;
esac
