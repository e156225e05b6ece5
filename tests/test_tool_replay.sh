#!/bin/sh
# A NABLA_VERBOSE=1 log of a program's calls ($2, tests/tool_replay_calls.c),
# replayed by `nabla diff --replay` and `nabla bench --replay` ($1): every
# distinct call, each with every argument the program gave it.
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
nabla=$(abs "$1"); calls=$(abs "$2")
fail() { echo "FAIL: $*"; exit 1; }
dir=$(mktemp -d) && cd "$dir" || exit 1
trap 'rm -rf "$dir"' EXIT

NABLA_VERBOSE=1 "$calls" 2>log.txt || { cat log.txt; fail "the recording program failed"; }
"$nabla" diff --replay log.txt >out.txt 2>err.txt
rc=$?
[ "$rc" = 0 ] || { cat out.txt err.txt; fail "diff --replay exited $rc"; }
for want in "sgemm 5x7x3 --trans-b alpha=0.5 beta=0 (" \
            "conv2d-fwd n1c4h6w5k3r3s3ph1pw0sth2stw1dlh1dlw1g1 (" \
            "reduce sum 6x5 axes=0 (" "copy permute 2x3x4 2,0,1 (" "unary exp 100 (" \
            "softmax logsoftmax 3x10 (" "6 distinct calls replayed from log.txt"; do
    grep -qF "$want" out.txt || { cat log.txt out.txt; fail "diff --replay: no '$want'"; }
done
simd=$("$nabla" info | sed -n 's/^isa supported: *//p' | tr ' ' '\n' | grep -v '^ref$' | head -n 1)
if [ -n "$simd" ]; then
    NABLA_TEST_PERTURB=$simd "$nabla" diff --replay log.txt >out.txt 2>err.txt
    rc=$?
    [ "$rc" = 1 ] || { cat out.txt err.txt; fail "diff --replay with $simd spoiled exited $rc, not 1"; }
    grep -q "6 of them outside the bound" out.txt || { cat out.txt; fail "diff --replay: no count of the failures"; }
fi
"$nabla" bench --replay log.txt --threads 1 >out.txt 2>err.txt || { cat out.txt err.txt; fail "bench --replay"; }
[ "$(grep -c '^  ref  *1 ' out.txt)" = 6 ] || { cat out.txt; fail "bench --replay: not 6 reference rows"; }

echo "nabla: nb_sgemm isa=avx2 NN M=2 N=2 threads=1 time=0.1 ms" >bad.txt
"$nabla" diff --replay bad.txt >out.txt 2>err.txt
[ $? = 2 ] && grep -q "bad.txt:1:" err.txt || fail "a truncated call line: $(cat err.txt)"
"$nabla" diff --replay no-such-file >out.txt 2>err.txt
[ $? = 2 ] || fail "a missing log is not exit status 2"
echo ok
