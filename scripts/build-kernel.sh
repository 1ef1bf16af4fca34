#!/bin/bash
# Build the cxl-cram guest kernel into build/kernel: Debian's
# linux-source-6.12 (bookworm-security, at its pin in scripts/versions.sh),
# the patch series guest-driver/kernel/*.patch (in name order;
# none is fine) and the config fragment guest-driver/kernel/cram.config on
# top of allnoconfig.  See docs/kernel.md.
#
# Output:
#   build/kernel/bzImage   the kernel
#   build/kernel/obj       the kbuild tree (O=), for out-of-tree modules:
#                          make -C build/kernel/obj M=$PWD modules
#   build/kernel/src       the patched source tree
#   build/kernel/stamp     the inputs of the last good build (sha256s)
#
# Nothing is rebuilt when the source version, the patches, the fragment and
# this script are those of build/kernel/stamp.  When only the patches
# change, the old series is reversed, the new one applied, and make is
# incremental.  ccache is used when installed.
#
# Environment: KERNEL_OUT (instead of build/kernel), KERNEL_PATCHES (a
# directory of *.patch instead of guest-driver/kernel), KERNEL_JOBS (-j),
# CRAM_KERNEL_DEBUG=1 (add guest-driver/kernel/debug.config: KASAN,
# lockdep, DEBUG_ATOMIC_SLEEP; into build/kernel-debug by default).
#
# KERNEL_SRC=DIR builds your own tree instead (any kernel from 6.12 on),
# as it is: no patches, nothing written into DIR (kbuild O=), x86_64
# defconfig with guest-driver/kernel/guest.config merged on it
# (scripts/kconfig/merge_config.sh), into build/kernel-<name of DIR>.
# KERNEL_CONFIG=NAME,... merges more fragments: guest-driver/kernel/
# NAME.config (debug: KASAN and lockdep; kmemleak; tracing) or a path.
# make runs every time: kbuild rebuilds what changed in DIR.
set -euo pipefail
# shellcheck source=scripts/apt-local.sh
. "$(dirname "$0")/apt-local.sh"

