# Debian 12 packages the two quick-start commands need; sourced by
# scripts/run.sh and scripts/test.sh. Installs what is missing (apt-get as
# root, or through sudo), else prints the list and stops.

# Native build and tests. zlib reads the gzip IDX files of src/data/;
# dataset-fashion-mnist is the real data set the gcc stage's short training
# test (examples/meson.build, suite "train") reads from
# /usr/share/datasets/fashion-mnist/.
NB_DEPS_BUILD="gcc g++ meson ninja-build pkg-config python3 libsleef-dev libcmocka-dev zlib1g-dev dataset-fashion-mnist"
# Benchmarks: Google Benchmark, OpenBLAS, oneDNN, XNNPACK and libxsmm as the
# peers measured side by side, matplotlib for the report's charts (scripts/bench_charts.py).
NB_DEPS_BENCH="libbenchmark-dev libopenblas-dev libdnnl-dev libxnnpack-dev libxsmm-dev python3-matplotlib"
# The report's static NEON estimates (scripts/neon_mca.py): LLVM 19's
# llvm-mca (LLVM 14's neoverse-n1 model is the Cortex-A57's) and the AArch64
# cross compiler that compiles the NEON kernels as the cross build does.
NB_DEPS_MCA="llvm-19 gcc-aarch64-linux-gnu libc6-dev-arm64-cross libsleef-dev:arm64"
# The rest of the test command: clang (with its OpenMP runtime), qemu for
# the no-AVX2 (Westmere) run and the AArch64 run, the AArch64 cross toolchain
# with the arm64 -dev packages from Debian's multiarch archive.
NB_DEPS_TEST_EXTRA="clang libclang-rt-14-dev libomp-dev valgrind qemu-user gcc-aarch64-linux-gnu g++-aarch64-linux-gnu \
libc6-dev-arm64-cross libsleef-dev:arm64 libcmocka-dev:arm64 libgomp1:arm64"
# (libclang-rt-14-dev holds libFuzzer and clang's sanitizer runtimes, for
# the fuzz stage; valgrind runs the examples under memcheck in the gcc stage.)
# (libgomp1:arm64 is the OpenMP runtime that the AArch64 test programs load
# under qemu-aarch64: the cross toolchain's libgomp1-arm64-cross is only for
# linking, in a directory that qemu does not search.)
# numpy's own exp/log/tanh loops, the elementwise peer of the report
# (scripts/bench_numpy.py; glibc's libmvec, the other one, is in libc6-dev).
NB_DEPS_BENCH="$NB_DEPS_BENCH python3-numpy"
# PyTorch (Debian's 1.13): the report's steps/ and tiny/ peer rows
# (scripts/bench_torch_steps.py) and the Fashion-MNIST twin.
NB_DEPS_BENCH="$NB_DEPS_BENCH python3-torch"

# The Debian package that provides a shared library the build's programs
# load (for a clear message when one is missing). arch: "" or ":arm64".
nb_package_of_lib() {   # soname arch
    case $1 in
        libgomp.so.*)      echo "libgomp1$2" ;;
        libsleef.so.*)     echo "libsleef3$2" ;;
        libcmocka.so.*)    echo "libcmocka0$2" ;;
        libomp.so.*)       echo "libomp5-14$2" ;;
        libgcc_s.so.*)     echo "libgcc-s1$2" ;;
        libstdc++.so.*)    echo "libstdc++6$2" ;;
        libbenchmark*.so*) echo "libbenchmark1debian$2" ;;
        libopenblas.so.*)  echo "libopenblas0$2" ;;
        libdnnl.so.*)      echo "libdnnl2$2" ;;
        libz.so.*)         echo "zlib1g$2" ;;
        libXNNPACK.so.*)   echo "libxnnpack0$2" ;;
        libpthreadpool.so.*) echo "libpthreadpool0$2" ;;
        libcpuinfo.so.*)   echo "libcpuinfo0$2" ;;
        libc.so.*|libm.so.*|ld-linux*) echo "libc6$2" ;;
        *) echo "" ;;
    esac
}

nb_missing() {
    local p missing=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
    done
    echo "$missing"
}

nb_ensure_deps() {
    local missing
    missing=$(nb_missing "$@")
    [ -z "$missing" ] && return 0
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo -n"
        else
            echo "nabla: missing Debian packages:$missing" >&2
            echo "nabla: install them as root: apt-get install$missing" >&2
            exit 1
        fi
    fi
    echo "nabla: installing$missing" >&2
    case "$missing" in
        *:arm64*) dpkg --print-foreign-architectures | grep -qx arm64 || $sudo dpkg --add-architecture arm64 ;;
    esac
    $sudo apt-get update -qq >&2 || { echo "nabla: apt-get update failed" >&2; exit 1; }
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >&2 \
        || { echo "nabla: apt-get install failed for:$missing" >&2; exit 1; }
}
