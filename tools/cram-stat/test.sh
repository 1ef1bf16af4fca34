#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Tests of cram-stat without a guest OS: QEMU (stopped, TCG) with two
# cxl-crams, and QMP commands for the activity: cxl-cram-take-media moves
# one device's media used across its watermarks (CXL_CRAM_WATERMARK),
# cxl-inject-poison poisons a page (CXL_CRAM_POISON).  A fake guest, a
# Unix socket server in python3 as QEMU's chardev server socket would be,
# sends key=value lines once cram-stat connects.  Checked: the CSV's
# columns, which device's figures move, the guest's values in the rows
# after they were sent, the events file, SIGTERM, --pages, the charts.
# Usage: tools/cram-stat/test.sh
#   QEMU=... (default $CRAM_BUILD/qemu/qemu-system-x86_64)
#   CRAM_STAT=... (default $CRAM_BUILD/engine/cram-stat)
# Prints "ok"/"not ok" lines and ends with "N passed, N failed".
# Logs: build/test-logs/cram-stat/
# shellcheck source-path=SCRIPTDIR/../..
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/../../scripts/env.sh"
# shellcheck source=scripts/tap.sh
. "$CRAM_TOP/scripts/tap.sh"
QEMU=${QEMU:-$CRAM_BUILD/qemu/qemu-system-x86_64}
STAT=${CRAM_STAT:-$CRAM_BUILD/engine/cram-stat}
LOGS=$CRAM_BUILD/test-logs/cram-stat
# Unix socket paths are short: the sockets live in /tmp
run=$(mktemp -d /tmp/cram-stat.XXXXXX)
MiB=1048576
qemu_pid=''

