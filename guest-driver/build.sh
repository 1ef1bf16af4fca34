#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Build cxl_cram.ko (the cxl-cram guest driver) with kbuild against the
# headers of the guest's Debian 6.12 kernel.
#
# The kernel is, in order: $KVER (a release whose headers are installed
# in /usr/src); the kernel of the guest image (build/guest/inputs,
# written by scripts/build-guest.sh); that of the linux-source-6.12 pin
# (scripts/versions.sh; bookworm-security).  Debian's headers of the
# last two are unpacked into .cache/kheaders, never installed: installed,
# they would pull in the kernel image itself, and upgrades, on the host.
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

# The Debian version of the guest image's kernel, e.g. 6.12.117-1~deb12u1
guest_debver() {
    sed -n 's/^linux-image-6\.12\.[0-9]*+deb12-amd64\(-unsigned\)\? //p' \
        "$TOP/build/guest/inputs" 2>/dev/null | head -n 1 | grep .
}

# unpack_headers: prints the kbuild directory of the Debian kernel to
# build against: linux-headers-<release>, its -common headers and
# linux-kbuild unpacked into .cache/kheaders/<release>/ (again when the
# version moves).  Their first Makefile includes the -common one by its
# absolute path: it is pointed at the unpacked copy.
unpack_headers() {
    local ver kver dest base pkg
    if ver=$(guest_debver); then
        kver=$(guest_kver)
    else
        ver=$(pin_version linux-source-6.12) || die "no kernel version to build against"
        kver=$(kernel_abi "$ver")
    fi
    dest=$CRAM_CACHE/kheaders/$kver base=${kver%-amd64}
    if [ "$(cat "$dest/.done" 2>/dev/null)" != "$ver" ]; then
        log "unpacking the headers of $kver ($ver) into $dest"
        rm -rf "$dest" && mkdir -p "$dest"
        for pkg in "linux-headers-$kver" "linux-headers-$base-common" "linux-kbuild-$base"; do
            fetch_deb bookworm "$CRAM_CACHE/kheaders/debs" "$pkg" "$ver" ||
                die "cannot download $pkg $ver"
            dpkg-deb -x "$(deb_file "$CRAM_CACHE/kheaders/debs" "$pkg" "$ver")" "$dest"
        done
        sed -i "s|/usr/src/|$dest/usr/src/|" "$dest/usr/src/linux-headers-$kver/Makefile"
        echo "$ver" >"$dest/.done"
    fi
    echo "$dest/usr/src/linux-headers-$kver"
}

main() {
    local kver kdir
    if [ -n "$KTREE" ]; then
        [ -f "$KTREE/Module.symvers" ] ||
            die "$KTREE is not a built kernel tree: run scripts/build-kernel.sh"
        kver=$(cat "$KTREE/include/config/kernel.release")
        kdir=$KTREE
    elif [ -n "${KVER:-}" ]; then
        kver=$KVER kdir=/usr/src/linux-headers-$KVER
        [ -f "$kdir/Makefile" ] || die "KVER=$KVER: no $kdir"
    else
        # Debian's kernel has BTF for modules (CONFIG_DEBUG_INFO_BTF_MODULES):
        # kbuild runs pahole on the module, a build tool that the
        # installed headers used to pull in
        install_host_pkgs pahole
        kdir=$(unpack_headers) || exit 1
        kver=${kdir##*/linux-headers-}
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
