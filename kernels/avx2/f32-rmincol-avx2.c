/* Column-min micro-kernel: acc[j] = min(acc[j], x[j]), 0 <= j < n, both
 * contiguous. Rules as the reference: NaN sticks (either input NaN gives
 * NaN), -0 < +0 (see reduce-avx2.h). ISA: AVX2. Tail: masked load/store.
 * Exact.
 */
#include <assert.h>

#include "reduce-avx2.h"

void nb_f32_rmincol_ukernel__avx2_u32(int64_t n, const float *x, float *acc) {
    assert(n >= 0);
    NB_AVX2_COL_KERNEL(nb_avx2_min_nan)
}
