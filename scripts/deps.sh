#!/bin/bash
# Install what cxl-cram needs to build and test, idempotently:
#  - Debian bookworm packages through the system's apt;
#  - trixie's meson (>= 1.5), pycotap and qemu-system-data (option ROMs),
#    at their pinned versions (scripts/versions.sh), unpacked into
#    .cache/tools, never installed into the system.
set -euo pipefail
. "$(dirname "$0")/apt-local.sh"

BOOKWORM_PKGS=(build-essential pkg-config ninja-build flex bison python3
    python3-venv libglib2.0-dev libpixman-1-dev libfdt-dev libzstd-dev
    liblz4-dev zlib1g-dev dpkg-dev ccache seabios gnuplot-nox
    ${CRAM_EXTRA_PKGS:-})
install_host_pkgs "${BOOKWORM_PKGS[@]}"

# Unpack an arch-all trixie package into .cache/tools/<name>; again only
# when its pin moves (.done holds the version unpacked).
unpack_trixie() {
    local pkg=$1 dest=$CRAM_CACHE/tools/$1 have ver
    have=$(cat "$dest/.done" 2>/dev/null || true)
    [ "$have" = "$(pin_pinned "$pkg")" ] && return 0
    ver=$(pin_version "$pkg")
    [ "$have" = "$ver" ] && return 0    # a fallback of the pin, unpacked
    ver=$(pin_fetch "$pkg" "$APT_DIR/debs" "$ver")
    rm -rf "$dest" && mkdir -p "$dest"
    dpkg-deb -x "$(deb_file "$APT_DIR/debs" "$pkg" "$ver")" "$dest"
    echo "$ver" >"$dest/.done"
}
unpack_trixie meson
unpack_trixie python3-pycotap
unpack_trixie qemu-system-data