cleanup() {
    [ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null || true
    rm -rf "$run"
}
trap cleanup EXIT

for f in "$QEMU" "$STAT"; do
    [ -x "$f" ] || { not_ok "$f: not built"; echo "$passed passed, $failed failed"; exit 1; }
done
rm -rf "$LOGS"
mkdir -p "$LOGS"

# Two cxl-crams of 256 MiB, 16 MiB of media each; one QMP socket for
# cram-stat, one for the test's commands (events go to both)
# shellcheck disable=SC2054  # commas belong to QEMU options
"$QEMU" -machine q35,cxl=on -accel tcg -S -display none -nodefaults -m 256M \
    -device pxb-cxl,id=cxl.0,bus=pcie.0,bus_nr=52 \
    -device cxl-rp,id=rp0,bus=cxl.0,chassis=0,slot=0 \
    -device cxl-cram,bus=rp0,id=cram0,capacity=256M,media-size=16M \
    -device pxb-cxl,id=cxl.1,bus=pcie.0,bus_nr=54 \
    -device cxl-rp,id=rp1,bus=cxl.1,chassis=1,slot=0 \
    -device cxl-cram,bus=rp1,id=cram1,capacity=256M,media-size=16M \
    -M cxl-fmw.0.targets.0=cxl.0,cxl-fmw.0.size=256M,cxl-fmw.1.targets.0=cxl.1,cxl-fmw.1.size=256M \
    -qmp "unix:$run/stat.sock,server=on,wait=off" \
    -qmp "unix:$run/test.sock,server=on,wait=off" \
    -daemonize -pidfile "$run/qemu.pid" >"$LOGS/qemu.log" 2>&1 || {
    not_ok "QEMU starts with two cxl-crams"
    sed 's/^/#   /' "$LOGS/qemu.log"
    echo "$passed passed, $failed failed"
    exit 1
}
qemu_pid=$(cat "$run/qemu.pid")

# qmp COMMAND JSON-ARGUMENTS: one command on the test's socket
qmp() {
    python3 - "$run/test.sock" "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
for cmd, args in (("qmp_capabilities", {}), (sys.argv[2], json.loads(sys.argv[3]))):
    f.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "event" not in r:
            break
    if "error" in r:
        sys.exit("qmp %s: %s" % (cmd, r["error"]))
PY
}

# The fake guest: listens where QEMU's chardev server socket would be,
# sends line 1 when cram-stat connects and line 2 once $run/go2 exists;
# $run/sentN holds the host's time just before line N went out.  It gives
# up after 20 s without cram-stat.
guest_py='
import os, socket, sys, time
run = sys.argv[1]
srv = socket.socket(socket.AF_UNIX)
srv.bind(run + "/guest.sock")
srv.listen(1)
srv.settimeout(20)
c, _ = srv.accept()
c.settimeout(20)
lines = [b"verdicts_refused=3 verdicts_accepted=10 bogus=1 direct_stores=5\r\n",
         b"verdicts_refused=4 verdicts_accepted=12 direct_stores=6\n"]
for n, line in enumerate(lines, 1):
    while n == 2 and not os.path.exists(run + "/go2"):
        time.sleep(0.05)
    open(run + "/sent%d" % n, "w").write("%.6f" % time.time())
    c.sendall(line)
while c.recv(4096):
    pass
'

csv=$LOGS/samples.csv events=$LOGS/events.csv
"$STAT" -i 0.2 --csv "$csv" --events "$events" -d cram0 \
    -d /machine/peripheral/cram1 --guest "$run/guest.sock" \
    --guest-keys verdicts_refused,verdicts_accepted,direct_stores \
    "$run/stat.sock" >"$LOGS/stat.out" 2>"$LOGS/stat.err" &
stat_pid=$!
sleep 0.7                   # the guest "boots" late: cram-stat retries
python3 -c "$guest_py" "$run" 2>"$LOGS/guest.err" &
guest_pid=$!
sleep 0.7
date +%s.%N >"$run/take"
qmp cxl-cram-take-media "{\"path\": \"/machine/peripheral/cram1\", \"size\": $((15 * MiB))}"
qmp cxl-inject-poison "{\"path\": \"/machine/peripheral/cram0\", \"start\": $((150 * MiB)), \"length\": 4096}"
sleep 0.7
touch "$run/go2"
sleep 0.7
kill -TERM "$stat_pid"
status=0
wait "$stat_pid" || status=$?
kill "$guest_pid" 2>/dev/null || true
wait "$guest_pid" 2>/dev/null || true

check "cram-stat ends with status 0 on SIGTERM" "$status" -eq 0
check "the fake guest got cram-stat's connection, made after it started" \
    -s "$run/sent1"
# py EXPR: EXPR with h = the CSV's header, rows = its rows (dicts),
# ev = the events' rows, take/sent1/sent2 = the host's times
py() {
    python3 - "$csv" "$events" "$run" "$1" <<'PY' 2>&1
import csv, json, sys
h = next(csv.reader(open(sys.argv[1])))
rows = list(csv.DictReader(open(sys.argv[1])))
ev = list(csv.reader(open(sys.argv[2])))
def t(n):
    try:
        return float(open(sys.argv[3] + "/" + n).read())
    except OSError:
        return float("inf")     # never sent
take, sent1, sent2 = t("take"), t("sent1"), t("sent2")
print(eval(sys.argv[4]))
PY
}
c0=cram0 c1=/machine/peripheral/cram1
check "CSV: time, unix, both devices' figures, the guest's keys" \
    "$(py "h[:3] + [h[k] for k in ((len(h) - 5) // 2 + 2, len(h) - 3, len(h) - 2, len(h) - 1)]")" = \
    "['time', 'unix', '$c0.capacity', '$c1.capacity', 'guest.verdicts_refused', 'guest.verdicts_accepted', 'guest.direct_stores']"
check "CSV: every row complete, at least 8 rows" \
    "$(py "len(rows) >= 8 and all(None not in r.values() and None not in r for r in rows)")" = True
check "CSV: unix is the host's clock (rows within 30 s of now)" \
    "$(py "abs(float(rows[-1]['unix']) - take) < 30")" = True
check "take-media on $c1: its media-used 0 before, 15 MiB at the end" \
    "$(py "[r['$c1.media-used'] for r in rows if float(r['unix']) < take][-1:] + [rows[-1]['$c1.media-used']]")" = \
    "['0', '$((15 * MiB))']"
check "take-media on $c1: $c0's media-used stays 0" \
    "$(py "sorted(set(r['$c0.media-used'] for r in rows))")" = "['0']"
check "poison on $c0: its poisoned-pages 1 at the end, $c1's 0" \
    "$(py "(rows[-1]['$c0.poisoned-pages'], rows[-1]['$c1.poisoned-pages'])")" = "('1', '0')"
check "guest: empty in the rows sampled before line 1 was sent" \
    "$(py "set(r['guest.verdicts_refused'] for r in rows if float(r['unix']) < sent1)")" = "{''}"
check "guest: line 1's values in a row after it was sent (bogus ignored)" \
    "$(py "[(r['guest.verdicts_refused'], r['guest.verdicts_accepted'], r['guest.direct_stores']) for r in rows if sent1 < float(r['unix']) < sent2][-1]")" = \
    "('3', '10', '5')"
check "guest: line 2's values in the last row, never before it was sent" \
    "$(py "(rows[-1]['guest.direct_stores'], any(r['guest.direct_stores'] == '6' and float(r['unix']) < sent2 for r in rows))")" = \
    "('6', False)"
check "guest: the unknown key warned once on stderr" \
    "$(grep -c 'bogus' "$LOGS/stat.err")" -eq 1
check "terminal: one line per device per sample" \
    "$(grep -c '^cram0 ' "$LOGS/stat.out")" -eq "$(py "len(rows)")"
check "events: CXL_CRAM_WATERMARK low-rise and high-rise of $c1" \
    "$(py "sorted(json.loads(e[3])['crossing'] for e in ev if e[2] == 'CXL_CRAM_WATERMARK' and json.loads(e[3])['qom-path'] == '$c1')")" = \
    "['high-rise', 'low-rise']"
check "events: CXL_CRAM_POISON of $c0, after take-media on both clocks" \
    "$(py "[(json.loads(e[3])['qom-path'], float(e[0]) > take, abs(float(e[0]) - float(e[1]) - (float(rows[0]['unix']) - float(rows[0]['time']))) < 0.5) for e in ev if e[2] == 'CXL_CRAM_POISON']")" = \
    "[('/machine/peripheral/$c0', True, True)]"

# One device, no --guest: the figures unprefixed, as before
"$STAT" -c 2 -i 0.1 --csv "$LOGS/one.csv" "$run/stat.sock" >"$LOGS/one.out" 2>&1 || true
check "one device: unprefixed columns" \
    "$(head -n 1 "$LOGS/one.csv" | cut -d, -f1-5)" = "time,unix,capacity,media-size,media-used"
check "one device: -c 2 gives 2 rows, poisoned-pages 1" \
    "$(tail -n +2 "$LOGS/one.csv" | wc -l)/$(python3 -c 'import csv,sys; print(list(csv.DictReader(open(sys.argv[1])))[-1]["poisoned-pages"])' "$LOGS/one.csv")" = "2/1"

# --pages: 4 buckets of 64 MiB; the poisoned page at 150 MiB in the third
"$STAT" --pages=4 -d cram0 "$run/stat.sock" >"$LOGS/pages.csv" 2>&1 || true
check "--pages=4: header, 4 buckets, pages add up to the capacity" \
    "$(python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); print(len(r), sum(int(b["pages"]) for b in r))' "$LOGS/pages.csv")" = \
    "4 $((256 * MiB / 4096))"
check "--pages=4: the poisoned page in the bucket at DPA 128 MiB only" \
    "$(python3 -c 'import csv,sys; print([(b["dpa"], b["poisoned"]) for b in csv.DictReader(open(sys.argv[1])) if b["poisoned"] != "0"])' "$LOGS/pages.csv")" = \
    "[('$((128 * MiB))', '1')]"
"$STAT" --pages -d cram0 "$run/stat.sock" >"$LOGS/pages64.csv" 2>&1 || true
check "--pages: 64 buckets by default" "$(tail -n +2 "$LOGS/pages64.csv" | wc -l)" -eq 64
status=0
"$STAT" --pages -d cram0 -d cram1 "$run/stat.sock" >/dev/null 2>&1 || status=$?
check "--pages with two devices: usage error (status 2)" "$status" -eq 2

# A fake QMP server that sends an event before each answer: the events
# that come while cram-stat waits for an answer are kept, and a data
# with a comma and quotes is one CSV field that parses back
fake_py='
import json, socket, sys
srv = socket.socket(socket.AF_UNIX)
srv.bind(sys.argv[1])
srv.listen(1)
srv.settimeout(20)
c, _ = srv.accept()
c.settimeout(20)
f = c.makefile("rw")
f.write("{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n")
f.flush()
for n, line in enumerate(f, 1):
    ev = {"timestamp": {"seconds": 1700000000, "microseconds": n},
          "event": "FAKE_%d" % n, "data": {"text": "a, \"b\"", "n": n}}
    f.write(json.dumps(ev) + "\n")
    f.write(json.dumps({"return": {"media-used": 4096 * n}}) + "\n")
    f.flush()
'
python3 -c "$fake_py" "$run/fake.sock" 2>"$LOGS/fake.err" &
fake_pid=$!
for _ in $(seq 50); do [ -S "$run/fake.sock" ] && break; sleep 0.1; done
"$STAT" -c 2 -i 0.1 --csv "$LOGS/fake.csv" --events "$LOGS/fake-events.csv" \
    "$run/fake.sock" >"$LOGS/fake.out" 2>&1 || true
kill "$fake_pid" 2>/dev/null || true
wait "$fake_pid" 2>/dev/null || true
check "events before an answer kept: one per command, data parses back" \
    "$(python3 -c 'import csv,json,sys; print([(e[2], json.loads(e[3])) for e in csv.reader(open(sys.argv[1]))])' "$LOGS/fake-events.csv" 2>&1)" = \
    "[('FAKE_1', {'text': 'a, \"b\"', 'n': 1}), ('FAKE_2', {'text': 'a, \"b\"', 'n': 2}), ('FAKE_3', {'text': 'a, \"b\"', 'n': 3})]"
check "events: QEMU's timestamp in the unix column" \
    "$(cut -d, -f1 "$LOGS/fake-events.csv" | head -n 1)" = "1700000000.000001"
check "the answers after the events are the samples" \
    "$(python3 -c 'import csv,sys; print([r["media-used"] for r in csv.DictReader(open(sys.argv[1]))])' "$LOGS/fake.csv" 2>&1)" = \
    "['8192', '12288']"

# The charts
for args in "timeline.png $csv $LOGS/timeline.png $events" \
    "timeline-c1.png -d $c1 $csv $LOGS/timeline-c1.png" \
    "timeline-one.png $LOGS/one.csv $LOGS/timeline-one.png" \
    "pages.png $LOGS/pages64.csv $LOGS/pages.png"; do
    read -r png a <<<"$args"
    script=$here/timeline.sh
    [ "$png" != pages.png ] || script=$here/pages.sh
    # shellcheck disable=SC2086  # the arguments are words
    bash "$script" $a >"$LOGS/$png.log" 2>&1 || true
    check "$(basename "$script") makes a non-empty $png" -s "$LOGS/$png"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
