/* Row-min micro-kernel: min of x[i * incx], 0 <= i < n, n >= 1.
 *
 * Layout: x strided by incx (any sign, 0 allowed). Four 8-lane accumulators
 * seeded with x[0]. ISA: AVX2. Tail: masked load, masked-off lanes replaced
 * by x[0] (no over-read). incx != 1: scalar loop with the same rule.
 * Rules (ref/reduce.c): any NaN gives NaN; -0 < +0; see reduce-avx2.h for
 * how vmaxps/vminps' "second operand on NaN or tie" is neutralised.
 * Exact: the result is one of the inputs (or a NaN), so it is bit-identical
 * to the reference up to the NaN payload.
 */
#include <assert.h>

#include "reduce-avx2.h"

float nb_f32_rmin_ukernel__avx2_u32(int64_t n, const float *x, int64_t incx) {
    assert(n >= 1 && x != NULL);
    return nb_avx2_rminmax(n, x, incx, 0);
}
