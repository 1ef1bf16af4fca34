#!/bin/bash
# The pins: the exact version of every outside package that the build
# fetches, in one table.  Versions change only here, on purpose; to bump
# one, see what the archives have with
#   scripts/versions.sh --check     (make versions)
# and edit its line.  Sourced through scripts/apt-local.sh, whose pin_*
# functions resolve them (DEVELOPERS.md, "Pinned versions").
#
# Columns: the package ("src:" for a source package); where it comes from
# ("bookworm": the system's apt, bookworm-security included; "trixie": the
# project-local lists of apt-local.sh); the pinned version; the series (a
# glob on the version) that the build falls back to, with a warning, when
# Debian has replaced the pinned version.
#
# linux-source-6.12 pins the guest's kernel as a whole: the image
# linux-image-<abi>-amd64(-unsigned) of build-guest.sh and the headers
# linux-headers-<abi>-amd64 of guest-driver/build.sh are of its version,
# with <abi> its upstream version and "+deb12" (6.12.118+deb12).
#
# The host's own build tools (compilers, libraries, ninja, seabios...) are
# not pinned: they are the bookworm packages that apt installs.
# shellcheck disable=SC2034
CRAM_PINS='
# QEMU 10.0 (the source tree we build; its option ROMs) and its build tools
src:qemu          trixie    1:10.0.13+ds-0+deb13u1        1:10.0.*
qemu-system-data  trixie    1:10.0.13+ds-0+deb13u1        1:10.0.*
meson             trixie    1.7.0-1                       1.7.*
python3-pycotap   trixie    1.3.1-2                       1.3.*
# the guest: kernel (source, image, headers) and busybox
linux-source-6.12 bookworm  6.12.118-1~deb12u1            6.12.*
busybox-static    bookworm  1:1.35.0-4+deb12u1+b1         1:1.35.0-*
# the guest: cxl, daxctl (ndctl 81) and their libraries; libcxl-dev for
# tools/cram-info
cxl               trixie    81-1                          81-*
daxctl            trixie    81-1                          81-*
libcxl1           trixie    81-1                          81-*
libcxl-dev        trixie    81-1                          81-*
libdaxctl1        trixie    81-1                          81-*
libndctl6         trixie    81-1                          81-*
libc6             trixie    2.41-12+deb13u5               2.41-*
libkmod2          trixie    34.2-2                        34.2-*
libudev1          trixie    257.13-1~deb13u1              257.*
libuuid1          trixie    2.41.5-0+deb13u1              2.41.*
libjson-c5        trixie    0.18+ds-1                     0.18*
libiniparser4     trixie    4.2.6-1                       4.2.*
libtraceevent1    trixie    1:1.8.4-2                     1:1.8.*
libtracefs1       trixie    1.8.1-1                       1.8.*
libssl3t64        trixie    3.5.9-1~deb13u1               3.5.*
liblzma5          trixie    5.8.1-1+deb13u2               5.8.*
libzstd1          trixie    1.5.7+dfsg-1                  1.5.*
libcap2           trixie    1:2.75-10+deb13u1+b3          1:2.75-*
zlib1g            trixie    1:1.3.dfsg+really1.3.1-1+deb13u1  1:1.3.*
libselinux1       trixie    3.8.1-1                       3.8.*
libpcre2-8-0      trixie    10.46-1~deb13u3               10.46-*
libgcc-s1         trixie    14.2.0-19                     14.2.*
liblz4-1          trixie    1.10.0-4                      1.10.*
libcrypt1         trixie    1:4.4.38-1                    1:4.4.*
'

# Run as a command (apt-local.sh sources this file again: once is enough).
[ "${BASH_SOURCE[0]}" = "$0" ] && [ -z "${cram_versions_main:-}" ] || return 0
cram_versions_main=1
set -euo pipefail
# shellcheck source=scripts/apt-local.sh
. "$(dirname "$0")/apt-local.sh"

pins_list() {
    grep -v '^#' <<<"$CRAM_PINS" | grep . | awk '{printf "%-18s %-9s %s\n", $1, $2, $3}'
}

# Each pin against the archive, the lists refreshed first: whether its
# version is still there, and the newer ones (within the series or not).
# Exit status 1 when a pin is missing.
pins_check() {
    local p suite ver series name kind have newer inser out rc=0 v
    local -A madison=()
    for suite in bookworm trixie; do
        apt_update "$suite" || echo "versions: (using the $suite lists as they are)" >&2
        # shellcheck disable=SC2046
        madison[$suite]=$(apt_cache "$suite" madison $(awk -v s="$suite" \
            '!/^#/ && $2 == s { sub(/^src:/, "", $1); print $1 }' <<<"$CRAM_PINS") 2>/dev/null)
    done
    printf '%-18s %-9s %-34s %s\n' package from pinned "in the archive"
    while read -r p suite ver series; do
        case $p in '' | '#'*) continue ;; esac
        name=${p#src:}
        kind=; [ "${p#src:}" = "$p" ] || kind=src
        have=$(madison_versions "$name" "$kind" <<<"${madison[$suite]}" | sort -u)
        newer=() inser=()
        while read -r v; do
            if [ -z "$v" ] || ! dpkg --compare-versions "$v" gt "$ver"; then continue; fi
            newer+=("$v")
            # shellcheck disable=SC2254
            case $v in $series) inser+=("$v") ;; esac
        done <<<"$have"
        if grep -qxF -- "$ver" <<<"$have"; then out=ok; else out=MISSING rc=1; fi
        if [ ${#newer[@]} -gt 0 ]; then
            out+=", newer: $(printf '%s\n' "${newer[@]}" | sort -V | tr '\n' ' ')"
            [ ${#inser[@]} -gt 0 ] || out+="(outside $series)"
        elif [ $out = ok ]; then
            out+=", newest"
        else
            out+=", the archive has: $(tr '\n' ' ' <<<"${have:-nothing}")"
        fi
        printf '%-18s %-9s %-34s %s\n' "$p" "$suite" "$ver" "${out% }"
    done <<<"$CRAM_PINS"
    ver=${PIN_VERSION[linux-source-6.12]}
    echo "(linux-source-6.12 also pins linux-image-$(kernel_abi "$ver")-unsigned and" \
        "linux-headers-$(kernel_abi "$ver"))"
    [ $rc = 0 ] || echo "A MISSING pin falls back to the newest of its series, with a" \
        "warning, or fails when the series has none: bump it."
    return $rc
}

case ${1:-} in
--check) pins_check ;;
--list) pins_list ;;
*) echo "usage: $0 --check | --list" >&2; exit 2 ;;
esac
