#!/bin/bash
# Soak the machine-check scenarios: run each of them N times, two
# different ones at a time (the host loaded as when CI runs beside other
# work), and count the runs that passed.  A run passes when its test
# script prints no "not ok" line and at least one "ok".
#   reckless    guest-driver/test.sh reckless (Debian's kernel)
#   forced      guest-driver/zswap-test.sh forced (our kernel)
#   forced-debug  the same on our debug kernel (KASAN, lockdep)
#   poison      tools/cram-info/test.sh poison
# Usage: scripts/mce-soak.sh [-n RUNS] [SCENARIO...]   (default: all, 20)
# Each run's output: build/test-logs/soak/<scenario>-<i>.log; the last line
# is "<scenario>: P of N passed" for each scenario.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
RUNS=20
if [ "${1:-}" = -n ]; then
    RUNS=$2
    shift 2
fi
SCEN=("${@:-reckless forced poison}")
read -ra SCEN <<<"${SCEN[*]}"
LOGS=$TOP/build/test-logs/soak
mkdir -p "$LOGS"

cmd_of() {
    case $1 in
    reckless) echo "bash $TOP/guest-driver/test.sh reckless" ;;
    forced) echo "bash $TOP/guest-driver/zswap-test.sh forced" ;;
    forced-debug)
        echo "env CRAM_KERNEL_DEBUG=1 bash $TOP/guest-driver/zswap-test.sh forced" ;;
    poison) echo "bash $TOP/tools/cram-info/test.sh poison" ;;
    *) echo "mce-soak: unknown scenario $1" >&2; exit 2 ;;
    esac
}

declare -A pass=()
# run SCENARIO I: one run, its verdict in its log's last line
run() {
    local log=$LOGS/$1-$2.log
    # shellcheck disable=SC2046  # the command's words
    $(cmd_of "$1") >"$log" 2>&1
    if grep -q '^ok' "$log" && ! grep -q '^not ok' "$log"; then
        echo "soak: pass" >>"$log"
    else
        echo "soak: FAIL" >>"$log"
    fi
}

for s in "${SCEN[@]}"; do
    cmd_of "$s" >/dev/null || exit 2
    pass[$s]=0
done
# Pairs of different scenarios at a time: their logs do not collide; the
# second starts a minute after the first, once the shared driver build is
# done.
for ((i = 1; i <= RUNS; i++)); do
    n=${#SCEN[@]}
    for ((k = 0; k < n; k += 2)); do
        run "${SCEN[k]}" "$i" &
        if [ $((k + 1)) -lt "$n" ]; then
            # both build the guest driver in build/guest-driver first
            sleep 60
            run "${SCEN[k + 1]}" "$i" &
        fi
        wait
    done
    for s in "${SCEN[@]}"; do
        if [ "$(tail -n 1 "$LOGS/$s-$i.log")" = "soak: pass" ]; then
            pass[$s]=$((pass[$s] + 1))
        fi
        echo "round $i: $s $(tail -n 1 "$LOGS/$s-$i.log")"
    done
done
for s in "${SCEN[@]}"; do
    echo "$s: ${pass[$s]} of $RUNS passed"
done
