#!/bin/bash
# Every script's apt helpers, and the pins of scripts/versions.sh.  Two
# suites, as the functions name them:
#   bookworm  the system's apt (bookworm, -updates, -security): the host's
#             build tools, the guest's kernel and busybox;
#   trixie    a project-local apt configuration in .cache/apt (its own
#             sources list, lists and archives; apt-get -o Dir::...): the
#             QEMU 10.0 source, meson >= 1.5, pycotap, option ROMs and the
#             guest's cxl/daxctl.  The system's sources list is never
#             touched and nothing from trixie is installed.
# Source this file.
# shellcheck disable=SC2034
CRAM_TOP=${CRAM_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CRAM_CACHE=${CRAM_CACHE:-$CRAM_TOP/.cache}
CRAM_BUILD=${CRAM_BUILD:-$CRAM_TOP/build}
APT_DIR=$CRAM_CACHE/apt
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# shellcheck source=scripts/versions.sh
. "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

# The trixie sources list (rewritten when the mirror changes).
apt_local_list() {
    mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/archives/partial"
    local list=$APT_DIR/sources.list
    local want
    want="deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR trixie main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR trixie main"
    if [ ! -f "$list" ] || [ "$(cat "$list")" != "$want" ]; then
        printf '%s\n' "$want" >"$list"
        rm -f "$APT_DIR/updated"
    fi
}

# The sources list, and its lists refreshed at most once a day.
apt_local_init() {
    apt_local_list
    if [ -z "$(find "$APT_DIR/updated" -mmin -1440 2>/dev/null)" ]; then
        apt_local update >&2 && touch "$APT_DIR/updated"
    fi
}

# apt-get and apt-cache on the trixie configuration.
apt_local() {
    apt-get -q \
        -o Dir::Etc::SourceList="$APT_DIR/sources.list" \
        -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$APT_DIR/lists" \
        -o Dir::Cache::Archives="$APT_DIR/archives" \
        -o Dir::Cache::pkgcache="" -o Dir::Cache::srcpkgcache="" \
        -o APT::Get::List-Cleanup=0 \
        "$@"
}
apt_local_cache() {
    apt-cache \
        -o Dir::Etc::SourceList="$APT_DIR/sources.list" \
        -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$APT_DIR/lists" \
        -o Dir::Cache::pkgcache="" -o Dir::Cache::srcpkgcache="" \
        "$@"
}

# apt_get SUITE ARGS... and apt_cache SUITE ARGS...: the suite's apt.
apt_get() {
    local suite=$1
    shift
    case $suite in
    bookworm) apt-get -q "$@" ;;
    trixie) apt_local "$@" ;;
    *) echo "apt: no suite $suite" >&2; return 1 ;;
    esac
}
apt_cache() {
    local suite=$1
    shift
    case $suite in
    bookworm) apt-cache "$@" ;;
    trixie) apt_local_cache "$@" ;;
    *) echo "apt: no suite $suite" >&2; return 1 ;;
    esac
}

# apt_update SUITE: refresh its package lists now; the time is kept in
# $APT_DIR/refreshed-SUITE for pin_refresh.
apt_update() {
    echo "apt: refreshing the $1 package lists" >&2
    if [ "$1" = trixie ]; then
        apt_local_list
        apt_local update >&2 && touch "$APT_DIR/updated"
    else
        apt-get -q update >&2
    fi || return 1
    mkdir -p "$APT_DIR"
    touch "$APT_DIR/refreshed-$1"
}

# install_host_pkgs PKG...: install the bookworm packages that are missing
# (system apt; progress on stderr, so stdout stays the caller's).
install_host_pkgs() {
    local p missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q update >&2
    apt-get -q install -y --no-install-recommends "${missing[@]}" >&2
}

# newest_version: the newest of the Debian versions on stdin.
newest_version() {
    local v best=
    while read -r v; do
        [ -n "$v" ] || continue
        if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then
            best=$v
        fi
    done
    echo "$best"
}

# madison_versions NAME [src]: the versions of binary package NAME (or of
# source package NAME) in `apt-cache madison` output on stdin.
madison_versions() {
    local n v where
    while IFS='|' read -r n v where; do
        n=${n// /} v=${v// /}
        [ "$n" = "$1" ] || continue
        case $where in
        *' Sources') [ "${2:-}" = src ] && echo "$v" ;;
        *) [ "${2:-}" = src ] || echo "$v" ;;
        esac
    done
    return 0
}

# deb_file DIR PKG VERSION: the path of that .deb in DIR (a glob when absent).
deb_file() { echo "$1/${2}_${3//:/%3a}_"*.deb; }

# fetch_deb SUITE DIR PKG VERSION: the .deb in DIR, downloaded unless there;
# the package's other versions in DIR are removed.
fetch_deb() {
    local suite=$1 dir=$2 pkg=$3 ver=$4
    [ -f "$(deb_file "$dir" "$pkg" "$ver")" ] && return 0
    [ "$suite" = bookworm ] || apt_local_init
    mkdir -p "$dir"
    rm -f "$dir/${pkg}_"*.deb
    (cd "$dir" && apt_get "$suite" -o APT::Sandbox::User=root download "$pkg=$ver" >&2) ||
        return 1
    [ -f "$(deb_file "$dir" "$pkg" "$ver")" ]
}

# --- The pins (scripts/versions.sh) ---

