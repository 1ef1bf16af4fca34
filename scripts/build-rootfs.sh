#!/bin/bash
# Build a Debian trixie root file system for the test guest into
# build/rootfs (docs/guest.md, "A real userspace"):
#   rootfs.ext4         the image (raw ext4, sparse), booted on virtio-blk
#                       by scripts/run-guest --rootfs;
#   initrd-root.cpio.gz virtio_blk and ext4 with their dependencies, for
#                       the busybox initramfs to mount it (run-guest
#                       appends it to build/guest/initramfs.cpio.gz);
#   packages            the Debian packages in the image, with versions;
#   inputs              what the image was built from (see inputs()).
# mmdebstrap installs trixie from Debian's archive (its own apt
# configuration: the host's sources are not touched) with numactl,
# stress-ng, fio, linux-perf (6.12, the guest kernel's series), cxl and
# daxctl (ndctl 81, pinned in scripts/versions.sh), plus the guest
# kernel's whole module tree, so that modprobe works.  The .debs are kept
# in .cache/rootfs/debs: a rebuild downloads only the package lists.
# Nothing is rebuilt while the inputs are unchanged; ROOTFS_REFRESH=1
# rebuilds anyway, with the archive's current versions.
#   ROOTFS_EXTRA_PKGS="a b"  more trixie packages
#   ROOTFS_SIZE=2G           the file system's size (the file is sparse)
# Host tools (mmdebstrap, e2fsprogs, cpio, kmod, xz-utils) come from
# bookworm; nothing from trixie is installed on the host.  Run as root.
set -euo pipefail
# shellcheck source=scripts/apt-local.sh
. "$(dirname "$0")/apt-local.sh"
# shellcheck source=scripts/guest-modules.sh
. "$(dirname "$0")/guest-modules.sh"

OUT=${ROOTFS_OUT:-$CRAM_BUILD/rootfs}
RCACHE=$CRAM_CACHE/rootfs
SUITE=trixie
SIZE=${ROOTFS_SIZE:-2G}
HOST_PKGS=(mmdebstrap e2fsprogs cpio kmod xz-utils gzip)
# What a memory-management developer reaches for (mount: for swapon and
# cram-tmpfs); cxl and daxctl are pinned (below).  Without recommends.
PKGS=(numactl stress-ng fio linux-perf kmod procps pciutils strace less mount
    time)
read -ra EXTRA <<<"${ROOTFS_EXTRA_PKGS:-}"
PKGS+=("${EXTRA[@]}")
PINNED=(cxl daxctl)
# The initramfs loads these (and their dependencies) to mount the image.
ROOT_MODULES=(virtio_blk ext4)

log() { echo "build-rootfs: $*" >&2; }
die() { log "$*"; exit 1; }

# Sets KPKG ("package version") and KDEB: the guest image's kernel, whose
# .deb scripts/build-guest.sh keeps in .cache/guest/debs.
guest_kernel() {
    KPKG=$(grep -m1 '^linux-image-' "$CRAM_BUILD/guest/inputs") ||
        die "no kernel in $CRAM_BUILD/guest/inputs"
    KDEB=$(deb_file "$CRAM_CACHE/guest/debs/bookworm" "${KPKG% *}" "${KPKG#* }")
    [ -f "$KDEB" ] || die "no $KDEB: run scripts/build-guest.sh"
}

# Sets INCLUDE: the package list for mmdebstrap, the pins as pkg=version.
resolve_packages() {
    local p line
    INCLUDE=("${PKGS[@]}")
    for p in "${PINNED[@]}"; do
        line=$(pin_version "$p") || die "cannot resolve the pin of $p"
        INCLUDE+=("$p=$line")
    done
}

# Everything the image depends on, compared with the stamp of the last
# build.  The versions of unpinned packages are what the archive had then
# (build/rootfs/packages lists them).
inputs() {
    echo "suite: $SUITE $DEBIAN_MIRROR"
    echo "packages: ${INCLUDE[*]}"
    echo "kernel: $KPKG"
    echo "size: $SIZE"
    (cd "$CRAM_TOP" && sha256sum scripts/build-rootfs.sh)
}

# mmdebstrap into DIR, the .debs synced in from and out to the cache.
# essential + the list: no apt, no init system (the initramfs's /init
# stays PID 1), no documentation or translations.
debootstrap_tree() {
    local dir=$1
    mkdir -p "$RCACHE/debs"
    # shellcheck disable=SC2016  # $1 is for the hook's shell
    nice mmdebstrap --mode=root --variant=essential \
        --include="$(IFS=,; echo "${INCLUDE[*]}")" \
        --aptopt='APT::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --skip=download/empty --skip=essential/unlink \
        --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
        --setup-hook="sync-in $RCACHE/debs /var/cache/apt/archives/" \
        --customize-hook="sync-out /var/cache/apt/archives $RCACHE/debs" \
        "$SUITE" "$dir" "$DEBIAN_MIRROR" >&2
}

