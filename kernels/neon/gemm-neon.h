/* static inline helpers shared by the NEON GEMM kernels (AArch64 TUs only).
 *
 * The epilogue lives here once so that the packed 8x12 tile, its edge tiles
 * and the no-pack small-M kernel round identically (gemm_driver.h):
 *   beta == 0:  c = alpha*acc                 (C not read)
 *   otherwise:  c = fma(beta, c, alpha*acc)
 */
#ifndef NB_GEMM_NEON_H
#define NB_GEMM_NEON_H

#include <arm_neon.h>
#include <math.h>
#include <stddef.h>

static inline float32x4_t nb_neon_gemm_epilogue(float32x4_t acc, float32x4_t valpha, float32x4_t vbeta,
                                                const float *c, int read_c) {
    const float32x4_t t = vmulq_f32(valpha, acc);
    /* vfmaq_f32(t, x, y) = t + x*y with one rounding: fma(beta, c, t). */
    return read_c ? vfmaq_f32(t, vbeta, vld1q_f32(c)) : t;
}

/* One lane of the same: alpha*acc rounds like vmulq_f32 and fmaf (an FMADD
   instruction on AArch64) like vfmaq_f32; both correctly rounded IEEE ops. */
static inline float nb_neon_gemm_epilogue1(float acc, float alpha, float beta,
                                           const float *c, int read_c) {
    const float t = alpha * acc;
    return read_c ? fmaf(beta, *c, t) : t;
}

/* In-register 4x4 transpose: r[i] holds row i on entry, column i on exit.
   TRN1/TRN2 on 32-bit lanes pair up neighbouring rows, then on 64-bit lanes
   pair up the halves: 8 permutes, no memory round trip. */
static inline void nb_neon_transpose4(float32x4_t r[4]) {
    const float32x4_t t0 = vtrn1q_f32(r[0], r[1]), t1 = vtrn2q_f32(r[0], r[1]);
    const float32x4_t t2 = vtrn1q_f32(r[2], r[3]), t3 = vtrn2q_f32(r[2], r[3]);
    r[0] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2)));
    r[1] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3)));
    r[2] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2)));
    r[3] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3)));
}

/* Floats [j, j + 4) of a row of which only the first nn are valid: one
   vector load when all four are, else lane loads over +0 (zero when none
   is); nothing at or past p[nn] is read. For the packers' partial panels:
   one vector store per 4 floats instead of 4 scalar ones. */
static inline float32x4_t nb_neon_gemm_load4(const float *p, size_t j, size_t nn) {
    if (j + 4 <= nn) return vld1q_f32(p + j);
    float32x4_t v = vdupq_n_f32(0.0f);
    if (j < nn) v = vld1q_lane_f32(p + j, v, 0);
    if (j + 1 < nn) v = vld1q_lane_f32(p + j + 1, v, 1);
    if (j + 2 < nn) v = vld1q_lane_f32(p + j + 2, v, 2);
    return v;
}

#endif
