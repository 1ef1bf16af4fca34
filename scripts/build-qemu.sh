#!/bin/bash
# Build qemu-system-x86_64 with -device cxl-cram, incrementally:
#  1. install build dependencies (deps.sh);
#  2. fetch trixie's QEMU 10.0.x source (its pinned version), or use
#     QEMU_SRC;
#  3. overlay hw/mem/cxl-cram and tests/qtest files as symlinks, so that
#     edits in this project are live, and apply patches/*.patch (the
#     subdir(), Kconfig source, trace and qtest list hooks) once;
#  4. gather firmware into build/firmware;
#  5. configure once (again only when the options change) and run ninja.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

bash "$here/deps.sh"
src=$(bash "$here/fetch-qemu.sh")
bld=${CRAM_QEMU_BUILD:-$CRAM_BUILD/qemu}
fw=$CRAM_BUILD/firmware

# The fetched tree records the patches it got; when the set changes it is
# unpacked afresh, so patches never stack on stale ones.
want=$(cd "$CRAM_TOP/patches" && sha256sum ./*.patch)
if [ -z "${QEMU_SRC:-}" ] && [ -f "$src/.cram-patches" ] &&
    [ "$(cat "$src/.cram-patches")" != "$want" ]; then
    echo "build-qemu: patches changed: unpacking the QEMU source again"
    rm -rf "$src"
    src=$(bash "$here/fetch-qemu.sh")
fi
# Overlay (the patches touch none of these files).
ln -sfn "$CRAM_TOP/hw/mem/cxl-cram" "$src/hw/mem/cxl-cram"
for f in "$CRAM_TOP"/tests/qtest/*.[ch]; do
    ln -sfn "$f" "$src/tests/qtest/$(basename "$f")"
done
# The QMP schema of cxl-cram's commands (patches/0010 includes it).
ln -sfn "$CRAM_TOP/qapi/cxl-cram.json" "$src/qapi/cxl-cram.json"
# Patches, in order.
if [ "$(cat "$src/.cram-patches" 2>/dev/null)" != "$want" ]; then
    for p in "$CRAM_TOP"/patches/*.patch; do
        if patch -d "$src" -p1 -R --dry-run -s -f <"$p" >/dev/null 2>&1; then
            continue    # already applied (a user's QEMU_SRC tree)
        fi
        echo "build-qemu: applying $(basename "$p")"
        patch -d "$src" -p1 -N -s <"$p"
    done
    echo "$want" >"$src/.cram-patches"
fi

# Firmware: SeaBIOS from bookworm, option ROMs from trixie's qemu-system-data.
mkdir -p "$fw"
cp -u /usr/share/seabios/bios-256k.bin "$fw/"
for rom in kvmvapic.bin linuxboot.bin linuxboot_dma.bin; do
    cp -u "$CRAM_CACHE/tools/qemu-system-data/usr/share/qemu/$rom" "$fw/"
done

opts=(--target-list=x86_64-softmmu --without-default-features
      --enable-tcg --enable-kvm --enable-fdt=system --disable-docs
      --disable-install-blobs --disable-download --firmwarepath="$fw"
      ${CRAM_QEMU_CONFIGURE:-})
stamp="$src ${opts[*]}"
mkdir -p "$bld"
if [ ! -f "$bld/build.ninja" ] || [ "$(cat "$bld/.cram-configured" 2>/dev/null)" != "$stamp" ]; then
    echo "build-qemu: configuring $bld"
    (cd "$bld" && "$src/configure" "${opts[@]}" >configure.log 2>&1) || {
        tail -n 30 "$bld/configure.log" >&2
        exit 1
    }
    echo "$stamp" >"$bld/.cram-configured"
fi
# Run from the build tree, QEMU looks for firmware under qemu-bundle/.
mkdir -p "$bld/qemu-bundle$(dirname "$fw")"
ln -sfn "$fw" "$bld/qemu-bundle$fw"

# CRAM_QEMU_TARGETS replaces the default targets, CRAM_NINJA_TARGETS adds
# to them; CRAM_NINJA_JOBS caps ninja's parallelism.
echo "build-qemu: ninja (log in $bld/ninja.log)"
ninja -C "$bld" ${CRAM_NINJA_JOBS:+-j "$CRAM_NINJA_JOBS"} \
    ${CRAM_QEMU_TARGETS:-qemu-system-x86_64 tests/qtest/cxl-cram-test \
        tests/qtest/cxl-cram-fuzz-test} \
    ${CRAM_NINJA_TARGETS:-} >"$bld/ninja.log" 2>&1 || {
    grep -v '^\[' "$bld/ninja.log" | tail -n 40 >&2
    exit 1
}
