#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Build build/cram-info/cram-info, a guest-side tool, against Debian
# trixie's libcxl (the one in the guest image): libcxl-dev and libcxl1 are
# fetched with the project-local apt configuration (scripts/apt-local.sh)
# and unpacked with dpkg-deb -x into .cache/cram-info; nothing from trixie
# is installed on the host.  The host's gcc and glibc (bookworm, 2.36)
# compile it: the binary then needs no glibc symbol newer than trixie's.
# Idempotent: nothing is fetched or rebuilt when nothing changed.
set -euo pipefail
# shellcheck source=scripts/apt-local.sh
. "$(dirname "$0")/../../scripts/apt-local.sh"

SRC=$CRAM_TOP/tools/cram-info
OUT=${CRAM_INFO_OUT:-$CRAM_TOP/build/cram-info}
CACHE=$CRAM_CACHE/cram-info
CFLAGS=(-std=gnu11 -O2 -g -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2)

log() { echo "cram-info: $*" >&2; }
die() { log "$*"; exit 1; }

# The libcxl1 version of the guest image (build/guest/inputs, written by
# scripts/build-guest.sh), so the headers match the library the binary
# meets; else its pin (scripts/versions.sh).
libcxl_version() {
    local inputs=$CRAM_TOP/build/guest/inputs v
    if [ -f "$inputs" ]; then
        v=$(sed -n 's/^libcxl1 //p' "$inputs" | head -n 1)
        [ -n "$v" ] && { echo "$v"; return; }
    fi
    pin_version libcxl1 || die "no libcxl1 in trixie's package lists"
}

fetch() {
    [ -f "$(deb_file "$CACHE/debs" "$1" "$2")" ] || log "fetching $1 $2 (trixie)"
    fetch_deb trixie "$CACHE/debs" "$1" "$2" || die "apt-get download $1=$2 gave no .deb"
}

# libcxl.h includes <uuid/uuid.h>: the host's uuid-dev (headers only)
host_uuid() {
    [ -f /usr/include/uuid/uuid.h ] || install_host_pkgs uuid-dev
}

# When the guest image's root is unpacked (scripts/build-guest.sh), run the
# binary with its trixie loader, glibc and libcxl, as the guest will.
smoke() {
    local groot=$CRAM_CACHE/guest/root/usr/lib/x86_64-linux-gnu
    [ -x "$groot/ld-linux-x86-64.so.2" ] || return 0
    "$groot/ld-linux-x86-64.so.2" --library-path "$groot" "$1" --help >/dev/null ||
        die "the binary does not run with the guest's libraries"
}

main() {
    local ver root lib stamp want
    mkdir -p "$CACHE" "$OUT"
    exec 9>"$CACHE/lock"
    flock 9
    ver=$(libcxl_version)
    root=$CACHE/root
    lib=$root/usr/lib/x86_64-linux-gnu
    if [ "$(cat "$root/.version" 2>/dev/null)" != "$ver" ]; then
        fetch libcxl-dev "$ver"
        fetch libcxl1 "$ver"
        rm -rf "$root"
        dpkg-deb -x "$(deb_file "$CACHE/debs" libcxl-dev "$ver")" "$root"
        dpkg-deb -x "$(deb_file "$CACHE/debs" libcxl1 "$ver")" "$root"
        echo "$ver" >"$root/.version"
    fi
    host_uuid

    stamp=$OUT/.inputs
    want=$(printf '%s\n' "libcxl $ver" "${CFLAGS[*]}" "$(gcc --version | head -n 1)"
        sha256sum "$SRC/cram-info.c" "$0")
    if [ -x "$OUT/cram-info" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    # libcxl.so.1's own libraries (libudev, libkmod, libjson-c...) are not
    # in the sysroot: the guest has them, so the link does not check them.
    gcc "${CFLAGS[@]}" -I"$root/usr/include" -o "$OUT/cram-info.tmp" \
        "$SRC/cram-info.c" -L"$lib" -lcxl -Wl,--allow-shlib-undefined
    smoke "$OUT/cram-info.tmp"
    mv "$OUT/cram-info.tmp" "$OUT/cram-info"
    echo "$want" >"$stamp"
    log "built $OUT/cram-info against libcxl $ver"
}

main "$@"