DEBUG=${CRAM_KERNEL_DEBUG:-0}
case $DEBUG in
0) SUFFIX='' ;;
1) SUFFIX=-debug ;;
*) echo "build-kernel: CRAM_KERNEL_DEBUG is 0 or 1" >&2; exit 1 ;;
esac
OWN=${KERNEL_SRC:-}
if [ -n "$OWN" ]; then
    OWN=$(cd "$OWN" 2>/dev/null && pwd) || { echo "build-kernel: no directory $KERNEL_SRC" >&2; exit 1; }
    SUFFIX=-${OWN##*/}
fi
# The debug kernel has a tree of its own: switching does not rebuild.
OUT=${KERNEL_OUT:-$CRAM_TOP/build/kernel$SUFFIX}
SRC=${OWN:-$OUT/src}
OBJ=$OUT/obj
APPLIED=$OUT/applied            # copies of the patches applied to $SRC
DL=$CRAM_CACHE/kernel-dl
KDIR=$CRAM_TOP/guest-driver/kernel
PATCH_DIR=${KERNEL_PATCHES:-$KDIR}    # another series, for trying one out
FRAGMENT=$KDIR/cram.config
DEBUG_FRAGMENT=$KDIR/debug.config
SRC_PKG=linux-source-6.12
HOST_PKGS=(build-essential libelf-dev libssl-dev bc flex bison xz-utils patch)
JOBS=${KERNEL_JOBS:-$(nproc)}

log() { echo "build-kernel: $*" >&2; }
die() { log "$*"; exit 1; }

# The patch series, in order.
patches() {
    local f
    for f in "$PATCH_DIR"/*.patch; do
        [ -f "$f" ] && echo "$f"
    done
    return 0
}

# Everything the kernel depends on, one line each: compared with the stamp.
inputs() {
    local f
    echo "$SRC_PKG $VERSION"
    (cd "$CRAM_TOP" && sha256sum guest-driver/kernel/cram.config scripts/build-kernel.sh)
    if [ "$DEBUG" = 1 ]; then
        (cd "$CRAM_TOP" && sha256sum guest-driver/kernel/debug.config)
    fi
    while read -r f; do
        [ -n "$f" ] || continue
        (cd "$CRAM_TOP" && sha256sum "${f#"$CRAM_TOP"/}")
    done <<<"$(patches)"
}

deb_path() { deb_file "$DL" "$SRC_PKG" "$VERSION"; }

# A fresh, unpatched source tree in $SRC; the old kbuild tree goes too.
extract_source() {
    local tmp=$OUT/src.tmp
    log "unpacking $SRC_PKG $VERSION"
    rm -rf "$SRC" "$OBJ" "$APPLIED" "$tmp" "$OUT/bzImage" "$OUT/stamp"
    mkdir -p "$tmp" "$APPLIED"
    dpkg-deb --fsys-tarfile "$(deb_path)" |
        tar -xOf - "./usr/src/$SRC_PKG.tar.xz" | xz -dc -T0 |
        tar -xf - -C "$tmp" --strip-components=1
    [ -f "$tmp/Makefile" ] || die "no Makefile in $SRC_PKG.tar.xz"
    echo "$VERSION" >"$tmp/.cram-source-version"
    mv "$tmp" "$SRC"
}

# Reverse the applied patches after the first KEEP ones (last first).
# Fails if the tree does not reverse cleanly (someone edited it).
unapply_patches() {
    local keep=$1 names=() i
    [ -f "$APPLIED/series" ] || return 0
    mapfile -t names <"$APPLIED/series"
    for ((i = ${#names[@]} - 1; i >= keep; i--)); do
        log "reversing ${names[i]}"
        patch -d "$SRC" -p1 -R -s --batch --dry-run -i "$APPLIED/${names[i]}" >/dev/null ||
            return 1
        patch -d "$SRC" -p1 -R -s --batch --no-backup-if-mismatch -i "$APPLIED/${names[i]}"
        rm -f "$APPLIED/${names[i]}"
        if [ "$i" -gt 0 ]; then
            printf '%s\n' "${names[@]:0:i}" >"$APPLIED/series.new"
            mv "$APPLIED/series.new" "$APPLIED/series"
        else
            rm -f "$APPLIED/series"
        fi
    done
}

# Bring $SRC to source + the current series, touching only what changes:
# the patches that the applied series and the current one share at their
# start (same contents) stay; the rest of the old series is reversed and
# the rest of the new one applied.
sync_patches() {
    local f name want=() have=() keep=0 i
    mapfile -t want < <(patches)
    if [ -f "$APPLIED/series" ]; then mapfile -t have <"$APPLIED/series"; fi
    while [ "$keep" -lt ${#want[@]} ] && [ "$keep" -lt ${#have[@]} ] &&
        cmp -s "${want[keep]}" "$APPLIED/${have[keep]}"; do
        keep=$((keep + 1))
    done
    [ "$keep" -eq ${#want[@]} ] && [ "$keep" -eq ${#have[@]} ] && return 0
    if ! unapply_patches "$keep"; then
        log "the applied patches do not reverse cleanly: unpacking the source again"
        extract_source
        keep=0
    fi
    mkdir -p "$APPLIED"
    for ((i = keep; i < ${#want[@]}; i++)); do
        f=${want[i]} name=${want[i]##*/}
        log "applying $name"
        patch -d "$SRC" -p1 -s --batch --forward --dry-run -i "$f" >/dev/null ||
            die "$name does not apply to $SRC_PKG $VERSION (plus the patches before it)"
        patch -d "$SRC" -p1 -s --batch --forward --no-backup-if-mismatch -i "$f"
        cp "$f" "$APPLIED/$name"
        echo "$name" >>"$APPLIED/series"
    done
}

# ccache, when installed (its default cache, or $CCACHE_DIR), keyed on paths
# relative to $OUT: src and obj are both in it, so the objects hit again
# when the whole directory moves (another checkout, another KERNEL_OUT).
setup_ccache() {
    CC_ARG=()
    command -v ccache >/dev/null || return 0
    CC_ARG=(CC="ccache gcc")
    export CCACHE_BASEDIR=$OUT CCACHE_NOHASHDIR=1
    export CCACHE_SLOPPINESS=include_file_ctime,include_file_mtime,time_macros
}

kmake() {
    # Fixed build identity: the same sources give the same objects, and
    # ccache hits across builds.
    make -C "$SRC" O="$OBJ" -j"$JOBS" "${CC_ARG[@]}" \
        KBUILD_BUILD_TIMESTAMP="$SRC_PKG $VERSION" KBUILD_BUILD_USER=cram \
        KBUILD_BUILD_HOST=cxl-cram KBUILD_BUILD_VERSION=1 "$@"
}

