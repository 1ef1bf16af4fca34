#!/bin/bash
# Project-local apt configuration: gives access to Debian trixie (for the
# QEMU 10.0 source package, meson >= 1.5, pycotap and firmware) without
# touching the system's sources list.  Source this file, then call
# apt_local <apt-get arguments>.
# shellcheck disable=SC2034
CRAM_TOP=${CRAM_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CRAM_CACHE=${CRAM_CACHE:-$CRAM_TOP/.cache}
APT_DIR=$CRAM_CACHE/apt
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

apt_local_init() {
    mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/archives/partial"
    local list=$APT_DIR/sources.list
    local want
    want="deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR trixie main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR trixie main"
    if [ ! -f "$list" ] || [ "$(cat "$list")" != "$want" ]; then
        printf '%s\n' "$want" >"$list"
        rm -f "$APT_DIR/updated"
    fi
    # Refresh the trixie index at most once a day.
    if [ -z "$(find "$APT_DIR/updated" -mmin -1440 2>/dev/null)" ]; then
        apt_local update && touch "$APT_DIR/updated"
    fi
}

apt_local() {
    apt-get -q \
        -o Dir::Etc::SourceList="$APT_DIR/sources.list" \
        -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$APT_DIR/lists" \
        -o Dir::Cache::Archives="$APT_DIR/archives" \
        -o Dir::Cache::pkgcache="" -o Dir::Cache::srcpkgcache="" \
        -o APT::Get::List-Cleanup=0 \
        "$@"
}

# Newest version of a trixie package matching a pattern (e.g. '1:10.0.*').
apt_local_version() {
    local pkg=$1 pattern=$2 src=${3:-}
    local cache=(apt-cache
        -o Dir::Etc::SourceList="$APT_DIR/sources.list"
        -o Dir::Etc::SourceParts=/dev/null
        -o Dir::State::Lists="$APT_DIR/lists"
        -o Dir::Cache::pkgcache="" -o Dir::Cache::srcpkgcache="")
    if [ -n "$src" ]; then
        "${cache[@]}" showsrc "$pkg" 2>/dev/null | sed -n 's/^Version: //p'
    else
        "${cache[@]}" madison "$pkg" | awk -F'|' '{gsub(/ /,"",$2); print $2}'
    fi | while read -r v; do
        # shellcheck disable=SC2254
        case "$v" in $pattern) echo "$v" ;; esac
    done | sort -V | tail -n 1
}

# install_host_pkgs PKG...: install the bookworm packages that are missing
# (system apt; progress on stderr, so stdout stays the caller's).
install_host_pkgs() {
    local p missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q update >&2
    apt-get -q install -y --no-install-recommends "${missing[@]}" >&2
}
