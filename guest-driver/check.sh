#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Kernel-style checks of guest-driver/:
#  1. checkpatch.pl --strict --no-tree -f on every source file; the script
#     (with spelling.txt and const_structs.checkpatch) is taken from
#     Debian's linux-source-6.12 package (its pin, the .deb shared with
#     scripts/build-kernel.sh in .cache/kernel-dl) into
#     .cache/kernel-checkpatch/;
#  2. checkpatch.pl --strict on each patch of the kernel series,
#     guest-driver/kernel/*.patch for 6.12 and
#     guest-driver/kernel/linux-7.2/*.patch (commit messages included);
#  3. the register offsets of cram_regs.h against the device's own map,
#     hw/mem/cxl-cram/cxl-cram-regs.h.
# Exits non-zero on any checkpatch warning or check or offset mismatch.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/apt-local.sh
. "$TOP/scripts/apt-local.sh"
SRC=$TOP/guest-driver
CACHE=$CRAM_CACHE/kernel-checkpatch
CP=$CACHE/scripts/checkpatch.pl

log() { echo "check: $*" >&2; }
die() { log "$*"; exit 1; }

# Extract checkpatch from linux-source-6.12, again when the pin moves.
get_checkpatch() {
    local have ver deb
    have=$(cat "$CACHE/VERSION" 2>/dev/null || true)
    if [ -x "$CP" ] && [ -f "$CACHE/scripts/spelling.txt" ] &&
        [ -f "$CACHE/scripts/const_structs.checkpatch" ]; then
        [ "$have" = "$(pin_pinned linux-source-6.12)" ] && return 0
        # a fallback of the pin (apt-local.sh), already extracted
        [ "$have" = "$(pin_version linux-source-6.12)" ] && return 0
    fi
    log "fetching checkpatch.pl from linux-source-6.12"
    ver=$(pin_fetch linux-source-6.12 "$CRAM_CACHE/kernel-dl") ||
        die "could not download linux-source-6.12"
    deb=$(deb_file "$CRAM_CACHE/kernel-dl" linux-source-6.12 "$ver")
    rm -rf "$CACHE"
    mkdir -p "$CACHE"
    dpkg-deb --fsys-tarfile "$deb" |
        tar -xO ./usr/src/linux-source-6.12.tar.xz |
        tar -xJ -C "$CACHE" --strip-components=1 \
            linux-source-6.12/scripts/checkpatch.pl \
            linux-source-6.12/scripts/spelling.txt \
            linux-source-6.12/scripts/const_structs.checkpatch
    chmod +x "$CP"
    echo "$ver" >"$CACHE/VERSION"
}

run_checkpatch() {
    local f rc=0 files=()
    for f in "$SRC"/*.c "$SRC"/*.h "$SRC"/Kbuild "$SRC"/*.sh \
        "$TOP"/tools/cram-info/*.c "$TOP"/tools/cram-hog/*.c \
        "$TOP"/tools/cram-stress/*.c "$TOP"/tools/stuck-cpu/*.c \
        "$TOP"/tools/sysfs-race/*.c; do
        files+=("$f")
    done
    for f in "${files[@]}"; do
        # --no-tree: checkpatch finds spelling.txt etc. beside itself
        if ! perl "$CP" --strict --no-tree --no-summary --quiet --show-types \
            -f "$f"; then
            rc=1
        fi
    done
    if [ $rc = 0 ]; then
        log "checkpatch --strict: ${#files[@]} files clean ($(cat "$CACHE/VERSION" 2>/dev/null))"
    fi
    return $rc
}

run_checkpatch_series() {
    local p rc=0 n=0
    for p in "$SRC"/kernel/*.patch "$SRC"/kernel/linux-7.2/*.patch; do
        [ -f "$p" ] || continue
        n=$((n + 1))
        if ! perl "$CP" --strict --no-tree --no-summary --quiet --show-types \
            "$p"; then
            rc=1
        fi
    done
    [ $rc = 0 ] && log "checkpatch --strict: kernel series (6.12, 7.2), $n patches clean"
    return $rc
}

# NAME VALUE lines of the register offsets and constants of a header:
# CXL_CRAM_REG_* in the device's, CRAM_REG_* in the driver's.
NAMES='REG_[A-Z0-9_]*|MAGIC|VERSION|MSIX_VECTOR|MSIX_DANGER|MSIX_SAFE'
NAMES+='|PCI_VENDOR_ID|PCI_DEVICE_ID|REGS_SIZE|REGLOC_BLOCK_ID'
NUM='0x[0-9a-fA-F]+|[0-9]+'
offsets() {
    local prefix=$1 file=$2
    sed -En "s/^#define[[:space:]]+${prefix}($NAMES)[[:space:]]+($NUM)u?\b.*/\1 \2/p" \
        "$file" | while read -r name val; do echo "$name $((val))"; done | sort
}

check_offsets() {
    local dev=$TOP/hw/mem/cxl-cram/cxl-cram-regs.h drv=$SRC/cram_regs.h missing
    [ -f "$dev" ] || { log "no $dev: offset check skipped"; return 0; }
    offsets CXL_CRAM_ "$dev" >"$TMPD/dev"
    offsets CRAM_ "$drv" >"$TMPD/drv"
    # every driver constant must exist in the device map with its value
    missing=$(comm -23 "$TMPD/drv" "$TMPD/dev")
    if [ -n "$missing" ]; then
        log "cram_regs.h disagrees with cxl-cram-regs.h:"
        echo "$missing" >&2
        return 1
    fi
    log "cram_regs.h: $(wc -l <"$TMPD/drv") register offsets and constants match cxl-cram-regs.h"
}

main() {
    local rc=0
    TMPD=$(mktemp -d)
    trap 'rm -rf "$TMPD"' EXIT
    get_checkpatch
    run_checkpatch || rc=1
    run_checkpatch_series || rc=1
    check_offsets || rc=1
    return $rc
}

main "$@"