# The fragments of KERNEL_CONFIG (NAME,...), as paths.
own_fragments() {
    local f
    for f in ${KERNEL_CONFIG:+${KERNEL_CONFIG//,/ }}; do
        case $f in */*) ;; *) f=$KDIR/$f.config ;; esac
        [ -f "$f" ] || die "KERNEL_CONFIG: no fragment $f"
        echo "$f"
    done
}

# Whether the tree's Kconfig knows CONFIG_$1 (a fragment for several
# kernels names symbols that some of them lack).
known_symbol() {
    grep -rqE --include='Kconfig*' "^(menu)?config ${1#CONFIG_}\$" "$SRC"
}

# allnoconfig + the fragment (and the debug one); for a tree of your own,
# defconfig + guest.config (and KERNEL_CONFIG's); then check that every
# line took effect.
configure() {
    local line sym val got bad=() unknown=() all=$OUT/config.fragment
    mkdir -p "$OBJ"
    if [ -n "$OWN" ]; then
        local list frags=()
        list=$(own_fragments) || exit 1
        [ -z "$list" ] || mapfile -t frags <<<"$list"
        cat "$KDIR/guest.config" "${frags[@]}" >"$all"
        kmake -s defconfig >&2
        "$SRC/scripts/kconfig/merge_config.sh" -m -O "$OBJ" "$OBJ/.config" "$all" >/dev/null
        kmake -s olddefconfig >&2
    else
        cat "$FRAGMENT" >"$all"
        [ "$DEBUG" = 0 ] || cat "$DEBUG_FRAGMENT" >>"$all"
        kmake -s KCONFIG_ALLCONFIG="$all" allnoconfig >&2
    fi
    while IFS= read -r line; do
        case $line in
        CONFIG_*=*) sym=${line%%=*} val=${line#*=} ;;
        "# CONFIG_"*" is not set") sym=${line#\# } sym=${sym%% *} val=n ;;
        *) continue ;;
        esac
        if [ -n "$OWN" ] && ! known_symbol "$sym"; then
            unknown+=("$sym")
            continue
        fi
        got=$(grep -E "^$sym=|^# $sym is not set" "$OBJ/.config" | head -n 1 || true)
        case $got in
        "$sym=$val") ;;
        "# $sym is not set" | '') [ "$val" = n ] || bad+=("$sym=$val (got ${got:-nothing})") ;;
        *) bad+=("$sym=$val (got $got)") ;;
        esac
    done <"$all"
    [ ${#unknown[@]} -eq 0 ] || log "not in this tree, left out: ${unknown[*]}"
    [ ${#bad[@]} -eq 0 ] || die "config fragment lines without effect: ${bad[*]}"
}

# A tree of your own: configured and made every time (kbuild keeps it
# incremental), never patched.
build_own() {
    { [ -f "$SRC/Makefile" ] && [ -d "$SRC/arch/x86" ]; } || die "$SRC is not a kernel tree"
    SRC_PKG=${SRC##*/} VERSION="(own tree)"
    log "your tree $SRC, built in $OBJ"
    build
    echo "$VERSION" >"$OUT/stamp"
}

build() {
    local start=$SECONDS
    setup_ccache
    configure
    log "make -j$JOBS (${CC_ARG[*]:-gcc}) in $OBJ"
    kmake all >"$OUT/make.log" 2>&1 || {
        tail -n 30 "$OUT/make.log" >&2
        die "kernel build failed; log: $OUT/make.log"
    }
    [ -f "$OBJ/Module.symvers" ] || die "no Module.symvers: external modules cannot build"
    cp "$OBJ/arch/x86/boot/bzImage" "$OUT/bzImage.tmp"
    mv "$OUT/bzImage.tmp" "$OUT/bzImage"
    log "built $(cat "$OBJ/include/config/kernel.release") in $((SECONDS - start)) s:" \
        "$OUT/bzImage ($(du -h "$OUT/bzImage" | cut -f1))"
}

main() {
    mkdir -p "$OUT"
    exec 9>"$OUT/.lock"
    flock 9   # one build at a time
    install_host_pkgs "${HOST_PKGS[@]}"
    if [ -n "$OWN" ]; then
        build_own
        return
    fi
    VERSION=$(pin_version "$SRC_PKG") || die "no $SRC_PKG to build"
    [ -f "$FRAGMENT" ] || die "no config fragment $FRAGMENT"
    [ "$DEBUG" = 0 ] || [ -f "$DEBUG_FRAGMENT" ] || die "no config fragment $DEBUG_FRAGMENT"
    local want
    want=$(inputs)
    if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$want" ] &&
        [ -f "$OUT/bzImage" ] && [ -f "$OBJ/Module.symvers" ]; then
        log "up to date ($SRC_PKG $VERSION)"
        return 0
    fi
    [ -f "$(deb_path)" ] || log "downloading $SRC_PKG $VERSION"
    VERSION=$(pin_fetch "$SRC_PKG" "$DL" "$VERSION") || die "cannot download $SRC_PKG $VERSION"
    want=$(inputs)    # the version may have moved (pin_fetch)
    if [ "$(cat "$SRC/.cram-source-version" 2>/dev/null)" != "$VERSION" ]; then
        extract_source
    fi
    rm -f "$OUT/stamp"
    sync_patches
    build
    echo "$want" >"$OUT/stamp"
}

main "$@"
