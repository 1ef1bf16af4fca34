#!/bin/bash
# Build the CXL test guest into build/guest: Debian's 6.12 kernel
# (bookworm-security) and a busybox initramfs holding the CXL/DAX modules,
# trixie's cxl and daxctl (bookworm's ndctl 76 cannot create RAM regions)
# and guest/ (the /init script and helpers).  Package versions are the
# pins of scripts/versions.sh; when they and guest/ and this script are
# unchanged, nothing is rebuilt.  Nothing is installed from trixie: the .debs
# are only unpacked into .cache/guest.
#
# With CRAM_KERNEL_TREE=<kbuild tree> (build/kernel/obj of
# scripts/build-kernel.sh), the image is built for that kernel instead, into
# build/guest-cram (or $GUEST_OUT): its bzImage, and no module at all, since
# the CXL, DAX and fw_cfg drivers are built in (checked against its
# modules.builtin).  /etc/cram/modules is then empty.
set -euo pipefail
# shellcheck source=scripts/apt-local.sh
. "$(dirname "$0")/apt-local.sh"
# shellcheck source=scripts/guest-modules.sh
. "$(dirname "$0")/guest-modules.sh"

KTREE=${CRAM_KERNEL_TREE:-}
if [ -n "$KTREE" ]; then
    KTREE=$(cd "$KTREE" && pwd) || exit 1
    OUT=${GUEST_OUT:-$CRAM_TOP/build/guest-cram}
else
    OUT=${GUEST_OUT:-$CRAM_TOP/build/guest}
fi
GCACHE=$CRAM_CACHE/guest
HOST_PKGS=(cpio kmod xz-utils gzip)
# Loaded by /init in this order, with their dependencies; qemu_fw_cfg
# carries commands too long for the kernel command line.
MODULES=(cxl_acpi cxl_pci cxl_port cxl_mem dax device_dax dax_cxl kmem
    qemu_fw_cfg)
# cxl, daxctl and their shared-library closure (checked below with ld.so).
TRIXIE_PKGS=(cxl daxctl libc6 libcxl1 libdaxctl1 libndctl6 libkmod2 libudev1
    libuuid1 libjson-c5 libiniparser4 libtraceevent1 libtracefs1 libssl3t64
    liblzma5 libzstd1 libcap2 zlib1g libselinux1 libpcre2-8-0 libgcc-s1
    liblz4-1 libcrypt1)

log() { echo "build-guest: $*" >&2; }
die() { log "$*"; exit 1; }

# The image package of kernel VERSION: the -unsigned one (the same kernel
# and modules without the signature) when apt knows it.
kernel_pkg() {
    local abi madison p
    abi=$(kernel_abi "$1")
    madison=$(apt_cache bookworm madison "linux-image-$abi-unsigned" "linux-image-$abi" 2>/dev/null)
    for p in "linux-image-$abi-unsigned" "linux-image-$abi"; do
        if grep -qxF -- "$1" <<<"$(madison_versions "$p" <<<"$madison")"; then
            echo "$p"
            return 0
        fi
    done
    log "no linux-image-$abi(-unsigned) $1 in apt's lists"
    return 1
}

# Sets BOOKWORM (kernel + busybox-static) and TRIXIE: "pkg version" lines.
resolve_versions() {
    local kver kpkg
    if [ -n "$KTREE" ]; then
        BOOKWORM=$(pins_resolve busybox-static) || return 1
    else
        kver=$(pin_version linux-source-6.12) || return 1
        kpkg=$(kernel_pkg "$kver") || return 1
        BOOKWORM="$kpkg $kver"$'\n'$(pins_resolve busybox-static) || return 1
    fi
    TRIXIE=$(pins_resolve "${TRIXIE_PKGS[@]}") || return 1
}

# Everything the image depends on, one line each: compared with the stamp
# of the last build.
inputs() {
    echo "bookworm:"; echo "$BOOKWORM"
    echo "trixie:"; echo "$TRIXIE"
    if [ -n "$KTREE" ]; then
        echo "kernel: $KTREE $(cat "$KTREE/include/config/kernel.release")"
        (cd "$KTREE" && sha256sum arch/x86/boot/bzImage modules.builtin)
    fi
    (cd "$CRAM_TOP" && find guest scripts/build-guest.sh -type f -print0 |
        sort -z | xargs -0 sha256sum)
    (cd "$CRAM_TOP" && find guest -print0 | sort -z | xargs -0 stat -c '%a %n')
}

