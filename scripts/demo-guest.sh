#!/bin/bash
# The run command: boot a Linux guest with an 8 GiB cxl-cram over 1 GiB of
# media, under TCG, and show what driver developers come for:
#   1. the guest boots; 2. `cxl list` shows the 8 GiB memdev; 3. a RAM
#   region is created and onlined as a memory node; 4. the cxl_cram driver
#   loads; 5. a workload writes compressible, then incompressible data into
#   a tmpfs bound to the CXL node; 6. the guest prints what its driver sees
#   and the host prints the device's own figures (QMP); they must agree.
# Builds what is missing first (QEMU, guest image, driver).
# --cram-kernel: the same with our own kernel (scripts/build-kernel.sh, which
# must have been run) and the driver built against it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

kopt=() drv=$CRAM_BUILD/guest-driver stage=$CRAM_BUILD/demo-root
if [ "${1:-}" = --cram-kernel ]; then
    export CRAM_KERNEL_TREE=${CRAM_KERNEL_TREE:-$CRAM_BUILD/kernel/obj}
    kopt=(--cram-kernel) drv=$CRAM_BUILD/guest-driver-cram stage=$CRAM_BUILD/demo-root-cram
fi
bash "$here/build-qemu.sh"
[ ${#kopt[@]} -gt 0 ] || bash "$here/build-guest.sh" >/dev/null
CRAM_DRIVER_OUT=$drv bash "$CRAM_TOP/guest-driver/build.sh" >/dev/null
mkdir -p "$stage/root"
cp "$drv/cxl_cram.ko" "$stage/root/"
cat >"$stage/root/demo.sh" <<'GUEST'
set -e
D=/sys/class/cxl_cram/cram0
show() {
    echo 1 >$D/flush
    printf '  guest driver: ratio %s, media used %s of %s, status %s\n' \
        "$(cat $D/ratio)" "$(cat $D/media_used)" "$(cat $D/media_size)" \
        "$(cat $D/status | tr '\n' ' ')"
}
echo "== 2. cxl list -M"
cxl list -M
echo "== 3. region"
set -- $(cram-region)
echo "  $1 -> $2, onlined as NUMA node $3"
echo "== 4. driver"
insmod /root/cxl_cram.ko
echo "  $(ls /sys/class/cxl_cram) bound to $(cat $D/memdev), logical capacity $(cat $D/logical_capacity)"
cram-tmpfs /mnt 512M
echo "== 5a. 48 MiB of compressible text"
yes "cxl-cram demo: compressible text written by the guest into CXL memory" |
    head -c 50331648 >/mnt/text
show
echo "== 5b. 32 MiB of random (incompressible) data"
dd if=/dev/urandom of=/mnt/random bs=1M count=32 2>/dev/null
show
echo "GUEST media_used=$(cat $D/media_used) logical_held=$(cat $D/logical_held)"
GUEST

stats=$(mktemp)
trap 'rm -f "$stats"' EXIT
echo "== 1. booting the guest (TCG, 2 vCPUs)"
start=$SECONDS
boot() {
    "$here/run-guest" "${kopt[@]}" --timeout 300 --add "$stage" --stats "$stats" \
        --cmd 'sh /root/demo.sh'
}
st=0
out=$(boot) || st=$?
if [ "$st" -eq 123 ]; then
    echo "== QEMU's TCG left a vCPU halted for good (docs/guest.md): booting again"
    st=0
    out=$(boot) || st=$?
fi
[ "$st" -eq 0 ] || exit "$st"
echo "$out" | grep -v '^GUEST '
echo "== 6. host: the device's own figures (QMP qom-get cram0 stats)"
python3 - "$stats" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print("  ratio %.2f, media used %d of %d, logical held %d, status 0x%x"
      % (s["ratio"], s["media-used"], s["media-size"], s["logical-held"],
         s["status"]))
print("  pages zero/same/compressed/raw %d/%d/%d/%d, dropped writes %d, "
      "poisoned %d" % (s["pages-zero"], s["pages-same"],
                       s["pages-compressed"], s["pages-raw"],
                       s["dropped-writes"], s["poisoned-pages"]))
PY
guest_used=$(echo "$out" | sed -n 's/^GUEST media_used=\([0-9]*\).*/\1/p')
guest_held=$(echo "$out" | sed -n 's/.*logical_held=\([0-9]*\).*/\1/p')
host_used=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["media-used"])' "$stats")
host_held=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["logical-held"])' "$stats")
if [ "$guest_used" = "$host_used" ] && [ "$guest_held" = "$host_held" ]; then
    echo "== guest driver and host agree: media used $host_used, logical held $host_held ($((SECONDS - start)) s)"
else
    echo "== MISMATCH: guest media used $guest_used held $guest_held, host $host_used / $host_held" >&2
    exit 1
fi
