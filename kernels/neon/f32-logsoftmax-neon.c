/* One row of log_softmax, AArch64 Advanced SIMD. n >= 1 contiguous floats,
 * any alignment; y == x allowed (y[j] is written right after x[j] is read).
 * Same steps as the reference and the AVX2 kernel (bound in
 * kernels/avx2/f32-logsoftmax-avx2.c): max; S = sum exp(fl(x - m)) in
 * double; c = m + log(S) in double; y_j = fl(x_j - c), subtraction in double. */
#include <math.h>

#include "vunary-neon.h"

static inline float32x4_t sub_d(float32x4_t v, float64x2_t c) {
    const float32x2_t lo = vcvt_f32_f64(vsubq_f64(vcvt_f64_f32(vget_low_f32(v)), c));
    return vcvt_high_f32_f64(lo, vsubq_f64(vcvt_high_f64_f32(v), c));
}

void nb_f32_logsoftmax_ukernel__neon(size_t n, const float *x, float *y) {
    const float m = nb_neon_softmax_row_max(n, x);
    const double s = nb_neon_softmax_exp_sum(n, x, m, NULL);
    const double c = (double)m + log(s);
    const float64x2_t vc = vdupq_n_f64(c);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, sub_d(vld1q_f32(x + i), vc));
    for (; i < n; i++) y[i] = (float)((double)x[i] - c);
}
