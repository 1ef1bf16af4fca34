#!/bin/bash
# The device's files call each other one way only: each file calls the
# functions of the layers below its own (hw/mem/cxl-cram/cxl-cram.h lists
# them in that order; docs/design.md draws the graph).  The engine's
# headers include each other without a circle.
#   scripts/check-layers.sh [--graph]
# Prints one line per violation (or, with --graph, every edge) and ends
# with "ok" or "N violations"; exit status 1 on a violation.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
DEV=$TOP/hw/mem/cxl-cram
GRAPH=${1:-}

# file -> layer; files of one layer must not call each other
declare -A LAYER=(
    [cxl-cram-ramalias.c]=0 [cxl-cram-events.c]=0
    [cxl-cram-safety.c]=1 [cxl-cram-poison.c]=2 [cxl-cram-mce.c]=3
    [cxl-cram-datapath.c]=4 [cxl-cram-stats.c]=5 [cxl-cram-scenario.c]=5
    [cxl-cram-regs.c]=6
    [cxl-cram-migration.c]=6 [cxl-cram-mediaops.c]=6 [cxl-cram-qmp.c]=6
    [cxl-cram-qmp-stubs.c]=6
    [cxl-cram-mailbox.c]=7 [cxl-cram.c]=8
)
bad=0

# The non-static functions each device file defines
declare -A DEF=()
for f in "$DEV"/cxl-cram*.c; do
    b=$(basename "$f")
    [ -n "${LAYER[$b]:-}" ] || { echo "no layer for $b"; bad=$((bad + 1)); continue; }
    for fn in $(grep -hoE '^[a-zA-Z][^(;=]*[ *](cxl_cram_[a-z0-9_]+)\(' "$f" |
                grep -v '^static' | grep -oE 'cxl_cram_[a-z0-9_]+\($' |
                tr -d '('); do
        DEF[$fn]=$b
    done
done

for f in "$DEV"/cxl-cram*.c; do
    b=$(basename "$f")
    for fn in $(grep -oE '\bcxl_cram_[a-z0-9_]+\(' "$f" | tr -d '(' | sort -u); do
        callee=${DEF[$fn]:-}
        [ -n "$callee" ] && [ "$callee" != "$b" ] || continue
        if [ "$GRAPH" = --graph ]; then
            echo "$b -> $callee ($fn)"
        fi
        if [ "${LAYER[$callee]}" -ge "${LAYER[$b]}" ]; then
            echo "$b (layer ${LAYER[$b]}) calls $fn of $callee (layer ${LAYER[$callee]})"
            bad=$((bad + 1))
        fi
    done
done

# The engine's include graph: a depth-first walk finds any circle.
declare -A STATE=()
walk() {
    local h=$1 inc
    STATE[$h]=open
    for inc in $(grep -oE '#include "cram-[^"]+"' "$DEV/engine/$h" |
                 sed 's/#include "//; s/"//'); do
        [ "$GRAPH" != --graph ] || echo "engine/$h -> engine/$inc"
        case ${STATE[$inc]:-} in
        open) echo "engine/$h includes engine/$inc: a circle"; bad=$((bad + 1)) ;;
        done) ;;
        *) walk "$inc" ;;
        esac
    done
    STATE[$h]=done
}
for h in "$DEV"/engine/*.h "$DEV"/engine/*.c; do
    h=$(basename "$h")
    [ -n "${STATE[$h]:-}" ] || walk "$h"
done

if [ "$bad" -gt 0 ]; then
    echo "$bad violations"
    exit 1
fi
echo ok
