/* One row of softmax, AArch64 Advanced SIMD. n >= 1 contiguous floats, any
 * alignment; y == x allowed (the max pass reads all of x first).
 * Same three passes and arithmetic as the reference and the AVX2 kernel
 * (kernels/avx2/f32-softmax-avx2.c, which has the error bound: relative
 * error of y_j <= r_j + sum_k p_k r_k + u, r_j = u|x_j - m| + 2u):
 * max; e_j = exp(fl(x_j - m)) stored to y with S = sum e_j in double;
 * y_j = fl(e_j * (1/S)) with the product in double.
 * Tails (last 1..3) go through a 4-float stack buffer; its unused lanes are
 * excluded from the max (-inf) and the sum (zeroed). */
#include <math.h>
#include <sleef.h>

#include "vunary-neon.h"

float nb_neon_softmax_row_max(size_t n, const float *x) {
    float32x4_t m0 = vdupq_n_f32(-INFINITY), m1 = m0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        m0 = vmaxq_f32(m0, vld1q_f32(x + i));
        m1 = vmaxq_f32(m1, vld1q_f32(x + i + 4));
    }
    if (i + 4 <= n) { m0 = vmaxq_f32(m0, vld1q_f32(x + i)); i += 4; }
    float m = vmaxvq_f32(vmaxq_f32(m0, m1));
    for (; i < n; i++)
        if (x[i] > m) m = x[i];   /* a NaN here still makes the sum, so the row, NaN */
    return m;
}

static inline void acc_d(float32x4_t e, float64x2_t *lo, float64x2_t *hi) {
    *lo = vaddq_f64(*lo, vcvt_f64_f32(vget_low_f32(e)));
    *hi = vaddq_f64(*hi, vcvt_high_f64_f32(e));
}

double nb_neon_softmax_exp_sum(size_t n, const float *x, float m, float *y) {
    const float32x4_t vm = vdupq_n_f32(m);
    float64x2_t s0 = vdupq_n_f64(0.0), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const float32x4_t a = Sleef_expf4_u10advsimd(vsubq_f32(vld1q_f32(x + i), vm));
        const float32x4_t b = Sleef_expf4_u10advsimd(vsubq_f32(vld1q_f32(x + i + 4), vm));
        if (y) { vst1q_f32(y + i, a); vst1q_f32(y + i + 4, b); }
        acc_d(a, &s0, &s1);
        acc_d(b, &s2, &s3);
    }
    if (i + 4 <= n) {
        const float32x4_t a = Sleef_expf4_u10advsimd(vsubq_f32(vld1q_f32(x + i), vm));
        if (y) vst1q_f32(y + i, a);
        acc_d(a, &s0, &s1);
        i += 4;
    }
    if (i < n) {
        const size_t r = n - i;
        float buf[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        memcpy(buf, x + i, r * sizeof(float));
        float32x4_t a = Sleef_expf4_u10advsimd(vsubq_f32(vld1q_f32(buf), vm));
        a = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(a), nb_neon_lane_mask(r)));
        if (y) { vst1q_f32(buf, a); memcpy(y + i, buf, r * sizeof(float)); }
        acc_d(a, &s2, &s3);
    }
    const float64x2_t s = vaddq_f64(vaddq_f64(s0, s1), vaddq_f64(s2, s3));
    return vgetq_lane_f64(s, 0) + vgetq_lane_f64(s, 1);
}

static inline float32x4_t scale_d(float32x4_t e, float64x2_t s) {
    const float32x2_t lo = vcvt_f32_f64(vmulq_f64(vcvt_f64_f32(vget_low_f32(e)), s));
    return vcvt_high_f32_f64(lo, vmulq_f64(vcvt_high_f64_f32(e), s));
}

void nb_f32_softmax_ukernel__neon(size_t n, const float *x, float *y) {
    const float m = nb_neon_softmax_row_max(n, x);
    const double s = nb_neon_softmax_exp_sum(n, x, m, y);
    const float64x2_t inv = vdupq_n_f64(1.0 / s);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, scale_d(vld1q_f32(y + i), inv));
    for (; i < n; i++) y[i] = (float)((double)y[i] * (1.0 / s));
}
