#!/bin/bash
# Guest data-path benchmark: a cxl-cram against an upstream
# cxl-type3 and against the guest's own RAM, side by side in one QEMU run
# (same process, same guest boot), on the same access patterns.  Builds
# bench/device/devbench.c (static), boots the test guest with
# scripts/run-guest and a second host bridge holding the cxl-type3, runs
# devbench on both device-dax devices and on a file in guest RAM, and
# prints a table of the medians with the ratios cram/type3 and cram/RAM,
# plus the device's cache hit/miss figures from QMP.  See docs/performance-device.md.
#
# usage: bench/device/run.sh [options]
#   --quick          tiny sizes, one round, the default configuration only
#                    (smoke check, < 60 s)
#   --configs LIST   configurations to run, space-separated: cache (the
#                    default cram properties: cache-size=8M), nocache
#                    (cache-size=0), lz4 (compress=lz4), or NAME:PROPS for
#                    any other cxl-cram properties; default "cache nocache"
#   --rounds N       interleaved rounds per pattern (default 5; median)
#   --patterns LIST  only these devbench patterns (comma-separated)
#   --props P        more cxl-cram properties for every configuration
#   --out DIR        keep logs, QMP stats and the CSV in DIR
#                    (default build/bench-device, with --quick
#                    build/bench-device-quick)
#   --csv FILE       the CSV (default OUT/results.csv)
#   --perf           also record a perf profile of QEMU per configuration
#                    (OUT/perf-CONFIG.data; needs perf and root)
#   --devbench 'ARGS'  more devbench arguments (sizes; see devbench.c)
#   --png FILE       also chart the CSV (bench/device/plot.sh, gnuplot)
#   --cachebench     also time the page cache alone on the host (no QEMU):
#                    bench/device/cachebench.c, built from the engine sources
# Exit status: 0 when every configuration ran and reported every pattern
# (whether or not the targets are met), 1 otherwise, 2 on usage errors.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$TOP/bench/device
QEMU=${QEMU:-$TOP/build/qemu/qemu-system-x86_64}
OUT=''
PNG='' CSV='' QUICK='' PERF='' CACHEBENCH='' ROUNDS=5 PATTERNS='' XPROPS='' XARGS=''
CONFIGS=''
T3_SIZE=8G

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1 ;;
    --configs) CONFIGS=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --patterns) PATTERNS=$2; shift ;;
    --props) XPROPS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --csv) CSV=$2; shift ;;
    --perf) PERF=1 ;;
    --cachebench) CACHEBENCH=1 ;;
    --png) PNG=$2; shift ;;
    --devbench) XARGS=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
    shift
done

if [ -n "$QUICK" ]; then
    # 256 KiB hot set, 4 MiB streamed: the cache is shrunk to 1 MiB so
    # that the miss patterns still miss.
    ARGS="-r 1 -H 256 -p 1 -n 16384 -S 4 -m 1"
    QPROPS=cache-size=1M
    CONFIGS=${CONFIGS:-cache}
    TIMEOUT=100
else
    ARGS="-r $ROUNDS"
    QPROPS=''
    CONFIGS=${CONFIGS:-cache nocache}
    TIMEOUT=900
fi
[ -z "$PATTERNS" ] || ARGS+=" -P $PATTERNS"
[ -z "$XARGS" ] || ARGS+=" $XARGS"
# --quick keeps its own directory: it must not replace a full run's results
OUT=${OUT:-$TOP/build/bench-device${QUICK:+-quick}}
CSV=${CSV:-$OUT/results.csv}
mkdir -p "$OUT"

# props_of CONFIG: the cxl-cram properties of a configuration (later keys
# win in run-guest: --quick's cache size, then the configuration's, then
# --props).
props_of() {
    local p
    case $1 in
    cache) p='' ;;
    nocache) p=cache-size=0 ;;
    lz4) p=compress=lz4 ;;
    *:*) p=${1#*:} ;;
    *) echo "run.sh: unknown configuration '$1' (cache, nocache, lz4, NAME:PROPS)" >&2
       exit 2 ;;
    esac
    p=${QPROPS}${p:+,$p}${XPROPS:+,$XPROPS}
    echo "${p#,}"
}

