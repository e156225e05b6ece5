/* Row-min micro-kernel: min of x[i * incx], 0 <= i < n, n >= 1.
 *
 * Layout: x strided by incx (any sign, 0 allowed). Eight 4-lane
 * accumulators seeded with x[0], 32 elements per iteration. ISA: AArch64
 * NEON. Tail: a vector built lane by lane, missing lanes = x[0] (no
 * over-read). incx != 1: four elements gathered into one vector per step.
 * Rules (ref/reduce.c): any NaN gives NaN; -0 < +0; FMIN/FMINV implement
 * both (see reduce-neon.h). Exact: the result is one of the inputs (or a
 * NaN), so it is bit-identical to the reference up to the NaN payload.
 */
#include <assert.h>

#include "reduce-neon.h"

float nb_f32_rmin_ukernel__neon_u32(int64_t n, const float *x, int64_t incx) {
    assert(n >= 1 && x != NULL);
    return nb_neon_rminmax(n, x, incx, 0);
}
