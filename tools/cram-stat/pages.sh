#!/bin/bash
# Chart a cram-stat --pages CSV: the page kinds of each DPA bucket as
# stacked bars across the capacity (empty, zero, same, compressed, raw:
# they add up to the bucket's pages), poisoned pages as marks, and the
# mean compressed size of the bucket's objects on the second axis.
#   tools/cram-stat/pages.sh CSV PNG
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 CSV PNG" >&2; exit 2; }
csv=$1 png=$2
command -v gnuplot >/dev/null || { echo "$0: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }
[ -s "$csv" ] || { echo "$0: $csv: empty or missing" >&2; exit 1; }

header=$(head -n 1 "$csv")
col() {
    local n
    n=$(tr ',' '\n' <<<"$header" | grep -nxF -- "$1" | cut -d: -f1)
    [ -n "$n" ] || { echo "$0: $csv: no column $1" >&2; exit 1; }
    echo "$n"
}
dpa=$(col dpa) mean=$(col mean-compressed-size) poison=$(col poisoned)
# the data without its header, so that bars and marks count rows alike
data=$(mktemp)
trap 'rm -f "$data"' EXIT
tail -n +2 "$csv" >"$data"
buckets=$(wc -l <"$data")
# about 16 address labels whatever the number of buckets
step=$(((buckets + 15) / 16))
bars=''
for k in empty zero same compressed raw; do
    bars+="'$data' using $(col $k)$([ -n "$bars" ] || echo ":xtic(int(\$0) % $step ? '' : sprintf('%d', \$$dpa / 1048576))") title '$k', "
done

gnuplot <<GP
set datafile separator ','
set datafile missing ''
set terminal png size 1000,500 noenhanced
set output '$png'
set title 'cxl-cram pages by kind across the device physical addresses'
set style data histograms
set style histogram rowstacked
set style fill solid 0.8 border -1
set boxwidth 0.9
set key outside right top font ',9'
set xlabel 'bucket start (DPA, MiB)'
set xtics rotate by -45 font ',8'
set ylabel 'pages'
set yrange [0:*]
set y2label 'mean compressed size (bytes)'
set y2range [0:4096]
set y2tics
set ytics nomirror
set grid y
plot ${bars}'' using 0:(column($poison) > 0 ? column($poison) : NaN) with points pt 7 ps 1.2 lc rgb 'red' title 'poisoned', \
     '' using 0:$mean axes x1y2 with linespoints lw 2 pt 6 lc rgb 'black' title 'mean compressed size'
GP
echo "$png"