# The kernel's modules into the tree (modprobe works in the guest), and
# ROOT_MODULES decompressed into initrd-root.cpio.gz for the initramfs,
# listed in load order in its /etc/cram/modules-root.
install_kernel() {
    local tree=$1 stage=$RCACHE/kernel kver kdir
    rm -rf "$stage" && mkdir -p "$stage"
    dpkg-deb -x "$KDEB" "$stage/deb"
    kver=$(basename "$(echo "$stage"/deb/lib/modules/*)")
    kdir=$stage/deb/lib/modules/$kver
    mkdir -p "$tree/usr/lib/modules"
    cp -a "$kdir" "$tree/usr/lib/modules/"
    depmod -b "$tree" "$kver"
    local iroot=$stage/initrd
    mkdir -p "$iroot/etc/cram"
    : >"$iroot/etc/cram/modules-root"
    copy_modules "$tree" "$kver" "$iroot" "$iroot/etc/cram/modules-root" \
        "${ROOT_MODULES[@]}"
    (cd "$iroot" && find . -print0 | LC_ALL=C sort -z |
        cpio --null --quiet -o -H newc --owner=0:0 --reproducible) |
        gzip -6n >"$OUT/initrd-root.cpio.gz.tmp"
    rm -rf "$stage"
}

# The guest's own settings on top of Debian's.
customize() {
    local tree=$1
    echo cram-guest >"$tree/etc/hostname"
    : >"$tree/etc/fstab"
    mkdir -p "$tree/root" "$tree/usr/local/bin"
}

# The tools must run (on the host, in the tree: same architecture).
smoke() {
    local tree=$1 v
    v=$(chroot "$tree" cxl version) || die "cxl does not run in the image"
    case $v in 81*) ;; *) die "cxl is version $v, not 81" ;; esac
    chroot "$tree" daxctl version >/dev/null || die "daxctl does not run in the image"
    chroot "$tree" stress-ng --version >/dev/null || die "stress-ng does not run"
    chroot "$tree" fio --version >/dev/null || die "fio does not run"
    chroot "$tree" perf version >/dev/null || die "perf does not run"
    chroot "$tree" numactl --version >/dev/null 2>&1 ||
        chroot "$tree" sh -c 'command -v numactl' >/dev/null || die "no numactl"
}

build() {
    local tree=$OUT/tree
    rm -rf "$tree" "$OUT/rootfs.ext4.tmp"
    mkdir -p "$OUT"
    SECONDS=0
    debootstrap_tree "$tree" || die "mmdebstrap failed"
    log "mmdebstrap: $SECONDS s"
    install_kernel "$tree"
    customize "$tree"
    smoke "$tree"
    # shellcheck disable=SC2016  # dpkg-query's fields
    chroot "$tree" dpkg-query -W -f='${Package} ${Version}\n' >"$OUT/packages"
    prune_cache
    # -d copies the tree in: no loop mount; the file stays sparse.
    truncate -s "$SIZE" "$OUT/rootfs.ext4.tmp"
    nice mkfs.ext4 -q -F -L cram-rootfs -d "$tree" "$OUT/rootfs.ext4.tmp" ||
        die "mkfs.ext4 failed (ROOTFS_SIZE=$SIZE too small?)"
    rm -rf "$tree"
    mv "$OUT/initrd-root.cpio.gz.tmp" "$OUT/initrd-root.cpio.gz"
    mv "$OUT/rootfs.ext4.tmp" "$OUT/rootfs.ext4"
    log "rootfs.ext4: $(wc -l <"$OUT/packages") packages, $(du -h "$OUT/rootfs.ext4" |
        cut -f1) used of $SIZE, in $SECONDS s"
}

# Drop the cached .debs that the image no longer has (older versions).
prune_cache() {
    local -A keep=()
    local p v f b
    while read -r p v; do keep["${p}_${v//:/%3a}"]=1; done <"$OUT/packages"
    for f in "$RCACHE"/debs/*.deb; do
        [ -e "$f" ] || continue
        b=${f##*/}
        b=${b%_*.deb}
        [ -n "${keep[$b]:-}" ] || rm -f "$f"
    done
}

main() {
    [ "$(id -u)" = 0 ] || die "run as root (mmdebstrap's root mode, chroot)"
    mkdir -p "$RCACHE"
    exec 9>"$RCACHE/lock"
    flock 9   # one build at a time
    install_host_pkgs "${HOST_PKGS[@]}"
    bash "$CRAM_TOP/scripts/build-guest.sh" >&2   # its kernel (up to date: 2 s)
    guest_kernel
    resolve_packages
    local want
    want=$(inputs)
    if [ "${ROOTFS_REFRESH:-0}" != 1 ] && [ -f "$OUT/inputs" ] &&
        [ "$(cat "$OUT/inputs")" = "$want" ] && [ -f "$OUT/rootfs.ext4" ] &&
        [ -f "$OUT/initrd-root.cpio.gz" ]; then
        touch "$OUT/inputs"   # run-guest compares build-rootfs.sh with this date
        log "up to date ($OUT/rootfs.ext4)"
        return 0
    fi
    rm -f "$OUT/inputs"
    build
    echo "$want" >"$OUT/inputs"
}

main "$@"
