#!/bin/bash
# The run command: build QEMU with cxl-cram, then a scripted QEMU session
# (the qtest /cxl-cram/demo) brings an 8 GiB cxl-cram with 1 GiB of media
# up through its CXL fixed memory window, writes 16 MiB each of zero,
# same-filled, text and random pages, and prints the device's own figures
# from its vendor registers and from QMP.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

bash "$here/build-qemu.sh"
export QTEST_QEMU_BINARY=$CRAM_BUILD/qemu/qemu-system-x86_64
"$CRAM_BUILD/qemu/tests/qtest/cxl-cram-test" --tap -p /x86_64/cxl-cram/demo |
    sed -n 's/^# //p; /^\(not \)\{0,1\}ok /p' | grep -Ev '^(random seed|starting QEMU|Start of|End of)'