fetch_all() {
    local pkg ver
    while read -r pkg ver; do
        fetch_deb bookworm "$GCACHE/debs/bookworm" "$pkg" "$ver" || return 1
    done <<<"$BOOKWORM"
    while read -r pkg ver; do
        fetch_deb trixie "$GCACHE/debs/trixie" "$pkg" "$ver" || return 1
    done <<<"$TRIXIE"
}

# Unpack every .deb of a "pkg version" list into DIR.
unpack() {
    local dir=$1 list=$2 debs=$3 pkg ver
    rm -rf "$dir" && mkdir -p "$dir"
    while read -r pkg ver; do
        dpkg-deb -x "$(deb_file "$debs" "$pkg" "$ver")" "$dir"
    done <<<"$list"
}

# A merged-/usr skeleton, as in trixie, so that its binaries find their
# loader (/lib64/ld-linux-x86-64.so.2) and libraries at the usual paths.
make_skeleton() {
    local d
    rm -rf "$ROOT"
    mkdir -p "$ROOT"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,usr/local/bin}
    mkdir -p "$ROOT"/{dev,proc,sys,tmp,run,root,etc/cram,mnt}
    for d in bin sbin lib lib64; do ln -s "usr/$d" "$ROOT/$d"; done
    # The kernel opens /dev/console before /init mounts devtmpfs.
    mknod "$ROOT/dev/console" c 5 1
    chmod 1777 "$ROOT/tmp"
}

