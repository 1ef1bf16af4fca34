#!/bin/bash
# QEMU's libFuzzer generic-fuzz (tests/qtest/fuzz/generic_fuzz.c) on a
# cxl-cram machine; see docs/robustness.md, "libFuzzer generic-fuzz".
#   scripts/fuzz-generic.sh                    fuzz until stopped
#   scripts/fuzz-generic.sh 100000             at most 100000 inputs
#   scripts/fuzz-generic.sh -max_total_time=600 [more libFuzzer options]
#   scripts/fuzz-generic.sh build/fuzz-generic/crashes/crash-...   replay
# Builds build/qemu-fuzz first (scripts/build-fuzz.sh; CRAM_FUZZ_BUILD=0
# skips it).  The corpus grows in build/fuzz-generic/corpus, crashes land
# in build/fuzz-generic/crashes.  CRAM_FUZZ_JOBS=N runs N jobs in parallel;
# CRAM_FUZZ_QEMU_ARGS adds QEMU options (e.g. -trace 'cxl_cram_*').
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

log() { echo "fuzz-generic: $*" >&2; }
die() { log "$*"; exit 1; }

if [ "${CRAM_FUZZ_BUILD:-1}" = 1 ]; then
    CRAM_NINJA_JOBS=${CRAM_NINJA_JOBS:-2} bash "$here/build-fuzz.sh" >&2
fi
bin=$CRAM_BUILD/qemu-fuzz/qemu-fuzz-x86_64
[ -x "$bin" ] || die "$bin is missing: run scripts/build-fuzz.sh"
out=$CRAM_BUILD/fuzz-generic
mkdir -p "$out/corpus" "$out/seeds" "$out/crashes"

