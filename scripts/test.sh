#!/usr/bin/env bash
# The test command (README quick start): builds nabla and runs every test.
#
#   1. gcc release build: the CMocka suites under NABLA_ISA=auto and =ref,
#      and the examples under valgrind memcheck (suite "valgrind")
#   2. the same binaries under `qemu-x86_64 -cpu Westmere` (no AVX/AVX2/FMA):
#      proves no ISA instruction leaks outside kernels/avx2/ and that dispatch
#      falls back to ref
#   3. clang build: the suites under auto (the SIMD path through another
#      compiler)
#   4. gcc build with AddressSanitizer + UndefinedBehaviorSanitizer (also
#      the short Fashion-MNIST training, suite "train": no leak, no error)
#   5. AArch64 cross build (cross/aarch64-linux-gnu.ini), suites under
#      qemu-aarch64 (the NEON path)
#   6. install + an out-of-tree program through pkg-config, and a meson
#      project using nabla as a subproject; the shared library exports
#      exactly the NB_API functions (scripts/check_exports.py)
#   7. (fuzz) clang libFuzzer targets with ASan+UBSan, a fixed-time
#      campaign from the seed corpus (tests/fuzz/corpus/): fuzz_abi 40 s,
#      fuzz_diff 20 s, each one pass or one failure (NB_FUZZ_SECONDS scales)
#   0. (first, "docs") the cross-references of README.md, docs/ and the
#      public headers exist (scripts/check_refs.py)
#
# Installs missing Debian packages first (scripts/deps.sh). Ends with one
# line "N passed, M failed, K skipped" counting every test case that ran;
# exits non-zero if anything failed. NB_TEST_STAGES="gcc westmere" runs a
# subset. Under emulation NABLA_QEMU=1 tells the suites to use smaller sizes
# (every edge class stays).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/deps.sh
# shellcheck disable=SC2086
nb_ensure_deps $NB_DEPS_BUILD $NB_DEPS_TEST_EXTRA

# Tests that need an installed data set (deps.sh installs it) fail instead
# of skipping when it is missing under this command.
export NABLA_TEST_COMMAND=1
stages=${NB_TEST_STAGES:-"docs gcc westmere clang asan aarch64 consumer fuzz"}
out=${NB_TEST_BUILD_ROOT:-$root/build-test}
mkdir -p "$out"
total_pass=0 total_fail=0 total_skip=0
summary=""

# Adds one stage's counts (from meson test logs) to the totals.
tally() {   # name logfile...
    local name=$1; shift
    read -r p f s < <(python3 scripts/tap_count.py "$@")
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + s))
    summary+=$(printf '\n  %-10s %5d passed, %d failed, %d skipped' "$name" "$p" "$f" "$s")
}
stage_failed() {   # name reason: a stage that could not run counts as one failure
    echo "!! stage $1 failed: $2" >&2
    total_fail=$((total_fail + 1))
    summary+=$(printf '\n  %-10s FAILED: %s' "$1" "$2")
}

setup_build() {   # dir [meson args...]
    local dir=$1; shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log" >&2; return 1; }
    fi
    ninja -C "$dir" >"$dir.build.log" 2>&1 || { tail -50 "$dir.build.log" >&2; return 1; }
    if grep -q 'warning:' "$dir.build.log"; then
        echo "-- compiler warnings in $dir:" >&2
        grep -A3 'warning:' "$dir.build.log" | head -40 >&2
    fi
}

# Before a stage runs its suites: can its programs load at all? Each test
# program lists its cases (NABLA_TEST_LIST=1) under the stage's wrapper. A
# missing shared library is reported once, with the package that provides
# it, and the stage counts as one failure instead of one per program.
stage_loads() {   # stage-name build-dir arch-suffix [wrapper...]
    local name=$1 dir=$2 arch=$3; shift 3
    local exe err lib pkg bad=""
    for exe in "$dir"/tests/test_*; do
        [ -f "$exe" ] && [ -x "$exe" ] || continue
        if ! err=$(NABLA_TEST_LIST=1 "$@" "$exe" 2>&1 >/dev/null); then
            lib=$(echo "$err" | sed -n 's/.*error while loading shared libraries: \([^:]*\):.*/\1/p' | head -1)
            if [ -n "$lib" ]; then
                pkg=$(nb_package_of_lib "$lib" "$arch")
                bad="$(basename "$exe") cannot load: $lib not found (Debian package ${pkg:-unknown: apt-file search $lib}; scripts/deps.sh installs it)"
            else
                bad="$(basename "$exe") does not start: $(echo "$err" | head -2 | tr '\n' ' ')"
            fi
            break
        fi
    done
    [ -z "$bad" ] && return 0
    stage_failed "$name" "$bad"
    return 1
}

