#!/bin/bash
# Kernel modules for the busybox /init of the test guest, shared by
# scripts/build-guest.sh (the CXL and DAX modules) and
# scripts/build-rootfs.sh (virtio_blk and ext4, to mount the image).
# Source this file; the caller defines die().

# copy_modules SRC KVER DST LIST MODULE...: each MODULE and the modules it
# depends on (modprobe --show-depends in the tree SRC, whose modules are
# in SRC/lib/modules/KVER or SRC/usr/lib/modules/KVER), decompressed into
# DST/usr/lib/modules/KVER and appended to LIST as "name path" lines in
# load order, so that /init loads them with plain insmod.  Modules of
# arch/x86/crypto are left out: qemu64 lacks the instructions they need
# (crc32c-intel: SSE4.2), and their generic versions serve.
copy_modules() {
    local src=$1 kver=$2 dst=$3 list=$4 kdir m line rel seen=" "
    shift 4
    kdir=$src/lib/modules/$kver
    [ -d "$kdir" ] || kdir=$src/usr/lib/modules/$kver
    dst=$dst/usr/lib/modules/$kver
    for m in "$@"; do
        modprobe -d "$src" -S "$kver" --show-depends "$m" >"$list.deps" ||
            die "module $m not found in $kver"
        while read -r line; do
            case $line in insmod\ *) ;; *) continue ;; esac   # "builtin x"
            rel=${line#insmod *"/lib/modules/$kver/"}
            rel=${rel%% *}
            case $rel in */arch/x86/crypto/*) continue ;; esac
            case $seen in *" $rel "*) continue ;; esac
            seen+="$rel "
            mkdir -p "$dst/$(dirname "$rel")"
            case $rel in
            *.xz) xz -dc "$kdir/$rel" >"$dst/${rel%.xz}" ;;
            *) cp "$kdir/$rel" "$dst/$rel" ;;
            esac
            rel=${rel%.xz}
            m=$(basename "$rel" .ko)
            echo "${m//-/_} $rel" >>"$list"
        done <"$list.deps"
    done
    rm -f "$list.deps"
}
