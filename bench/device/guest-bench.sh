#!/bin/sh
# In the test guest (booted by bench/device/run.sh with cram.nomod=kmem):
# create a 1-way RAM region on the cxl-type3 and on the cxl-cram, keep both
# as device-dax, and run devbench on them and on a file in the guest's own
# RAM (the initramfs is a RAM file system).  Arguments go to devbench.
set -e

# cxl-cram is PCI 1b36:00cc (docs/registers.md); the other memdev is type3.
t3mem='' crammem='' crampci=''
for m in /sys/bus/cxl/devices/mem*; do
    pci=$(dirname "$(readlink -f "$m")")
    if [ "$(cat "$pci/device")" = 0x00cc ]; then
        crammem=${m##*/} crampci=$pci
    else
        t3mem=${m##*/}
    fi
done
if [ -z "$t3mem" ] || [ -z "$crammem" ]; then
    echo "guest-bench: want one type3 and one cram memdev" >&2
    exit 1
fi

# region_of MEMDEV: a RAM region under whichever root decoder reaches it;
# prints the DAX device.
dax_of() {
    region=''
    for d in /sys/bus/cxl/devices/decoder0.*; do
        region=$(cxl create-region -m -t ram -d "${d##*/}" -w 1 "$1" 2>/dev/null |
            sed -n 's/.*"region":"\(region[0-9]*\)".*/\1/p')
        [ -z "$region" ] || break
    done
    [ -n "$region" ] || { echo "guest-bench: no region for $1" >&2; return 1; }
    i=0
    while :; do
        for x in /sys/bus/cxl/devices/"$region"/dax_region*/dax[0-9]*; do
            dax=${x##*/}
        done
        [ -e "/sys/bus/dax/devices/$dax" ] && break
        i=$((i + 1))
        [ $i -lt 100 ] || { echo "guest-bench: no DAX device for $region" >&2; return 1; }
        sleep 0.1
    done
    # without kmem the DAX device exists but is disabled: enable it
    daxctl reconfigure-device -m devdax -f "$dax" >/dev/null 2>&1 || true
    [ -c "/dev/$dax" ] || { echo "guest-bench: no /dev/$dax" >&2; return 1; }
    echo "$dax"
}

t3dax=$(dax_of "$t3mem")
cramdax=$(dax_of "$crammem")
echo "DEVS,type3=$t3mem/$t3dax,cram=$crammem/$cramdax,cram_pci=${crampci##*/}"
mkdir -p /tmp
exec devbench -b "$crampci/resource5" -R /tmp/devbench-ram "$@" \
    "/dev/$t3dax" "/dev/$cramdax"