# The static benchmark and the guest script, as a tree for run-guest --add.
ROOT=$OUT/root
mkdir -p "$ROOT/usr/local/bin"
gcc -O2 -static -Wall -Wextra -o "$ROOT/usr/local/bin/devbench" "$HERE/devbench.c"
install -m 755 "$HERE/guest-bench.sh" "$ROOT/usr/local/bin/guest-bench"

# run-guest already gives -M cxl-fmw.0 (the cxl-cram's window).  A second
# -M cxl-fmw.1... fails ("Parameters 'cxl-fmw.*' used inconsistently":
# -M parses into the already listified dictionary), but a [machine] group
# of -readconfig is merged with list concatenation: its cxl-fmw.0 becomes
# window 1.
cat >"$OUT/fmw1.cfg" <<EOF
[machine]
  cxl-fmw.0.targets.0 = "cxl.1"
  cxl-fmw.0.size = "$T3_SIZE"
EOF
# shellcheck disable=SC2054  # commas belong to QEMU options
TYPE3=(-device pxb-cxl,id=cxl.1,bus=pcie.0,bus_nr=60
    -device cxl-rp,id=rp1,bus=cxl.1,chassis=0,slot=1
    -object "memory-backend-ram,id=t3mem,size=$T3_SIZE,reserve=off,share=off"
    -device cxl-type3,bus=rp1,volatile-memdev=t3mem,id=t3
    -readconfig "$OUT/fmw1.cfg")

# QEMU may be rebuilt by someone else at any time: wait until it is there
# and has not changed for a few seconds.
wait_qemu() {
    local a b
    for _ in $(seq 120); do
        if [ -x "$QEMU" ]; then
            a=$(stat -c %Y:%s "$QEMU")
            sleep 3
            b=$(stat -c %Y:%s "$QEMU" 2>/dev/null || true)
            [ "$a" != "$b" ] || { echo "$a"; return 0; }
        else
            sleep 5
        fi
    done
    echo "run.sh: no stable $QEMU after 10 minutes" >&2
    return 1
}

# perf on the QEMU that run-guest (PID $1) starts, until QEMU exits.
perf_attach() {
    local rg=$1 out=$2 q=''
    for _ in $(seq 200); do
        q=$(pgrep -P "$rg" -x qemu-system-x86 || true)
        [ -z "$q" ] || break
        sleep 0.1
    done
    [ -n "$q" ] || { echo "run.sh: perf: no QEMU under $rg" >&2; return 0; }
    # shellcheck disable=SC2086  # PERF_OPTS may hold several options
    perf record -q -F "${PERF_FREQ:-999}" ${PERF_OPTS:-} -p "$q" -o "$out" \
        >/dev/null 2>&1 || true
}

# run_config NAME: one guest boot; writes OUT/NAME.log and OUT/stats-NAME.json
run_config() {
    local cfg=${1%%:*} props stamp rc
    props=$(props_of "$1")
    for _ in 1 2 3; do
        stamp=$(wait_qemu) || return 1
        echo "== $cfg: cxl-cram ${props:-(defaults)}; devbench $ARGS" >&2
        echo "$props" >"$OUT/props-$cfg.txt"
        rm -f "$OUT/stats-$cfg.json"
        rc=0
        QEMU=$QEMU "$TOP/scripts/run-guest" --append cram.nomod=kmem \
            --add "$ROOT" --timeout "$TIMEOUT" ${props:+--props "$props"} \
            --stats "$OUT/stats-$cfg.json" \
            --cmd "guest-bench $ARGS" -- "${TYPE3[@]}" \
            >"$OUT/$cfg.log" 2>&1 &
        local rg=$!
        [ -z "$PERF" ] || perf_attach "$rg" "$OUT/perf-$cfg.data" &
        wait "$rg" || rc=$?
        wait
        if [ "$stamp" = "$(stat -c %Y:%s "$QEMU" 2>/dev/null || true)" ]; then
            break
        fi
        echo "run.sh: $QEMU changed during the run: again" >&2
    done
    if [ "$rc" -ne 0 ] || ! grep -q '^RES,' "$OUT/$cfg.log"; then
        echo "run.sh: configuration $cfg failed (status $rc); $OUT/$cfg.log:" >&2
        tail -n 30 "$OUT/$cfg.log" >&2
        return 1
    fi
}