run_suites() {   # stage-name build-dir logbase [meson test args...]
    local name=$1 dir=$2 logbase=$3; shift 3
    echo "== $name: meson test $*" >&2
    meson test -C "$dir" --no-rebuild --print-errorlogs --logbase "$logbase" "$@" >&2
    # meson appends the wrapper's name to the log base when --wrapper is used
    local logs=("$dir/meson-logs/$logbase".json "$dir/meson-logs/$logbase"-*.json)
    local existing=() l
    for l in "${logs[@]}"; do [ -f "$l" ] && existing+=("$l"); done
    tally "$name" "${existing[@]:-$dir/meson-logs/$logbase.json}"
}

for stage in $stages; do
    case $stage in
    docs)
        # Every file, nb_ name and NABLA_ variable that README.md, docs/ and
        # the public headers mention exists in the tree.
        if python3 scripts/check_refs.py >&2; then
            total_pass=$((total_pass + 1)); summary+=$'\n  docs       cross-references: ok'
        else stage_failed docs "dangling cross-references (see above)"; fi
        ;;
    gcc)
        if CC=gcc setup_build "$out/gcc" -Dbench=disabled -Dtests=enabled; then
            stage_loads gcc "$out/gcc" "" && run_suites gcc "$out/gcc" gcc
            # The layering (kernels/ include only src/ukernel.h; no include or
            # call cycles among src/ files below the tensor layer).
            if python3 scripts/check_layers.py . "$out/gcc/libnabla.a" >&2; then
                total_pass=$((total_pass + 1)); summary+=$'\n  gcc        layering (check_layers.py): ok'
            else stage_failed gcc "layering violations (see above)"; fi
        else stage_failed gcc "build"; fi
        ;;
    westmere)
        # Reuses the gcc build: the same binaries on a CPU without AVX.
        if [ -f "$out/gcc/build.ninja" ] || CC=gcc setup_build "$out/gcc" -Dbench=disabled -Dtests=enabled; then
            info=$(qemu-x86_64 -cpu Westmere "$out/gcc/tools/nabla" info 2>&1)
            echo "$info" >&2
            if echo "$info" | grep -q '^isa active: *ref$'; then
                total_pass=$((total_pass + 1))
            else
                stage_failed westmere "nabla info under Westmere does not say ref"
            fi
            stage_loads westmere "$out/gcc" "" qemu-x86_64 -cpu Westmere && \
            NABLA_QEMU=1 run_suites westmere "$out/gcc" westmere --wrapper "qemu-x86_64 -cpu Westmere" \
                --suite auto --timeout-multiplier 10
        else stage_failed westmere "build"; fi
        ;;
    clang)
        if CC=clang setup_build "$out/clang" -Dbench=disabled -Dtests=enabled; then
            stage_loads clang "$out/clang" "" && run_suites clang "$out/clang" clang --suite auto
        else stage_failed clang "build"; fi
        ;;
    asan)
        if CC=gcc setup_build "$out/asan" -Dbench=disabled -Dtests=enabled -Dbuildtype=debugoptimized \
            -Db_sanitize=address,undefined -Db_lundef=false; then
            stage_loads asan "$out/asan" "" && \
            UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
                run_suites asan "$out/asan" asan --suite auto --suite train --timeout-multiplier 4
        else stage_failed asan "build"; fi
        ;;
    aarch64)
        if setup_build "$out/aarch64" --cross-file "$root/cross/aarch64-linux-gnu.ini" \
            -Dbench=disabled -Dtests=enabled; then
            stage_loads aarch64 "$out/aarch64" ":arm64" qemu-aarch64 && {
            qemu-aarch64 "$out/aarch64/tools/nabla" info >&2
            NABLA_QEMU=1 run_suites aarch64 "$out/aarch64" aarch64 --timeout-multiplier 10; }
        else stage_failed aarch64 "build"; fi
        ;;
    consumer)
        # (a) installed library + pkg-config, compiled outside the tree
        prefix="$out/prefix"
        rm -rf "$prefix" "$out/install"
        if setup_build "$out/install" --prefix="$prefix" -Dtests=disabled -Dbench=disabled \
            && meson install -C "$out/install" >"$out/install.log" 2>&1; then
            pcdir=$(dirname "$(find "$prefix" -name nabla.pc | head -1)")
            libdir=$(dirname "$pcdir")
            if PKG_CONFIG_PATH=$pcdir cc -std=c11 -Wall -Wextra -Wpedantic -Werror \
                    -o "$out/consumer-pc" tests/consumer/consumer.c \
                    $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs nabla) -lm \
                && LD_LIBRARY_PATH=$libdir "$out/consumer-pc" >&2; then
                total_pass=$((total_pass + 1)); summary+=$'\n  consumer   pkg-config program: ok'
            else stage_failed consumer "pkg-config program"; fi
            # Exactly the NB_API functions of the public headers leave the
            # shared library (both directions, each difference named) ...
            if python3 scripts/check_exports.py include/nabla "$libdir"/libnabla.so >&2; then
                total_pass=$((total_pass + 1)); summary+=$'\n  consumer   exports == NB_API declarations: ok'
            else stage_failed consumer "exports differ from the NB_API declarations (see above)"; fi
            # ... and a program referencing every one of them links against it.
            if python3 scripts/check_exports.py include/nabla --emit-c "$out/every_entry_point.c" \
                && cc -std=c11 -Wall -Wextra -Werror -o "$out/every-entry-point" "$out/every_entry_point.c" \
                    $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs nabla) >&2 \
                && LD_LIBRARY_PATH=$libdir "$out/every-entry-point" >&2; then
                total_pass=$((total_pass + 1)); summary+=$'\n  consumer   every entry point links: ok'
            else stage_failed consumer "a program referencing every NB_API function does not link or run"; fi
        else stage_failed consumer "install"; fi
        # (b) a meson project with nabla as a subproject
        sub="$out/subproject"
        rm -rf "$sub"; mkdir -p "$sub/subprojects"
        cp tests/consumer/meson.build tests/consumer/consumer.c "$sub/"
        ln -sfn "$root" "$sub/subprojects/nabla"
        if meson setup "$sub/build" "$sub" >"$out/subproject.log" 2>&1 \
            && ninja -C "$sub/build" >>"$out/subproject.log" 2>&1; then
            run_suites subproject "$sub/build" subproject
        else tail -30 "$out/subproject.log" >&2; stage_failed subproject "build"; fi
        ;;
    fuzz)
        # libFuzzer needs clang; the library is instrumented for coverage
        # (fuzzer-no-link) and both are built with ASan + UBSan.
        if CC=clang setup_build "$out/fuzz" -Dfuzz=true -Dtests=disabled -Dbench=disabled -Dtools=false \
            -Dexamples=false -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
            -Dc_args=-fsanitize=fuzzer-no-link; then
            secs=${NB_FUZZ_SECONDS:-60}
            for target in abi:2 diff:1; do
                name=${target%%:*} share=${target##*:}
                t=$((secs * share / 3)); [ "$t" -ge 1 ] || t=1
                work="$out/fuzz-corpus-$name" arts="$out/fuzz-artifacts-$name"
                mkdir -p "$work" "$arts"
                echo "== fuzz: fuzz_$name for ${t} s (seeds tests/fuzz/corpus/$name)" >&2
                if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
                    "$out/fuzz/tests/fuzz/fuzz_$name" -max_total_time="$t" -timeout=20 -rss_limit_mb=2048 \
                    -artifact_prefix="$arts/" "$work" "tests/fuzz/corpus/$name" >"$out/fuzz-$name.log" 2>&1; then
                    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$out/fuzz-$name.log" | tail -1)
                    total_pass=$((total_pass + 1))
                    summary+=$(printf '\n  fuzz       fuzz_%s: %s executions in %d s, nothing found' "$name" "${runs:-?}" "$t")
                else
                    grep -E '^fuzz:|ERROR|SUMMARY|Test unit written' "$out/fuzz-$name.log" | head -20 >&2
                    stage_failed fuzz "fuzz_$name found a failure (log $out/fuzz-$name.log, input in $arts/)"
                fi
            done
        else stage_failed fuzz "build"; fi
        ;;
    *) stage_failed "$stage" "unknown stage" ;;
    esac
done

echo "== test summary:$summary" >&2
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
