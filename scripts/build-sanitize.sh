#!/bin/bash
# AddressSanitizer + UndefinedBehaviorSanitizer builds, beside the normal
# ones: build/engine-asan (engine, unit tests) and build/qemu-asan (QEMU
# with cxl-cram, and its qtest).  Incremental like the normal builds.
#   CRAM_ASAN_QEMU=0 skips the QEMU build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

bash "$here/deps.sh"
eng=$CRAM_BUILD/engine-asan
if [ ! -f "$eng/build.ninja" ]; then
    meson setup "$eng" "$CRAM_TOP" --buildtype=debugoptimized \
        -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
meson compile -C "$eng" >"$CRAM_BUILD/engine-asan-build.log" 2>&1 || {
    tail -n 40 "$CRAM_BUILD/engine-asan-build.log" >&2
    exit 1
}

[ "${CRAM_ASAN_QEMU:-1}" = 1 ] || exit 0
# Same tree and overlay as the normal build; only the build dir differs.
CRAM_QEMU_BUILD=$CRAM_BUILD/qemu-asan \
CRAM_QEMU_CONFIGURE="--enable-asan --enable-ubsan ${CRAM_QEMU_CONFIGURE:-}" \
    bash "$here/build-qemu.sh"