# The table, parsed once: PIN_SUITE, PIN_VERSION and PIN_SERIES by package.
declare -gA PIN_SUITE=() PIN_VERSION=() PIN_SERIES=()
while read -r _p _s _v _r; do
    case $_p in '' | '#'*) continue ;; esac
    PIN_SUITE[$_p]=$_s PIN_VERSION[$_p]=$_v PIN_SERIES[$_p]=$_r
done <<<"$CRAM_PINS"
unset _p _s _v _r

# pin_known PKG: whether PKG has a pin (an error message when not);
# pin_pinned PKG, pin_series PKG: its pinned version, its series.
pin_known() {
    [ -n "${PIN_VERSION[$1]:-}" ] ||
        { echo "versions: no pin for $1 in scripts/versions.sh" >&2; return 1; }
}
pin_pinned() { pin_known "$1" && echo "${PIN_VERSION[$1]}"; }
pin_series() { pin_known "$1" && echo "${PIN_SERIES[$1]}"; }

# pin_refresh SUITE: refresh the lists, unless that was done in the last
# ten minutes (a run resolving many pins refreshes once).
pin_refresh() {
    [ -n "$(find "$APT_DIR/refreshed-$1" -mmin -10 2>/dev/null)" ] && return 0
    apt_update "$1"
}

# pin_note TEXT: a loud warning, kept in $CRAM_BUILD/pin-warnings for the
# summary of scripts/test.sh.
pin_note() {
    {
        echo "versions: ******************************************************"
        echo "versions: WARNING: $*"
        echo "versions: ******************************************************"
    } >&2
    mkdir -p "$CRAM_BUILD" && echo "$*" >>"$CRAM_BUILD/pin-warnings"
}

# pins_resolve PKG...: "PKG VERSION" for each, VERSION being the pinned one
# when the archive has it.  When Debian has replaced it (security and point
# releases do), the newest of the pin's series, with a warning; with
# CRAM_PINS_STRICT=1, an error instead.  One madison per suite.
pins_resolve() {
    local -A got=()
    local suite p ver series name kind madison have best pkgs names v
    for p in "$@"; do pin_known "$p" || return 1; done
    for suite in bookworm trixie; do
        pkgs=() names=()
        for p in "$@"; do
            [ "${PIN_SUITE[$p]}" = "$suite" ] || continue
            pkgs+=("$p") names+=("${p#src:}")
        done
        [ ${#pkgs[@]} -gt 0 ] || continue
        [ "$suite" = bookworm ] || apt_local_init
        madison=$(apt_cache "$suite" madison "${names[@]}" 2>/dev/null)
        # Lists older than a pin do not have it yet.
        for p in "${pkgs[@]}"; do
            kind=; [ "${p#src:}" = "$p" ] || kind=src
            have=$(madison_versions "${p#src:}" "$kind" <<<"$madison")
            if ! grep -qxF -- "${PIN_VERSION[$p]}" <<<"$have"; then
                pin_refresh "$suite" || true
                madison=$(apt_cache "$suite" madison "${names[@]}" 2>/dev/null)
                break
            fi
        done
        for p in "${pkgs[@]}"; do
            name=${p#src:} ver=${PIN_VERSION[$p]} series=${PIN_SERIES[$p]}
            kind=; [ "${p#src:}" = "$p" ] || kind=src
            have=$(madison_versions "$name" "$kind" <<<"$madison")
            if grep -qxF -- "$ver" <<<"$have"; then
                got[$p]=$ver
                continue
            fi
            # shellcheck disable=SC2254
            best=$(while read -r v; do
                case $v in $series) echo "$v" ;; esac
            done <<<"$have" | newest_version)
            if [ -z "$best" ]; then
                echo "versions: $p $ver (scripts/versions.sh) is not in $suite, nor any" \
                    "version of its series $series; scripts/versions.sh --check lists" \
                    "what there is: pick one and bump the pin" >&2
                return 1
            fi
            if [ "${CRAM_PINS_STRICT:-0}" = 1 ]; then
                echo "versions: $p $ver (scripts/versions.sh) is not in the $suite" \
                    "archive; bump the pin to $best (scripts/versions.sh --check)" >&2
                return 1
            fi
            pin_note "$p $ver (pinned in scripts/versions.sh) is not in the $suite" \
                "archive; using $best, the newest of $series.  Bump the pin (make versions)."
            got[$p]=$best
        done
    done
    for p in "$@"; do echo "$p ${got[$p]}"; done
}

# pin_version PKG: the version to use (pins_resolve).
pin_version() {
    local line
    line=$(pins_resolve "$1") || return 1
    echo "${line#* }"
}

# pin_fetch PKG DIR [VERSION]: the .deb of PKG at VERSION (default: its
# pin, resolved) in DIR.  When the download fails (the lists name a
# version the archive no longer has), the lists are refreshed and the pin
# resolved again.  Prints the version it got.
pin_fetch() {
    local pkg=$1 dir=$2 ver=${3:-} suite
    pin_known "$pkg" || return 1
    suite=${PIN_SUITE[$pkg]}
    [ -n "$ver" ] || ver=$(pin_version "$pkg") || return 1
    if ! fetch_deb "$suite" "$dir" "$pkg" "$ver"; then
        echo "apt: cannot download $pkg $ver" >&2
        apt_update "$suite" || return 1
        ver=$(pin_version "$pkg") || return 1
        fetch_deb "$suite" "$dir" "$pkg" "$ver" || return 1
    fi
    echo "$ver"
}

# kernel_abi VERSION: the ABI name of a linux-source-6.12 version
# (6.12.118-1~deb12u1 -> 6.12.118+deb12-amd64).
kernel_abi() { echo "${1%%-*}+deb12-amd64"; }
