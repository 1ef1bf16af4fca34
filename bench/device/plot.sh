#!/bin/bash
# Chart the CSV of bench/device/run.sh as a PNG (gnuplot): per pattern, the
# throughput ratio cram/type3 of each configuration against the targets,
# and the nanoseconds per access (log scale) of type3 and of the cram.
#   bench/device/plot.sh results.csv chart.png
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 CSV PNG" >&2; exit 2; }
csv=$1 png=$2
command -v gnuplot >/dev/null || { echo "$0: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }
[ -s "$csv" ] || { echo "$0: $csv: empty or missing" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One row per pattern: ratio of each configuration, then ns of type3 (from
# the first configuration) and of the cram in each configuration.
python3 - "$csv" "$tmp/data" "$tmp/configs" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
configs, pats, v = [], [], {}
for r in rows:
    if r["config"] not in configs:
        configs.append(r["config"])
    if r["pattern"] not in pats:
        pats.append(r["pattern"])
    v[(r["config"], r["pattern"], r["device"])] = r
with open(sys.argv[2], "w") as f:
    for p in pats:
        cols = [p]
        for c in configs:
            r = v.get((c, p, "cram"))
            cols.append(r["ratio_cram_type3"] if r else "NaN")
        t3 = v.get((configs[0], p, "type3"))
        cols.append(t3["ns_per_access"] if t3 else "NaN")
        for c in configs:
            r = v.get((c, p, "cram"))
            cols.append(r["ns_per_access"] if r else "NaN")
        f.write(" ".join(cols) + "\n")
open(sys.argv[3], "w").write(" ".join(configs) + "\n")
EOF
read -ra configs <"$tmp/configs"
n=${#configs[@]}

colors=('#9400d3' '#009e73' '#e69f00' '#56b4e9' '#e51e10')
ratio_plot='' ns_plot="'$tmp/data' using $((n + 2)):xtic(1) title 'type3' lc rgb '#888888'"
for i in "${!configs[@]}"; do
    c=${configs[$i]} lc="lc rgb '${colors[$((i % 5))]}'"
    ratio_plot+="${ratio_plot:+, }'' using $((i + 2)):xtic(1) title 'cram $c' $lc"
    ns_plot+=", '' using $((n + 3 + i)) title 'cram $c' $lc"
done
ratio_plot="'$tmp/data'${ratio_plot#\'\'}"

gnuplot <<GP
set terminal png size 1000,750
set output '$png'
set multiplot layout 2,1 title 'cxl-cram against cxl-type3, one QEMU run per configuration (TCG, 8-byte accesses)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top right
set grid ytics
set xtics rotate by -20
set ylabel 'throughput cram / type3'
set yrange [0:1.2]
set arrow 1 from graph 0, first 0.9 to graph 1, first 0.9 nohead dt 2 lc rgb 'red'
set arrow 2 from graph 0, first 0.5 to graph 1, first 0.5 nohead dt 3 lc rgb 'red'
set label 1 'target 0.9 (hot-*)' at graph 0.99, first 0.93 right tc rgb 'red'
set label 2 'target 0.5 (stream-write)' at graph 0.99, first 0.53 right tc rgb 'red'
plot $ratio_plot
unset arrow 1
unset arrow 2
unset label 1
unset label 2
set ylabel 'ns per access (log)'
set logscale y
set yrange [100:*]
set key top left
plot $ns_plot
unset multiplot
GP
echo "$png"
