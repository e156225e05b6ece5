/* Column-sum micro-kernel: acc[j] += x[j], 0 <= j < n, both contiguous.
 *
 * The driver streams whole rows of a (rows x n) block through it with
 * vertical adds into an L1-resident accumulator strip (column sums at memory
 * speed). ISA: AArch64 NEON, 16 floats per iteration. Tail: lane loads and
 * stores (nothing outside [0, n) touched). Accuracy: one rounding per
 * element per call; the same additions as the AVX2 kernel, so the same bits.
 */
#include <assert.h>

#include "reduce-neon.h"

void nb_f32_raddcol_ukernel__neon_u16(int64_t n, const float *x, float *acc) {
    assert(n >= 0);
    NB_NEON_COL_KERNEL(vaddq_f32)
}
