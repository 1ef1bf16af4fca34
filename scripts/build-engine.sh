#!/bin/bash
# Build the QEMU-independent engine, its unit tests and benchmarks with
# the top-level meson.build, into build/engine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

bash "$here/deps.sh"
if [ ! -f "$CRAM_BUILD/engine/build.ninja" ]; then
    meson setup "$CRAM_BUILD/engine" "$CRAM_TOP" --buildtype=release \
        ${CRAM_MESON_OPTS:-} >/dev/null
fi
meson compile -C "$CRAM_BUILD/engine" >"$CRAM_BUILD/engine-build.log" 2>&1 || {
    tail -n 40 "$CRAM_BUILD/engine-build.log" >&2
    exit 1
}