# The machine: one cxl-cram of 256 MiB over 16 MiB of media behind a CXL
# root port, a 256 MiB fixed memory window.  generic-fuzz adds -machine
# accel=qtest -m 512M -display none.  poison-mce=off: a poisoned read
# under qtest has no vCPU to take the machine check.
export QEMU_FUZZ_ARGS="-L $CRAM_BUILD/firmware -nodefaults \
-machine q35,cxl=on \
-device pxb-cxl,id=cxl.0,bus=pcie.0,bus_nr=52 \
-device cxl-rp,id=rp0,bus=cxl.0,chassis=0,slot=0 \
-device cxl-cram,bus=rp0,id=cram0,capacity=256M,media-size=16M,\
poison-mce=off,cache-size=64K \
-M cxl-fmw.0.targets.0=cxl.0,cxl-fmw.0.size=256M ${CRAM_FUZZ_QEMU_ARGS:-}"
# What the fuzzer may touch, by QOM type or memory-region name (patterns,
# space-separated).  Not "cxl-cram" or "cxl-rp": generic-fuzz maps the
# BARs of matched PCI devices as if they sat on bus 0, which asserts for
# devices behind a root port.  Instead "mch" lets it write the q35 host
# bridge's config space (PCIEXBAR: ECAM), "pcie-mmcfg-mmio" is ECAM (every
# bus, so the root port and the cxl-cram's config space with its DVSECs),
# and the regions are the cxl-cram's BARs (component registers .io and
# .cache_mem with the HDM decoders, the device registers and mailbox,
# MSI-X, the vendor block), the host bridge's component registers and the
# fixed memory window, through which the HDM decoder reaches the memory.
export QEMU_FUZZ_OBJECTS="mch pcie-mmcfg-mmio* .io* .cache_mem* cap-array* \
device-status* mailbox* memory?device?caps* msix-table* msix-pba* \
cxl-cram-regs* cxl-fixed-memory-region*"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# Seed inputs.  Each input is a list of commands separated by "FUZZ"; the
# first byte of a command is its opcode (mod 10), the rest its operands,
# laid out as generic_fuzz.c's structs (little-endian, C padding).  A
# random input cannot bring the device up (ECAM, root port, BARs, HDM
# decoder), so every seed starts from the sequence that does, and the
# fuzzer mutates from there.  MMIO commands name a region by its rank
# among the matched regions mapped at the time, in address order; once
# set up: 0 ECAM, 1 .io, 2 .cache_mem, 3 cap-array, 4 device-status,
# 5 mailbox, 6 memory device caps, 7 msix-table, 8 msix-pba,
# 9 cxl-cram-regs, 10-11 host bridge .io/.cache_mem, 12 the window.
le() {  # VALUE BYTES: little-endian
    local v=$1 n=$2 i s=
    for ((i = 0; i < n; i++)); do
        s+=$(printf '\\x%02x' $(((v >> (8 * i)) & 0xff)))
    done
    printf "$s"
}
sep() { printf FUZZ; }
pciw() { printf '\x05'; le "$1" 1; le 0 1; le "$2" 1; le 0 1; le "$3" 4; sep; }
mmw() { printf '\x03'; le "$1" 1; le "$2" 1; le 0 2; le "$3" 4; le "$4" 8; sep; }
mmr() { printf '\x02'; le "$1" 1; le "$2" 1; le 0 2; le "$3" 4; sep; }
clk() { printf '\x09'; sep; }
ecam() { mmw "$1" 0 $(($2 << 20 | $3)) "$4"; }   # SIZE BUS REG VALUE
B=0 W=1 L=2 Q=3
ECAM=0 CM=2 MBOX=5 REGS=9 WIN=12
setup() {
    pciw $L 0x60 0xb0000001             # PCIEXBAR: ECAM at 0xb0000000
    pciw $L 0x64 0
    ecam $L 52 0x18 0x353534            # root port: buses 52, 53, 53
    ecam $L 52 0x20 0xcff0c000          # memory window 0xc0000000+256M
    ecam $W 52 0x04 6
    ecam $L 53 0x10 0xc0000000          # BAR0 component registers
    ecam $L 53 0x14 0
    ecam $L 53 0x18 0xc0010000          # BAR2 device registers
    ecam $L 53 0x1c 0
    ecam $L 53 0x20 0xc0011000          # BAR4 MSI-X
    ecam $L 53 0x24 0xc0012000          # BAR5 cxl-cram-regs
    ecam $W 53 0x04 6
    mmw $L $CM 0x12c 2                  # HDM decoder 0: enable,
    mmw $L $CM 0x138 0x10000000         # base 0x110000000 (the window),
    mmw $L $CM 0x13c 1
    mmw $L $CM 0x140 0x10000000         # size 256M,
    mmw $L $CM 0x144 0
    mmw $L $CM 0x148 0x200              # commit
}
mbox() {  # OPCODE PAYLOAD-QWORDS...
    local op=$1 i=0
    shift
    for q in "$@"; do mmw $Q $MBOX $((0x20 + 8 * i)) "$q"; i=$((i + 1)); done
    mmw $Q $MBOX 0x8 $((op | (8 * $# << 16)))
    mmw $L $MBOX 0x4 1                  # doorbell
    clk
    mmr $Q $MBOX 0x10
}
{ setup; } >"$out/seeds/setup"
{
    setup
    for i in $(seq 0 31); do
        mmw $Q $WIN $((i * 4096 + 8 * i)) $((0x0123456789abcdef * (i + 3)))
        mmw $Q $WIN $((i * 4096 + 2048)) $((0x1111111111111111 * (i % 4)))
    done
    mmr $Q $WIN 0x1000
    mmw $Q $REGS 0x148 1                # flush the cache
    mmr $Q $REGS 0x20
} >"$out/seeds/window"
{
    setup
    mmw $Q $WIN 0x2000 0x5555aaaa5555aaaa
    mbox 0x4000                         # Identify Memory Device
    mbox 0x4301 0x2000                  # Inject Poison
    mbox 0x4300 0 0x100                 # Get Poison List
    mmr $Q $WIN 0x2000
    mbox 0x4302 0x2000 0 0 0 0 0 0 0 0  # Clear Poison
    mbox 0x4402 0x100000101 0x1000 0x1000  # Media Operations: zero
} >"$out/seeds/mailbox"
{
    setup
    mmw $Q $REGS 0x120 0x1f             # every interrupt
    mmw $Q $REGS 0x100 0x1000           # WM_LOW 4K
    mmw $Q $REGS 0x108 0x2000           # WM_HIGH 8K
    for i in $(seq 0 47); do
        mmw $Q $WIN $((i * 4096 + 8 * (i % 7))) $((0x7a3c5e9f1b2d4c6e * (i + 1)))
        mmw $Q $WIN $((i * 4096 + 1024)) $((0x3c5e9f1b2d4c6e7a * (i + 5)))
    done
    mmw $Q $REGS 0x148 1
    mmr $Q $REGS 0x110                  # STATUS: NO_ALLOC
    mmw $Q $REGS 0x130 0                # discard 4 pages from DPA 0
    mmw $Q $REGS 0x138 4
    mmr $Q $REGS 0x140
} >"$out/seeds/watermarks"

args=()
case "${1:-}" in
[0-9]*) args+=(-runs="$1"); shift ;;
esac
jobs=${CRAM_FUZZ_JOBS:-1}
[ "$jobs" = 1 ] || args+=(-jobs="$jobs" -workers="$jobs")
# An input or crash file as the argument replays it.
if [ $# -gt 0 ] && [ -f "$1" ]; then
    exec "$bin" --fuzz-target=generic-fuzz "$@"
fi
log "corpus $out/corpus, crashes in $out/crashes"
exec "$bin" --fuzz-target=generic-fuzz -detect_leaks=0 \
    -artifact_prefix="$out/crashes/" "${args[@]}" "$@" \
    "$out/corpus" "$out/seeds"
