#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Guest side of tools/sysfs-race/test.sh, on our debug kernel; /root holds
# cxl_cram.ko, sysfs_race.ko and kreports.sh.  Prints KEY=VALUE lines.
#   sh sysfs-race-guest.sh NODE_OFFSET PAGES_OFFSET
# The offsets are those of the instruction after the load of cd->priv in
# cram_private_node and cram_private_pages (the host finds them).
#  1. region, memory given back by kmem, cxl_cram.ko private_node=1;
#  2. sysfs_race.ko holds every reader that loaded a non-NULL cd->priv
#     (a watchpoint on cd->priv of this device);
#  3. on CPU 0, readers of private_node and private_pages in a loop; on
#     CPU 1, once a reader holds the pointer, cxl_pci unbind, which
#     detaches the private node before it removes the class device;
#  4. when the driver says the node is offline, the readers are let go.

D=/sys/class/cxl_cram/cram0
P=/sys/module/sysfs_race/parameters
NODES=/sys/devices/system/node

kv() { echo "$1=$2"; }

# shellcheck source=guest-driver/kreports.sh
. /root/kreports.sh

# stat NAME: one of sysfs_race's counters
stat() {
	tr ' ' '\n' <$P/stats | sed -n "s/^$1=//p"
}

# ksym NAME: the address of NAME in cxl_cram, from /proc/kallsyms
ksym() {
	awk -v s="$1" '$3 == s && $4 == "[cxl_cram]" { print "0x" $1; exit }' /proc/kallsyms
}

# wait_for TENTHS CMD...: until CMD succeeds, at most TENTHS/10 s
wait_for() {
	n=$1
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ $n -le 0 ] && return 1
		usleep 100000
	done
}

parked() { [ "$(stat parked)" -ge 1 ] 2>/dev/null; }
detached() { dmesg | grep -q 'private node .*: offline and unregistered'; }

# The controlling shell on CPU 1, the readers on CPU 0
taskset -p -c 1 $$ >/dev/null
kv pinned $?

# shellcheck disable=SC2046 # cram-region prints "REGION DAX NODE"
set -- "$1" "$2" $(cram-region)
kv region.node "$5"
NID=$5
if [ -e "/sys/bus/dax/drivers/kmem/$4" ]; then
	echo "$4" >/sys/bus/dax/drivers/kmem/unbind
	# shellcheck disable=SC2320 # the status of the write
	kv kmem_unbind $?
fi
insmod /root/cxl_cram.ko private_node=1
kv load $?
kv private_node "$(cat $D/private_node)"
kv has_private_memory "$(cat $NODES/has_private_memory)"
BDF=$(basename "$(readlink -f $D/device)")
kv bdf "$BDF"

FN=$(ksym cram_private_node)
FP=$(ksym cram_private_pages)
insmod /root/sysfs_race.ko pci="$BDF" symbol=cram_private_node,cram_private_pages \
	func="$FN,$FP" offset="$1,$2"
kv probe.load $?
dmesg | grep 'sysfs_race: ' | sed 's/^/probe: /'

rm -f /tmp/node.out /tmp/pages.out
taskset -c 0 sh -c "while cat $D/private_node; do :; done >/tmp/node.out 2>/dev/null" &
r1=$!
taskset -c 0 sh -c "while cat $D/private_pages; do :; done >/tmp/pages.out 2>/dev/null" &
r2=$!

wait_for 100 parked
kv parked.before_unbind $?
# a second reader parks meanwhile, when the first one sleeps
usleep 300000
kv parked.at_unbind "$(stat parked)"
echo "$BDF" >/sys/bus/pci/drivers/cxl_pci/unbind &
unbinder=$!
wait_for 600 detached
kv detached $?
echo 1 >$P/released
wait $unbinder
kv unbind $?
kv unbound "$([ -e /sys/bus/pci/drivers/cxl_pci/"$BDF" ] && echo no || echo yes)"
kv class_device "$([ -e $D ] && echo present || echo gone)"
wait_for 100 sh -c "! kill -0 $r1 2>/dev/null && ! kill -0 $r2 2>/dev/null"
kv readers_done $?
kill $r1 $r2 2>/dev/null

kv node.reads "$(wc -l </tmp/node.out)"
kv node.values "$(sort -u /tmp/node.out | tr '\n' ' ')"
kv node.bad "$(grep -cvxE -- "-1|$NID" /tmp/node.out)"
kv pages.reads "$(wc -l </tmp/pages.out)"
kv pages.bad "$(grep -cvxE '[0-9]+' /tmp/pages.out)"
kv has_private_memory.after "$(cat $NODES/has_private_memory)"
for s in hits others windows slept spun overlaps timeouts; do
	kv "probe.$s" "$(stat $s)"
done
dmesg | grep -E 'sysfs_race: |cxl_cram.*private node' | sed 's/^/probe: /'
kv kasan.readers "$(dmesg | grep -cE 'BUG: KASAN: .* in cram_private_(node|pages)')"
# the one in cram_private_node whole (kreports keeps 200 lines of all)
dmesg | grep -A 45 'BUG: KASAN: .* in cram_private_node' | head -n 46 | sed 's/^/reader: /'
kv alive yes
kreports
