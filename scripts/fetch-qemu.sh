#!/bin/bash
# Fetch and unpack trixie's qemu 10.0.x source package at its pinned
# version (scripts/versions.sh; Debian patches applied) into
# .cache/qemu-src, once, and again when the pin moves.  Prints the tree's
# path.  QEMU_SRC=/path/to/qemu-10.0 skips this and uses the user's tree.
set -euo pipefail
. "$(dirname "$0")/apt-local.sh"

series=$(pin_series src:qemu)
series=${series#*:}     # the upstream series, 10.0.*
if [ -n "${QEMU_SRC:-}" ]; then
    [ -f "$QEMU_SRC/VERSION" ] || { echo "QEMU_SRC=$QEMU_SRC: not a QEMU tree" >&2; exit 1; }
    # shellcheck disable=SC2254
    case "$(cat "$QEMU_SRC/VERSION")" in
    $series) ;;
    *) echo "QEMU_SRC: need QEMU $series, found $(cat "$QEMU_SRC/VERSION")" >&2; exit 1 ;;
    esac
    echo "$QEMU_SRC"
    exit 0
fi

dest=$CRAM_CACHE/qemu-src
have=$(cat "$dest/.cram-unpacked" 2>/dev/null || true)
if [ -n "$have" ] && [ "$have" = "$(pin_pinned src:qemu)" ]; then
    echo "$dest"
    exit 0
fi
ver=$(pin_version src:qemu)
if [ "$have" = "$ver" ]; then   # a fallback of the pin, already unpacked
    echo "$dest"
    exit 0
fi
echo "fetch-qemu: qemu $ver" >&2
dl=$CRAM_CACHE/qemu-dl
mkdir -p "$dl"
(cd "$dl" && apt_get trixie -o APT::Sandbox::User=root source --download-only "qemu=$ver" >&2)
rm -rf "$dest"
dpkg-source --no-check -x "$dl/qemu_${ver#*:}.dsc" "$dest" >&2
echo "$ver" >"$dest/.cram-unpacked"
echo "$dest"
