/* The core's FMLA peak, for `nabla bench`'s "% of peak": 24 independent
 * chains of 4-lane FMAs (Neoverse V1/V2: 4 pipes x 4 cycles of latency would
 * need 16), 24 x 4 x 2 = 192 flops an iteration. Each chain adds a*b (about
 * 1e-7) per step: the values stay finite and normal for any run length. */
#include <arm_neon.h>

#include "ukernel.h"

float nb_f32_fmapeak_ukernel__neon(int64_t iters) {
#define NB_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
    X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
#define NB_INIT(i) float32x4_t acc##i = vdupq_n_f32(1.0f + 1e-2f * (float)(i));
#define NB_STEP(i) acc##i = vfmaq_f32(acc##i, a, b);   /* FMLA accumulates into its destination: no register copies */
#define NB_SUM(i) s = vaddq_f32(s, acc##i);
    NB_CHAINS(NB_INIT)
    const float32x4_t a = vdupq_n_f32(0.999999f), b = vdupq_n_f32(1e-7f);
    for (int64_t it = 0; it < iters; it++) {
        NB_CHAINS(NB_STEP)
    }
    float32x4_t s = vdupq_n_f32(0.0f);
    NB_CHAINS(NB_SUM)
    return vgetq_lane_f32(s, 0);
}
