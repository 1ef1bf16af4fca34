#!/bin/bash
# Environment for the trixie tools unpacked by deps.sh.  Source it.
CRAM_TOP=${CRAM_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CRAM_CACHE=${CRAM_CACHE:-$CRAM_TOP/.cache}
CRAM_BUILD=${CRAM_BUILD:-$CRAM_TOP/build}
_t=$CRAM_CACHE/tools
export PYTHONPATH=$_t/meson/usr/lib/python3/dist-packages:$_t/python3-pycotap/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}
export PATH=$_t/meson/usr/bin:$PATH
unset _t
