/* Column-min micro-kernel: acc[j] = min(acc[j], x[j]), 0 <= j < n, both
 * contiguous. Rules as the reference: NaN sticks (either input NaN gives
 * NaN), -0 < +0, both given by FMIN itself (see reduce-neon.h). ISA:
 * AArch64 NEON, 16 floats per iteration. Tail: lane loads and stores.
 * Exact.
 */
#include <assert.h>

#include "reduce-neon.h"

void nb_f32_rmincol_ukernel__neon_u16(int64_t n, const float *x, float *acc) {
    assert(n >= 0);
    NB_NEON_COL_KERNEL(vminq_f32)
}
