/* Column-sum micro-kernel: acc[j] += x[j], 0 <= j < n, both contiguous.
 *
 * The driver streams whole rows of a (rows x n) block through it with
 * vertical adds into an L1-resident accumulator strip (column sums at memory
 * speed). ISA: AVX2, 32 floats per iteration. Tail: masked load/store.
 * Accuracy: one rounding per element per call.
 */
#include <assert.h>

#include "reduce-avx2.h"

void nb_f32_raddcol_ukernel__avx2_u32(int64_t n, const float *x, float *acc) {
    assert(n >= 0);
    NB_AVX2_COL_KERNEL(_mm256_add_ps)
}
