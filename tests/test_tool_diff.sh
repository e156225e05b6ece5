#!/bin/sh
# `nabla diff` and `nabla bench` end to end (the built tool, $1): a clean
# run exits 0, a result spoiled by the test-only hook NABLA_TEST_PERTURB
# exits 1 and names its ISA, bad input exits 2 with one line.
nabla=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
fail() { echo "FAIL: $*"; exit 1; }
expect() {   # expect STATUS CMD...
    want=$1; shift
    "$@" >out.txt 2>err.txt
    got=$?
    [ "$got" = "$want" ] || { cat out.txt err.txt; fail "$* exited $got, not $want"; }
}
dir=$(mktemp -d) && cd "$dir" || exit 1
trap 'rm -rf "$dir"' EXIT
simd=$("$nabla" info | sed -n 's/^isa supported: *//p' | tr ' ' '\n' | grep -v '^ref$' | head -n 1)
[ -n "$simd" ] || { echo "no SIMD ISA here: nothing to compare"; exit 77; }

for fam in "sgemm 33x17x70 --trans-a beta=0.5" "conv2d-fwd n2c6h9k5r3p1st2" "conv2d-bwd-data n2c6h9k4r3g2" \
           "conv2d-bwd-filter n2c6h9k5r3dl2" "reduce mean 30x40x5 axes=0,2" "reduce max 100x7 axes=0" \
           "copy permute 3x4x5 2,0,1" "unary tanh 3000" "softmax softmax 7x300"; do
    # shellcheck disable=SC2086
    expect 0 "$nabla" diff $fam --data uniform
    grep -q "^  $simd .* ok$" out.txt || { cat out.txt; fail "diff $fam: no ok line for $simd"; }
    # shellcheck disable=SC2086
    NABLA_TEST_PERTURB=$simd expect 1 "$nabla" diff $fam --isa "$simd"
    grep -q "^  $simd .*OUTSIDE THE BOUND" out.txt || { cat out.txt; fail "diff $fam: perturbed $simd not caught"; }
done
expect 0 "$nabla" diff sgemm 20x20x20 --data specials --seed 7
expect 0 "$nabla" bench unary relu 1000 --threads 1
grep -q "^  ref  *1 .* 1.00x$" out.txt || { cat out.txt; fail "bench: no reference row"; }
grep -q "^  $simd  *1 .*GB/s" out.txt || { cat out.txt; fail "bench: no $simd row"; }

expect 2 "$nabla" diff sgemm 4x4x0
expect 2 "$nabla" bench gemm 4x4x4
expect 2 "$nabla" diff unary exp 10 --isa nosuchisa
expect 2 "$nabla" diff unary exp 10 --data gaussian
expect 2 "$nabla" diff unary exp 10 --threads 2
expect 2 "$nabla" bench sgemm 1000000x1000000x1000000
[ "$(wc -l <err.txt)" = 1 ] || fail "bad input: not one line: $(cat err.txt)"
grep -q "GB" err.txt || fail "too large a shape: $(cat err.txt)"
"$nabla" --help | grep -q "bench FAMILY" || fail "--help does not list bench"
"$nabla" --help | grep -q "diff FAMILY" || fail "--help does not list diff"
echo "ok"