failed=0
for cfg in $CONFIGS; do
    props_of "$cfg" >/dev/null
done
for cfg in $CONFIGS; do
    run_config "$cfg" || failed=1
done

# The raw codec on the same pages, on the host: the reference for page-miss.
CODEC=$OUT/pagecodec.txt
: >"$CODEC"
if gcc -O2 -o "$OUT/pagecodec" "$HERE/pagecodec.c" -lzstd -llz4 2>/dev/null; then
    if [ -n "$QUICK" ]; then set -- 512 3; else set -- 4096 9; fi
    "$OUT/pagecodec" "$@" >"$CODEC" || : >"$CODEC"
fi

rm -f "$OUT/cachebench.txt"
if [ -n "$CACHEBENCH" ]; then
    ENG=$TOP/hw/mem/cxl-cram/engine
    # shellcheck disable=SC2046  # pkg-config output is several words
    if gcc -O2 -Wall -Wextra -I"$ENG" -I"$HERE" $(pkg-config --cflags glib-2.0) \
        -o "$OUT/cachebench" "$HERE/cachebench.c" "$ENG"/*.c \
        $(pkg-config --libs glib-2.0) -lzstd -llz4 -lpthread; then
        "$OUT/cachebench" $([ -z "$QUICK" ] || echo 1) >"$OUT/cachebench.txt" ||
            failed=1
    else
        failed=1
    fi
fi

# The table, the CSV and the verdicts.
NAMES=()
for cfg in $CONFIGS; do NAMES+=("${cfg%%:*}"); done
python3 - "$OUT" "$CSV" "$ARGS" "$CODEC" "${NAMES[@]}" <<'EOF' || failed=1
import json, os, sys

out, csv_path, args, codec_file = sys.argv[1:5]
configs = sys.argv[5:]
targets = {"hot-seq-read": 0.9, "hot-seq-write": 0.9, "hot-rand-read": 0.9,
           "hot-rand-write": 0.9, "stream-write": 0.5}
# The RAM-speed data path's target (docs/ram-path.md): hot sets that fit
# the cache at half the guest's own RAM or better.
targets_ram = {"hot-seq-read": 0.5, "hot-seq-write": 0.5,
               "hot-rand-read": 0.5, "hot-rand-write": 0.5}
order = ["hot-seq-read", "hot-seq-write", "hot-rand-read", "hot-rand-write",
         "stream-write", "page-miss", "rand-read"]

def parse(line):
    f = line.strip().split(",")
    d = {"tag": f[0]}
    for kv in f[1:]:
        k, _, v = kv.partition("=")
        d[k] = v
    return d

rows, ok = [], True
raw = {}
for line in open(codec_file):
    if line.startswith("CODEC,"):
        d = parse(line)
        raw[d["codec"]] = float(d["decompress_ns"])
        print("raw codec on devbench's pages (host): %s %s bytes/page, "
              "compress %s ns, decompress %s ns" % (
                  d["codec"], d["bytes_per_page"], d["compress_ns"],
                  d["decompress_ns"]))
for cfg in configs:
    log = os.path.join(out, cfg + ".log")
    if not os.path.exists(log):
        continue
    res, runs = {}, []
    for line in open(log, errors="replace"):
        if line.startswith("RES,"):
            d = parse(line)
            res[(d["pat"], d["dev"])] = d
        elif line.startswith("RUN,"):
            runs.append(parse(line))
    pats = [p for p in order if (p, "type3") in res and (p, "cram") in res]
    if not pats or any(((p, "type3") in res) != ((p, "cram") in res)
                       for p in order):
        ok = False      # a pattern ran on one device only (devbench -D)
    if not pats:
        continue
    print()
    print("configuration %s (devbench %s), medians; ratios of throughput: "
          "cram/type3 and cram/RAM (a file in the guest's RAM)" % (cfg, args))
    hdr = "%-15s %8s %8s %8s %7s %6s %7s %6s %9s %8s  %s" % (
        "pattern", "t3 ns", "cram ns", "RAM ns", "c/t3", "target", "c/RAM",
        "target", "hits", "misses", "verdict")
    print(hdr)
    print("-" * len(hdr))
    def verdict_of(ratio, tgt):
        if tgt is None or ratio is None:
            return None
        return ratio >= tgt
    for p in pats:
        t, c, m = res[(p, "type3")], res[(p, "cram")], res.get((p, "ram"))
        ratio = float(c["MBps"]) / float(t["MBps"])
        ratio_ram = float(c["MBps"]) / float(m["MBps"]) if m else None
        tgt, tgt_ram = targets.get(p), targets_ram.get(p) if m else None
        checks = [v for v in (verdict_of(ratio, tgt),
                              verdict_of(ratio_ram, tgt_ram)) if v is not None]
        verdict = "report" if not checks else \
            ("met" if all(checks) else "NOT met")
        print("%-15s %8s %8s %8s %7.3f %6s %7s %6s %9s %8s  %s" % (
            p, t["ns"], c["ns"], m["ns"] if m else "-", ratio,
            ">=%.1f" % tgt if tgt else "-",
            "%.3f" % ratio_ram if m else "-",
            ">=%.1f" % tgt_ram if tgt_ram else "-", c.get("hits", "?"),
            c.get("misses", "?"), verdict))
        for d in (t, c, m):
            if d is None:
                continue
            rows.append([cfg, p, d["dev"], d["ops"], d["sec"], d["ns"],
                         d["MBps"], d.get("hits", ""), d.get("misses", ""),
                         d.get("loads", ""), d.get("stores", ""),
                         "%.3f" % ratio if d is c else "",
                         "%.1f" % tgt if tgt else "",
                         "%.4f" % ratio_ram if d is c and m else "",
                         "%.1f" % tgt_ram if tgt_ram else "",
                         verdict if d is c else ""])
    # spread of the rounds: min..max ns per (device, pattern)
    spread = {}
    for d in runs:
        spread.setdefault((d["pat"], d["dev"]), []).append(float(d["ns"]))
    if any(len(v) > 1 for v in spread.values()):
        print("rounds, ns per access min..max: " + "; ".join(
            "%s %s" % (p, "/".join(
                "%d..%d" % (min(spread[(p, d)]), max(spread[(p, d)]))
                for d in ("type3", "cram", "ram") if (p, d) in spread))
            for p in pats) + " (type3/cram/RAM)")
    # per-access cost of each case, and the miss against the raw codec
    props = open(os.path.join(out, "props-%s.txt" % cfg)).read().strip()
    codec = "lz4" if "compress=lz4" in props else \
        "none" if "compress=none" in props else "zstd"
    def ns(p, d):
        return float(res[(p, d)]["ns"]) if (p, d) in res else None
    hit = [ns(p, "cram") for p in pats if p.startswith("hot-")]
    t3h = [ns(p, "type3") for p in pats if p.startswith("hot-")]
    parts = []
    if hit:
        parts.append("type3 %s ns, cram hit %s ns (hot patterns)" % (
            "/".join("%.0f" % x for x in t3h),
            "/".join("%.0f" % x for x in hit)))
    if ns("page-miss", "cram") is not None:
        extra = ns("page-miss", "cram") - ns("page-miss", "type3")
        miss = "cram miss (page-miss) %.0f ns, type3 on the same walk " \
            "%.0f ns: a 4 KiB miss costs %.0f ns more" % (
                ns("page-miss", "cram"), ns("page-miss", "type3"), extra)
        if codec in raw:
            miss += " (raw %s decompress of these pages on the host: %.0f " \
                "ns, ratio %.2f)" % (codec, raw[codec], extra / raw[codec])
        parts.append(miss)
    if parts:
        print("per access: " + "; ".join(parts))
    sf = os.path.join(out, "stats-%s.json" % cfg)
    if os.path.exists(sf):
        s = json.load(open(sf))
        print("QMP stats of cram0 after the run: cache-hits %d, cache-misses "
              "%d (hit rate %.1f%%), loads %d, stores %d, writebacks sync %d / "
              "async %d, pages compressed %d / raw %d / same %d / zero %d, "
              "media-used %.1f MiB, ratio %.2f" % (
                  s["cache-hits"], s["cache-misses"],
                  100.0 * s["cache-hits"] / max(1, s["cache-hits"] + s["cache-misses"]),
                  s["loads"], s["stores"], s["writebacks-sync"],
                  s["writebacks-async"], s["pages-compressed"], s["pages-raw"],
                  s["pages-same"], s["pages-zero"], s["media-used"] / 2**20,
                  s["ratio"]))
        # ram-path: a miss's cost in the guest beside the device's share
        def miss_tail(dev, rest):
            t = ""
            if ns("page-miss", "cram") is not None:
                g = ns("page-miss", "cram") / 1000.0
                t += "; page-miss in the guest %.2f: the rest (%s) %.2f" % (
                    g, rest, g - dev)
            if codec in raw:
                t += "; raw %s decompress %.2f" % (codec, raw[codec] / 1000.0)
            return t
        # where a read miss served by the fault thread goes (docs/ram-path.md)
        fm = s.get("fault-misses", 0)
        if fm:
            ph = [(k, s["fault-%s-ns" % k] / fm / 1000.0)
                  for k in ("lock", "evict", "decompress", "fill")]
            dev = sum(v for _, v in ph)
            print("mapped read misses: %d served by the fault thread; per "
                  "miss, us: %s, device-side %.2f" % (
                      fm, ", ".join("%s %.2f" % kv for kv in ph), dev) +
                  miss_tail(dev, "fault delivery, thread wake-up, TCG"))
        # ram-path-tlb-fill: misses loaded at a vCPU's TLB fill
        tm = s.get("tlb-fill-misses", 0)
        if tm:
            dev = s["tlb-fill-ns"] / tm / 1000.0
            print("misses loaded at TLB fill: %d of %d translations; per "
                  "miss, us: device-side %.2f" % (tm, s["tlb-fills"], dev) +
                  miss_tail(dev, "TCG's TLB fill and the access"))
    else:
        print("(no QMP stats for %s)" % cfg)

with open(csv_path, "w") as f:
    f.write("config,pattern,device,ops,sec_median,ns_per_access,MBps,"
            "cache_hits,cache_misses,loads,stores,ratio_cram_type3,target,"
            "ratio_cram_ram,target_ram,verdict\n")
    for r in rows:
        f.write(",".join(str(x) for x in r) + "\n")
cb = os.path.join(out, "cachebench.txt")
if os.path.exists(cb):
    print()
    print("the page cache alone on the host (cachebench; no QEMU):")
    sys.stdout.write(open(cb).read())
print()
print("CSV: %s" % csv_path)
sys.exit(0 if ok and rows else 1)
EOF
if [ -n "$PNG" ] && [ "$failed" = 0 ]; then
    bash "$HERE/plot.sh" "$CSV" "$PNG" >/dev/null || failed=1
fi
exit $failed
