#!/bin/bash
# Turn cram-bench CSV output into the PNG charts of docs/performance.md.
#   bench/plot.sh CSV_DIR [OUT_DIR]     (OUT_DIR defaults to docs/images)
# Needs gnuplot (gnuplot-nox, installed by scripts/deps.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
csv=${1:?usage: plot.sh CSV_DIR [OUT_DIR]}
out=${2:-$here/../docs/images}
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot not found" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

term='set terminal pngcairo size 800,420 font "DejaVu Sans,10" noenhanced'
if ! gnuplot -e 'set terminal pngcairo' 2>/dev/null </dev/null; then
    term='set terminal png size 800,420 noenhanced'
fi

# Throughput ratios per page set: engine / raw, store and load, both codecs.
if [ -f "$csv/speed.csv" ]; then
    awk -F, 'NR > 1 { k = $2; if (!(k in seen)) { seen[k] = 1; order[n++] = k }
                      r[$1 "," k ",s"] = $6; r[$1 "," k ",l"] = $11 }
             END { for (i = 0; i < n; i++) { k = order[i];
                     printf "%s %s %s %s %s\n", k, r["lz4," k ",s"],
                            r["lz4," k ",l"], r["zstd," k ",s"],
                            r["zstd," k ",l"] } }' "$csv/speed.csv" \
        >"$tmp/speed.dat"
    gnuplot <<EOF
$term
set output "$out/bench-speed.png"
set title "Engine throughput / raw codec throughput (same run; zero pages off scale)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set yrange [0:1.6]
set ylabel "engine / raw"
set grid ytics
set key outside bottom center horizontal
set arrow from graph 0, first 0.9 to graph 1, first 0.9 nohead dt 2 lw 2 lc rgb "red"
set label "target 0.9" at graph 0.01, first 0.85 tc rgb "red"
plot "$tmp/speed.dat" using 2:xtic(1) title "lz4 store", \
     "" using 3 title "lz4 load", \
     "" using 4 title "zstd store", \
     "" using 5 title "zstd load"
EOF
fi

# Page-miss latency: median and p99, raw decompress against engine load.
if [ -f "$csv/latency.csv" ]; then
    awk -F, 'NR > 1 { printf "%s %s %s %s %s\n", $1, $4, $6, $5, $7 }' \
        "$csv/latency.csv" >"$tmp/lat.dat"
    gnuplot <<EOF
$term
set output "$out/bench-latency.png"
set title "4 KiB page miss: raw decompress vs cram_engine_load (ns)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
set ylabel "ns"
set grid ytics
set key outside right
plot "$tmp/lat.dat" using 2:xtic(1) title "raw median", \
     "" using 3 title "engine median", \
     "" using 4 title "raw p99", \
     "" using 5 title "engine p99"
EOF
fi

# Churn: media used / stored bytes over the rewrites.
if [ -f "$csv/churn.csv" ]; then
    plots=()
    for key in lz4,engine zstd,engine lz4,compact zstd,compact; do
        f=$tmp/churn-${key/,/-}.dat
        awk -F, -v k="$key" 'NR > 1 && ($1 "," $2) == k { print $4, $9 }' \
            "$csv/churn.csv" >"$f"
        [ -s "$f" ] && plots+=("\"$f\" using 1:2 with lines lw 2 title \"${key/,/ }\"")
    done
    if [ ${#plots[@]} -gt 0 ]; then
        gnuplot <<EOF
$term
set output "$out/bench-churn.png"
set title "Churn at 90% fill: media used / sum of object sizes"
set xlabel "rewrites per filled page"
set ylabel "media used / stored bytes"
set grid
set key top left
set arrow from graph 0, first 1.05 to graph 1, first 1.05 nohead dt 2 lw 2 lc rgb "red"
set label "target 1.05" at graph 0.01, first 1.053 tc rgb "red"
set yrange [1:1.1]
plot $(IFS=,; echo "${plots[*]}")
EOF
    fi
fi

# Metadata per touched page, 1 TiB engine.
if [ -f "$csv/metadata.csv" ]; then
    plots=()
    # columns: 1 pattern, 2 touched, 12 engine bytes per touched page
    for p in sequential stride2 stride4099 scattered; do
        awk -F, -v p="$p" 'NR > 1 && $1 == p && $2 > 0 { print $2, $12 }' \
            "$csv/metadata.csv" >"$tmp/meta-$p.dat"
        [ -s "$tmp/meta-$p.dat" ] &&
            plots+=("\"$tmp/meta-$p.dat\" using 1:2 with linespoints lw 2 title \"$p\"")
    done
    gnuplot <<EOF
$term
set output "$out/bench-metadata.png"
set title "Host metadata per touched page, 1 TiB engine (page table + allocator, a tiny object a page)"
set xlabel "pages touched"
set ylabel "bytes per touched page"
set logscale xy
set grid
set key top right
set arrow from graph 0, first 16 to graph 1, first 16 nohead dt 2 lw 2 lc rgb "red"
set label "16 B/page" at graph 0.02, first 19 tc rgb "red"
plot $(IFS=,; echo "${plots[*]}")
EOF
fi

ls -l "$out"/bench-*.png
