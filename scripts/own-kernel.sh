#!/bin/bash
# Your own kernel tree for the guest: sourced by scripts/run-guest and
# guest-driver/test.sh (--kernel-src DIR).  own_kernel DIR builds DIR with
# scripts/build-kernel.sh (KERNEL_SRC; incremental) and exports where it
# went: CRAM_KERNEL_TREE (the kbuild tree, build/kernel-<name>/obj) and
# GUEST_DIR (the guest image of that kernel, build/guest-<name>), unless
# already set; OWN_NAME is <name>, the last component of DIR.
own_kernel() {
    local dir top
    top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    dir=$(cd "$1" 2>/dev/null && pwd) || { echo "--kernel-src $1: no such directory" >&2; return 1; }
    OWN_NAME=${dir##*/}
    KERNEL_SRC=$dir bash "$top/scripts/build-kernel.sh" >&2 || return 1
    export CRAM_KERNEL_TREE=${CRAM_KERNEL_TREE:-$top/build/kernel-$OWN_NAME/obj}
    export GUEST_DIR=${GUEST_DIR:-$top/build/guest-$OWN_NAME}
}
