#!/bin/bash
# Chart a cram-stat --csv file: media used (and its reserved part) against
# the low and high watermarks over time, as a PNG.
#   tools/cram-stat/plot.sh samples.csv chart.png
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 CSV PNG" >&2; exit 2; }
csv=$1 png=$2
command -v gnuplot >/dev/null || { echo "$0: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }
[ -s "$csv" ] || { echo "$0: $csv: empty or missing" >&2; exit 1; }

# Columns by name, so that new cram-stat fields don't break the chart.
col() { head -n 1 "$csv" | tr ',' '\n' | grep -nx "$1" | cut -d: -f1; }
t=$(col time) used=$(col media-used) rsvd=$(col media-reserved)
lo=$(col wm-low) hi=$(col wm-high) size=$(col media-size)

gnuplot <<GP
set datafile separator ','
set terminal png size 900,500
set output '$png'
set title 'cxl-cram media used against the watermarks'
set xlabel 'time (s)'
set ylabel 'MiB'
set key left top
set grid
plot '$csv' every ::1 using $t:(\$$used/1048576) with lines lw 2 title 'media used', \
     '' every ::1 using $t:((\$$used-\$$rsvd)/1048576) with lines title 'stored (used - reserved)', \
     '' every ::1 using $t:(\$$lo/1048576) with lines dt 2 title 'low watermark', \
     '' every ::1 using $t:(\$$hi/1048576) with lines dt 2 title 'high watermark', \
     '' every ::1 using $t:(\$$size/1048576) with lines dt 3 title 'media size'
GP
echo "$png"
