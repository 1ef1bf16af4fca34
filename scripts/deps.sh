#!/bin/bash
# Install what cxl-cram needs to build and test, idempotently:
#  - Debian bookworm packages through the system's apt;
#  - trixie's meson (>= 1.5) and pycotap, unpacked into .cache/tools, never
#    installed into the system.
set -euo pipefail
. "$(dirname "$0")/apt-local.sh"

BOOKWORM_PKGS=(build-essential pkg-config ninja-build flex bison python3
    python3-venv libglib2.0-dev libpixman-1-dev libfdt-dev libzstd-dev
    liblz4-dev zlib1g-dev dpkg-dev ccache seabios gnuplot-nox
    ${CRAM_EXTRA_PKGS:-})

missing=()
for p in "${BOOKWORM_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
        missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q update
    apt-get -q install -y --no-install-recommends "${missing[@]}"
fi

# Unpack an arch-all trixie package into .cache/tools/<name>, once.
unpack_trixie() {
    local pkg=$1 dest=$CRAM_CACHE/tools/$1
    [ -f "$dest/.done" ] && return 0
    apt_local_init
    local ver
    ver=$(apt_local_version "$pkg" '*')
    [ -n "$ver" ] || { echo "deps: $pkg not found in trixie" >&2; exit 1; }
    mkdir -p "$APT_DIR/debs" && rm -rf "$dest" && mkdir -p "$dest"
    (cd "$APT_DIR/debs" && apt_local -o APT::Sandbox::User=root download "$pkg=$ver")
    dpkg-deb -x "$APT_DIR"/debs/"${pkg}"_*.deb "$dest"
    touch "$dest/.done"
}
unpack_trixie meson
unpack_trixie python3-pycotap
unpack_trixie qemu-system-data
