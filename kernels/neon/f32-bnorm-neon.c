/* The batch-norm rows (src/ukernel_bnorm.h) on NEON (AArch64): the
 * contract's 16 double lanes are eight float64x2 accumulators (q[j]:
 * lanes 2j, 2j+1), fed by four 4-float loads per step (fcvtl, fcvtl2); a
 * row's last 1..15 floats go through a zero-padded stack copy (no access
 * outside the row) and their masked lanes add +0.0 (sqdev, gsums: the term
 * and-ed with the lane mask), an exact no-op on a lane that never holds
 * -0.0; so the bits are nb_f32_bn*_ukernel__scalar's. vmulq/vaddq, never
 * vfmaq. gsums keeps sixteen accumulators live (of 32 registers).
 * affine: 4 floats per step, the tail through a stack copy. */
#include <arm_neon.h>
#include <string.h>

#include "ukernel.h"

/* 16 floats from p (the first `left` of them when left < 16, zeros after)
   as 16 double lanes. */
static inline void load16(const float *p, size_t left, float64x2_t d[8]) {
    float t[16];
    if (left < 16) {
        memset(t, 0, sizeof t);
        memcpy(t, p, left * sizeof(float));
        p = t;
    }
    for (int j = 0; j < 4; j++) {
        const float32x4_t v = vld1q_f32(p + 4 * j);
        d[2 * j] = vcvt_f64_f32(vget_low_f32(v));
        d[2 * j + 1] = vcvt_high_f64_f32(v);
    }
}

/* The term t on the double lanes 2j, 2j+1 that are below left, +0.0 on the others. */
static inline float64x2_t keep(float64x2_t t, size_t left, int j) {
    if (left >= 16) return t;
    const uint64x2_t idx = {(uint64_t)(2 * j), (uint64_t)(2 * j + 1)};
    const uint64x2_t m = vcltq_u64(idx, vdupq_n_u64((uint64_t)left));
    return vreinterpretq_f64_u64(vandq_u64(vreinterpretq_u64_f64(t), m));
}

/* nb_bnorm_tree: h = 8 (q[j] + q[j+4]), 4 (+ q[j+2]), 2 (+ q[j+1]), 1. */
static inline double tree(const float64x2_t q[8]) {
    float64x2_t s[4];
    for (int j = 0; j < 4; j++) s[j] = vaddq_f64(q[j], q[j + 4]);
    for (int j = 0; j < 2; j++) s[j] = vaddq_f64(s[j], s[j + 2]);
    const float64x2_t s2 = vaddq_f64(s[0], s[1]);
    return vgetq_lane_f64(s2, 0) + vgetq_lane_f64(s2, 1);
}

double nb_f32_bnsum_ukernel__neon(size_t rows, size_t n, const float *x, size_t ldx) {
    float64x2_t q[8];
    for (int j = 0; j < 8; j++) q[j] = vdupq_n_f64(0.0);
    for (size_t r = 0; r < rows; r++, x += ldx)
        for (size_t i = 0; i < n; i += 16) {
            float64x2_t d[8];
            load16(x + i, n - i, d);
            for (int j = 0; j < 8; j++) q[j] = vaddq_f64(q[j], d[j]);
        }
    return tree(q);
}

double nb_f32_bnsqdev_ukernel__neon(size_t rows, size_t n, const float *x, size_t ldx, double mu) {
    const float64x2_t m = vdupq_n_f64(mu);
    float64x2_t q[8];
    for (int j = 0; j < 8; j++) q[j] = vdupq_n_f64(0.0);
    for (size_t r = 0; r < rows; r++, x += ldx)
        for (size_t i = 0; i < n; i += 16) {
            float64x2_t d[8];
            load16(x + i, n - i, d);
            for (int j = 0; j < 8; j++) {
                const float64x2_t t = vsubq_f64(d[j], m);
                q[j] = vaddq_f64(q[j], keep(vmulq_f64(t, t), n - i, j));
            }
        }
    return tree(q);
}

void nb_f32_bngsums_ukernel__neon(size_t rows, size_t n, const float *g, const float *x, size_t ldx, double mu,
                                  double out[2]) {
    const float64x2_t m = vdupq_n_f64(mu);
    float64x2_t sg[8], sp[8];
    for (int j = 0; j < 8; j++) sg[j] = sp[j] = vdupq_n_f64(0.0);
    for (size_t r = 0; r < rows; r++, g += ldx, x += ldx)
        for (size_t i = 0; i < n; i += 16) {
            float64x2_t gd[8], xd[8];
            load16(g + i, n - i, gd);
            load16(x + i, n - i, xd);
            for (int j = 0; j < 8; j++) {
                sg[j] = vaddq_f64(sg[j], gd[j]);
                sp[j] = vaddq_f64(sp[j], keep(vmulq_f64(gd[j], vsubq_f64(xd[j], m)), n - i, j));
            }
        }
    out[0] = tree(sg);
    out[1] = tree(sp);
}

static inline float32x4_t affine4(float32x4_t va, float32x4_t vb, float32x4_t vc, const float *u, const float *v) {
    float32x4_t t = vmulq_f32(va, vld1q_f32(u));
    if (v) t = vaddq_f32(t, vmulq_f32(vb, vld1q_f32(v)));
    return vaddq_f32(t, vc);
}

void nb_f32_bnaffine_ukernel__neon(size_t rows, size_t n, size_t ld, const float *u, const float *v, float a,
                                   float b, float c, float *y) {
    const float32x4_t va = vdupq_n_f32(a), vb = vdupq_n_f32(b), vc = vdupq_n_f32(c);
    for (size_t r = 0; r < rows; r++, u += ld, y += ld, v = v ? v + ld : NULL) {
        size_t i = 0;
        for (; i + 4 <= n; i += 4) vst1q_f32(y + i, affine4(va, vb, vc, u + i, v ? v + i : NULL));
        if (i < n) {
            float tu[4] = {0}, tv[4] = {0}, ty[4];
            memcpy(tu, u + i, (n - i) * sizeof(float));
            if (v) memcpy(tv, v + i, (n - i) * sizeof(float));
            vst1q_f32(ty, affine4(va, vb, vc, tu, v ? tv : NULL));
            memcpy(y + i, ty, (n - i) * sizeof(float));
        }
    }
}
