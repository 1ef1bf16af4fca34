#!/bin/bash
# One timeline of a cram-stat --csv file, as a PNG of panels on one time
# axis: (a) the compression ratio; (b) media used against the watermarks
# and the media size; (c) the guest's verdicts and zswap direct stores,
# when the CSV has guest.verdicts_refused / guest.verdicts_accepted /
# guest.direct_stores (cram-stat --guest); (d) the device's interrupts
# and dropped writes.  With a cram-stat --events file, its events are
# vertical marks.
#   tools/cram-stat/timeline.sh [-d DEV] CSV PNG [EVENTS]
# DEV: the device's column prefix (default: the first device's; a
# one-device CSV without prefix works too).
set -euo pipefail
usage() { echo "usage: $0 [-d DEV] CSV PNG [EVENTS]" >&2; exit 2; }
dev=''
while getopts d: o; do
    case $o in d) dev=$OPTARG ;; *) usage ;; esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || [ $# -eq 3 ] || usage
csv=$1 png=$2 events=${3:-}
command -v gnuplot >/dev/null || { echo "$0: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }
[ -s "$csv" ] || { echo "$0: $csv: empty or missing" >&2; exit 1; }
[ -z "$events" ] || [ -f "$events" ] || { echo "$0: $events: missing" >&2; exit 1; }

header=$(head -n 1 "$csv")
# col NAME: the column number of NAME in the header, or nothing
col() { tr ',' '\n' <<<"$header" | grep -nxF -- "$1" | cut -d: -f1 || true; }

# The device's prefix: none in a one-device CSV, else DEV. or the first's
if [ -n "$dev" ]; then
    p="$dev."
elif [ -n "$(col media-used)" ]; then
    p=''
else
    p=$(tr ',' '\n' <<<"$header" | grep -v '^guest\.' | grep -m1 '\.media-used$' || true)
    p=${p%media-used}
fi
t=$(col time)
if [ -z "$t" ] || [ -z "$(col "${p}media-used")" ]; then
    echo "$0: $csv: no time or ${p}media-used column" >&2
    exit 1
fi

# fig NAME: the column number of figure NAME of the device
fig() {
    local n
    n=$(col "$p$1")
    [ -n "$n" ] || { echo "$0: $csv: no column $p$1" >&2; exit 1; }
    echo "$n"
}

# plot clauses of the panels; the guest panel only with its columns
ratio=$(fig ratio) used=$(fig media-used) lo=$(fig wm-low)
hi=$(fig wm-high) size=$(fig media-size) dropped=$(fig dropped-writes)
guest=''
for k in verdicts_refused verdicts_accepted direct_stores; do
    n=$(col "guest.$k")
    [ -z "$n" ] || guest+="${guest:+, }'$csv' every ::1 using $t:$n with steps lw 2 title '$k'"
done
irqs=''
for k in irq-low-rise irq-high-rise irq-high-fall irq-low-fall irq-dropped irq-danger irq-safe; do
    irqs+="'$csv' every ::1 using $t:$(fig "$k") with steps title '$k', "
done
panels=3
[ -z "$guest" ] || panels=4
# one time axis for all panels, whatever each one's data covers
xrange=$(awk -F, -v t="$t" 'NR == 2 {lo = $t} NR > 1 {hi = $t} END {if (hi > lo) printf "[%s:%s]", lo, hi; else printf "[*:*]"}' "$csv")

# The events as vertical lines (their time column), named in panel (a)
marks='' names=''
if [ -n "$events" ]; then
    marks=$(awk -F, '{printf "set arrow from %s, graph 0 to %s, graph 1 nohead dt 3 lc rgb \"gray40\"\n", $2, $2}' "$events")
    names=$(awk -F, '{printf "set label \"%s\" at %s, graph 0.95 rotate by 90 right font \",7\" tc rgb \"gray40\"\n", $3, $2}' "$events")
fi

gnuplot <<GP
set datafile separator ','
set datafile missing ''
set terminal png size 1000,$((panels * 220 + 60)) noenhanced
set output '$png'
set multiplot layout $panels,1 title 'cxl-cram timeline${p:+ (${p%.})}'
set lmargin 12
set xrange $xrange
set rmargin 22
set grid
set key outside right top box opaque font ',8'
$marks
$names
set ylabel 'ratio'
plot '$csv' every ::1 using $t:(column($ratio) >= 65535 ? NaN : column($ratio)) with lines lw 2 title 'ratio'
unset label
set ylabel 'MiB'
plot '$csv' every ::1 using $t:(column($used)/1048576) with lines lw 2 title 'media used', \
     '' every ::1 using $t:(column($lo)/1048576) with lines dt 2 title 'wm-low', \
     '' every ::1 using $t:(column($hi)/1048576) with lines dt 2 title 'wm-high', \
     '' every ::1 using $t:(column($size)/1048576) with lines dt 3 title 'media size'
$( [ -z "$guest" ] || printf "set ylabel 'guest'\nplot %s\n" "$guest" )
set ylabel 'count'
set xlabel 'time (s)'
plot ${irqs}'$csv' every ::1 using $t:$dropped with steps lw 2 title 'dropped-writes'
unset multiplot
GP
echo "$png"