install_busybox() {
    local a
    install -m 755 "$STAGE/bookworm/bin/busybox" "$ROOT/usr/bin/busybox"
    for a in $("$ROOT/usr/bin/busybox" --list-full); do
        case $a in */*) ;; *) continue ;; esac   # skips "linuxrc"
        a=/usr/${a#usr/}
        [ -e "$ROOT$a" ] || ln -s /usr/bin/busybox "$ROOT$a"
    done
}

# A kernel of build-kernel.sh: every module of MODULES must be built in.
# Its modules.builtin goes into the image (libkmod, as used by cxl and
# daxctl, then knows them) and /etc/cram/modules stays empty.
install_builtin() {
    local dst=$ROOT/usr/lib/modules/$KVER m missing=()
    for m in "${MODULES[@]}"; do
        sed 's|.*/||; s|\.ko$||; s|-|_|g' "$KTREE/modules.builtin" | grep -qx "$m" ||
            missing+=("$m")
    done
    [ ${#missing[@]} -eq 0 ] ||
        die "not built into $KTREE: ${missing[*]} (see guest-driver/kernel/cram.config)"
    mkdir -p "$dst"
    cp "$KTREE"/modules.builtin "$KTREE"/modules.builtin.modinfo "$dst/"
    cp "$KTREE/modules.order" "$dst/" 2>/dev/null || : >"$dst/modules.order"
    : >"$ROOT/etc/cram/modules"
    depmod -b "$ROOT" "$KVER"
}

# Copy the modules and their dependencies (decompressed), list them in load
# order for /init, and index them with depmod for busybox modprobe.
install_modules() {
    local kdir=$STAGE/bookworm/lib/modules/$KVER dst=$ROOT/usr/lib/modules/$KVER
    depmod -b "$STAGE/bookworm" "$KVER"
    mkdir -p "$dst"
    cp "$kdir"/modules.builtin* "$kdir/modules.order" "$dst/"
    : >"$ROOT/etc/cram/modules"
    copy_modules "$STAGE/bookworm" "$KVER" "$ROOT" "$ROOT/etc/cram/modules" \
        "${MODULES[@]}"
    depmod -b "$ROOT" "$KVER"
}

# trixie's cxl/daxctl with all the shared libraries of the packages (the
# closure includes libraries libkmod opens with dlopen, e.g. liblzma).
install_trixie() {
    local t=$STAGE/trixie lib=$ROOT/usr/lib/x86_64-linux-gnu b
    cp -a "$t"/usr/lib/x86_64-linux-gnu/*.so* "$lib/"
    # Packages not yet moved to /usr by trixie's merged-/usr transition.
    if [ -d "$t/lib/x86_64-linux-gnu" ]; then cp -a "$t"/lib/x86_64-linux-gnu/*.so* "$lib/"; fi
    ln -sf ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$ROOT/usr/lib64/ld-linux-x86-64.so.2"
    for b in cxl daxctl; do
        install -m 755 "$t/usr/bin/$b" "$ROOT/usr/bin/$b"
        check_closure "$ROOT/usr/bin/$b"
    done
}

# Fail unless the loader finds every library of BIN inside the image.
check_closure() {
    local bin=$1 list
    list=$("$ROOT/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
        --library-path "$ROOT/usr/lib/x86_64-linux-gnu" --list "$bin")
    if grep -q 'not found' <<<"$list"; then
        die "$(basename "$bin"): missing libraries: $(grep 'not found' <<<"$list" | tr -s '\n\t' '  ')"
    fi
    if grep '=>' <<<"$list" | grep -v "=> $ROOT/" | grep -q .; then
        die "$(basename "$bin"): library resolved outside the image: $list"
    fi
}

install_guest_files() {
    cp -a "$CRAM_TOP/guest/." "$ROOT/"
    chmod 755 "$ROOT/init"
    echo "$KVER" >"$ROOT/etc/cram/kernel"
}

pack() {
    local tmp=$OUT/.initramfs.tmp
    (cd "$ROOT" && find . -print0 | LC_ALL=C sort -z |
        cpio --null --quiet -o -H newc --owner=0:0 --reproducible) | gzip -6n >"$tmp"
    if [ -n "$KTREE" ]; then
        cp "$KTREE/arch/x86/boot/bzImage" "$OUT/vmlinuz.tmp"
    else
        cp "$STAGE/bookworm/boot/vmlinuz-$KVER" "$OUT/vmlinuz.tmp"
    fi
    mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
    mv "$tmp" "$OUT/initramfs.cpio.gz"
}

build() {
    STAGE=$GCACHE/stage ROOT=$GCACHE/root
    unpack "$STAGE/bookworm" "$BOOKWORM" "$GCACHE/debs/bookworm"
    unpack "$STAGE/trixie" "$TRIXIE" "$GCACHE/debs/trixie"
    make_skeleton
    install_busybox
    if [ -n "$KTREE" ]; then
        KVER=$(cat "$KTREE/include/config/kernel.release")
        install_builtin
    else
        KVER=$(basename "$(echo "$STAGE"/bookworm/lib/modules/*)")
        install_modules
    fi
    install_trixie
    install_guest_files
    mkdir -p "$OUT"
    rm -f "$OUT/inputs"
    pack
    "$ROOT/usr/lib64/ld-linux-x86-64.so.2" --library-path "$ROOT/usr/lib/x86_64-linux-gnu" \
        "$ROOT/usr/bin/cxl" version >/dev/null || die "trixie cxl does not run"
    rm -rf "$STAGE"   # 150 MB of unpacked kernel modules; the .debs stay
    log "kernel $KVER, initramfs $(du -h "$OUT/initramfs.cpio.gz" | cut -f1)"
}

main() {
    mkdir -p "$GCACHE"
    exec 9>"$GCACHE/lock"
    flock 9   # one build at a time
    if [ -n "$KTREE" ] && [ ! -f "$KTREE/arch/x86/boot/bzImage" ]; then
        die "no kernel in $KTREE: run scripts/build-kernel.sh first"
    fi
    install_host_pkgs "${HOST_PKGS[@]}"
    resolve_versions || die "cannot resolve the guest packages"
    local want
    want=$(inputs)
    if [ -f "$OUT/inputs" ] && [ "$(cat "$OUT/inputs")" = "$want" ] &&
        [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initramfs.cpio.gz" ]; then
        touch "$OUT/inputs"   # run-guest compares guest/ with this date
        log "up to date"
        return 0
    fi
    if ! fetch_all; then
        # The lists may name versions the archive no longer has.
        log "download failed; refreshing the package lists"
        apt_update bookworm && apt_update trixie
        if ! resolve_versions || ! fetch_all; then
            die "cannot download the guest packages"
        fi
        want=$(inputs)
    fi
    build
    echo "$want" >"$OUT/inputs"
}

main "$@"
