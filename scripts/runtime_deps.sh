#!/usr/bin/env bash
# Which Debian package provides each shared library that nabla's programs
# load at run time, and which line of scripts/deps.sh installs it (directly,
# or as a dependency of the package that line names).
#   scripts/runtime_deps.sh BUILD_DIR [aarch64]
# Native programs are read with ldd; AArch64 ones with readelf -d (NEEDED),
# resolved in the multiarch directories qemu-aarch64's loader searches.
set -uo pipefail   # (no grep -q after apt-cache: its early exit would fail the pipe)
cd "$(dirname "$0")/.."
dir=$1 arch=${2:-}
. scripts/deps.sh
var_line() {   # the line of deps.sh where NB_DEPS_<var> starts
    grep -n "^$1=" scripts/deps.sh | cut -d: -f1
}
deps_line() {   # package -> "deps.sh:N (how)" for the line that brings it in
    local want=$1 v p
    for v in NB_DEPS_BUILD NB_DEPS_BENCH NB_DEPS_TEST_EXTRA; do
        for p in ${!v}; do
            [ "$p" = "$want" ] && { echo "deps.sh:$(var_line $v) $v names it"; return; }
        done
    done
    # A multiarch package comes through another package of its architecture,
    # whose dependencies apt lists without the ":arch" suffix.
    local arch="" bare=$want
    [[ $want == *:* ]] && { arch=":${want#*:}"; bare=${want%%:*}; }
    for v in NB_DEPS_BUILD NB_DEPS_BENCH NB_DEPS_TEST_EXTRA; do
        for p in ${!v}; do
            if [ -n "$arch" ]; then [[ $p == *"$arch" ]] || continue
            else [[ $p == *:* ]] && continue; fi
            if apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
                  --no-replaces --no-enhances "$p" 2>/dev/null | grep "^ *Depends: <\?${want//+/\\+}>\?\$\|^${want//+/\\+}\$" >/dev/null; then
                echo "deps.sh:$(var_line $v) $v, through $p"; return
            fi
        done
    done
    echo "NOT INSTALLED BY deps.sh"
}
libs=""
for exe in "$dir"/tests/test_* "$dir"/tools/nabla "$dir"/bench/nabla_bench "$dir"/libnabla.so; do
    [ -f "$exe" ] || continue
    if [ -n "$arch" ]; then
        libs+=$(readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')$'\n'
    else
        libs+=$(ldd "$exe" | awk '/=>/ {print $3}')$'\n'
    fi
done
printf '%-34s %-28s %s\n' "library" "package" "installed by"
for lib in $(echo "$libs" | sort -u); do
    [ -z "$lib" ] && continue
    case $lib in */libnabla*) continue ;; esac
    if [ -n "$arch" ]; then
        path=$(ls /lib/aarch64-linux-gnu/"$lib" /usr/lib/aarch64-linux-gnu/"$lib" 2>/dev/null | head -1)
        [ -z "$path" ] && { printf '%-34s %-28s %s\n' "$lib" "MISSING" "-"; continue; }
    else path=$lib; fi
    real=$(readlink -f "$path")
    pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1-2 | sed 's/: .*//')
    [ -z "$pkg" ] && pkg=$(dpkg -S "$real" 2>/dev/null | head -1 | sed 's/: .*//')
    [ -z "$pkg" ] && pkg=$(dpkg -S "${path#/usr}" 2>/dev/null | head -1 | sed 's/: .*//')
    pkg=${pkg%:amd64}
    printf '%-34s %-28s %s\n' "$(basename "$path")" "$pkg" "$(deps_line "$pkg")"
done
