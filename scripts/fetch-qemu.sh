#!/bin/bash
# Fetch and unpack trixie's qemu 10.0.x source package (Debian patches
# applied) into .cache/qemu-src, once.  Prints the tree's path.
# QEMU_SRC=/path/to/qemu-10.0 skips this and uses the user's tree.
set -euo pipefail
. "$(dirname "$0")/apt-local.sh"

if [ -n "${QEMU_SRC:-}" ]; then
    [ -f "$QEMU_SRC/VERSION" ] || { echo "QEMU_SRC=$QEMU_SRC: not a QEMU tree" >&2; exit 1; }
    case "$(cat "$QEMU_SRC/VERSION")" in
    10.0.*) ;;
    *) echo "QEMU_SRC: need QEMU 10.0.x, found $(cat "$QEMU_SRC/VERSION")" >&2; exit 1 ;;
    esac
    echo "$QEMU_SRC"
    exit 0
fi

dest=$CRAM_CACHE/qemu-src
if [ -f "$dest/.cram-unpacked" ]; then
    echo "$dest"
    exit 0
fi
apt_local_init >&2
ver=$(apt_local_version qemu '1:10.0.*' src)
[ -n "$ver" ] || { echo "fetch-qemu: no qemu 10.0.x source in trixie" >&2; exit 1; }
echo "fetch-qemu: qemu $ver" >&2
dl=$CRAM_CACHE/qemu-dl
mkdir -p "$dl"
(cd "$dl" && apt_local -o APT::Sandbox::User=root source --download-only "qemu=$ver" >&2)
rm -rf "$dest"
dpkg-source --no-check -x "$dl/qemu_${ver#*:}.dsc" "$dest" >&2
echo "$ver" >"$dest/.cram-unpacked"
echo "$dest"
