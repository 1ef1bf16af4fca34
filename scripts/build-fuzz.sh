#!/bin/bash
# QEMU's libFuzzer fuzzers, beside the other builds: build/qemu-fuzz holds
# qemu-fuzz-x86_64 (generic-fuzz and the other targets of
# tests/qtest/fuzz), built with clang-14, -fsanitize=fuzzer and ASan/UBSan
# from the same tree and overlay as build/qemu.  Incremental like the
# others.  scripts/fuzz-generic.sh runs it on a cxl-cram machine.
#   CRAM_NINJA_JOBS=N caps ninja's parallelism (default: ninja's own).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

# libFuzzer's runtime is libclang-rt-14-dev's libclang_rt.fuzzer*.a.
CRAM_EXTRA_PKGS="clang-14 libclang-rt-14-dev ${CRAM_EXTRA_PKGS:-}" \
CRAM_QEMU_BUILD=$CRAM_BUILD/qemu-fuzz \
CRAM_QEMU_CONFIGURE="--cc=clang-14 --cxx=clang++-14 --enable-fuzzing \
--enable-asan --enable-ubsan ${CRAM_QEMU_CONFIGURE:-}" \
CRAM_QEMU_TARGETS=qemu-fuzz-x86_64 \
    bash "$here/build-qemu.sh"
