#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Build cxl_cram.ko (the cxl-cram guest driver) with kbuild against the
# headers of the guest's Debian 6.12 kernel.
#
# The kernel version is, in order: $KVER; the kernel of the guest image
# (build/guest/inputs, written by scripts/build-guest.sh); that of the
# linux-source-6.12 pin (scripts/versions.sh; bookworm-security).
# Missing headers are installed with apt-get (they pull in the matching
# -common, linux-kbuild-6.12 and, by Debian's dependencies, the image).
#
# The sources are copied to build/guest-driver/ and built there, so the
# source directory stays clean (kbuild 6.12 has no separate output
# directory for external modules).  Result: build/guest-driver/cxl_cram.ko
#
# With CRAM_KERNEL_TREE=<kbuild tree> (build/kernel/obj of
# scripts/build-kernel.sh), it builds against that kernel instead, into
# build/guest-driver-cram/ (or $CRAM_DRIVER_OUT); the Debian build stays.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/apt-local.sh
. "$TOP/scripts/apt-local.sh"
# CRAM_DRIVER_SRC: another module's directory (Kbuild, *.c, *.h), e.g. a
# test module; give it its own CRAM_DRIVER_OUT.
SRC=${CRAM_DRIVER_SRC:-$TOP/guest-driver}
KTREE=${CRAM_KERNEL_TREE:-}
if [ -n "$KTREE" ]; then
    KTREE=$(cd "$KTREE" && pwd) || exit 1
    OUT=${CRAM_DRIVER_OUT:-$TOP/build/guest-driver-cram}
else
    OUT=${CRAM_DRIVER_OUT:-$TOP/build/guest-driver}
fi

log() { echo "guest-driver: $*" >&2; }
die() { log "$*"; exit 1; }

# The kernel release of the guest image, e.g. 6.12.117+deb12-amd64
guest_kver() {
    local inputs=$TOP/build/guest/inputs
    [ -f "$inputs" ] || return 1
    sed -n 's/^linux-image-\(6\.12\.[0-9]*+deb12-amd64\)\(-unsigned\)\? .*/\1/p' \
        "$inputs" | head -n 1 | grep .
}

resolve_kver() {
    local ver
    if [ -n "${KVER:-}" ]; then echo "$KVER"; return; fi
    guest_kver && return
    ver=$(pin_version linux-source-6.12) || die "no kernel version to build against"
    kernel_abi "$ver"
}

install_headers() {
    local kver=$1
    [ -f "/usr/src/linux-headers-$kver/Makefile" ] && return 0
    log "installing linux-headers-$kver"
    [ "$(id -u)" = 0 ] || die "linux-headers-$kver is missing; run as root to install it"
    install_host_pkgs "linux-headers-$kver"
    [ -f "/usr/src/linux-headers-$kver/Makefile" ] ||
        die "linux-headers-$kver installed, but /usr/src/linux-headers-$kver is missing"
}

main() {
    local kver kdir
    if [ -n "$KTREE" ]; then
        [ -f "$KTREE/Module.symvers" ] ||
            die "$KTREE is not a built kernel tree: run scripts/build-kernel.sh"
        kver=$(cat "$KTREE/include/config/kernel.release")
        kdir=$KTREE
    else
        kver=$(resolve_kver)
        install_headers "$kver"
        kdir=/usr/src/linux-headers-$kver
    fi
    mkdir -p "$OUT"
    # Copy the sources (only what changed, so kbuild rebuilds only that)
    local f
    for f in "$SRC"/Kbuild "$SRC"/*.c "$SRC"/*.h; do
        [ -e "$f" ] || continue
        cmp -s "$f" "$OUT/${f##*/}" || cp "$f" "$OUT/"
    done
    echo "$kver${KTREE:+ $kdir}" >"$OUT/kernel.release.new"
    if ! cmp -s "$OUT/kernel.release.new" "$OUT/kernel.release" 2>/dev/null; then
        # another kernel: start afresh
        make -s -C "$kdir" M="$OUT" clean >/dev/null 2>&1 || true
    fi
    mv "$OUT/kernel.release.new" "$OUT/kernel.release"
    make -C "$kdir" M="$OUT" W=1 -j"$(nproc)" modules
    log "built $(cd "$OUT" && echo *.ko) in $OUT for $kver"
}

main "$@"
