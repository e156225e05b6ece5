/* Winograd F(4x4, 3x3) transforms, NEON (the operations and their order:
 * src/ukernel.h, "Winograd"; the bits of kernels/generic/f32-wino-scalar.c:
 * vmulq/vaddq/vsubq, never vfmaq).
 *
 * Vectorised across tiles like the AVX2 kernels: a q register holds one
 * element of 4 tiles; 12 tiles (the NEON GEMM's NR) are 3 groups of 4.
 *   input:  per group and input row a, 4 tiles' rows as two 4x4 blocks
 *           (columns 0..3, 4..7), transposed so columns become vectors;
 *           the row transform, then the column transform and 36 stores;
 *   output: 36 loads, the row then the column transform, + bias, and per
 *           output row p a 4x4 transpose giving each tile's row;
 *   filter: 4 filters per vector, their taps loaded lane by lane.
 */
#include <arm_neon.h>

#include "gemm-neon.h"   /* nb_neon_transpose4 */
#include "ukernel.h"

static inline void in6(const float32x4_t d[6], float32x4_t v[6]) {
    v[0] = vaddq_f32(vsubq_f32(d[4], vmulq_n_f32(d[2], 5.0f)), vmulq_n_f32(d[0], 4.0f));
    v[1] = vsubq_f32(vaddq_f32(d[3], d[4]), vmulq_n_f32(vaddq_f32(d[1], d[2]), 4.0f));
    v[2] = vaddq_f32(vsubq_f32(d[4], d[3]), vmulq_n_f32(vsubq_f32(d[1], d[2]), 4.0f));
    const float32x4_t h = vsubq_f32(d[4], d[2]), f = vmulq_n_f32(vsubq_f32(d[3], d[1]), 2.0f);
    v[3] = vaddq_f32(h, f);
    v[4] = vsubq_f32(h, f);
    v[5] = vaddq_f32(vsubq_f32(d[5], vmulq_n_f32(d[3], 5.0f)), vmulq_n_f32(d[1], 4.0f));
}

static inline void out6(const float32x4_t m[6], float32x4_t o[4]) {
    const float32x4_t a = vaddq_f32(m[1], m[2]), b = vsubq_f32(m[1], m[2]);
    const float32x4_t c = vaddq_f32(m[3], m[4]), e = vsubq_f32(m[3], m[4]);
    o[0] = vaddq_f32(vaddq_f32(m[0], a), c);
    o[1] = vaddq_f32(b, vmulq_n_f32(e, 2.0f));
    o[2] = vaddq_f32(a, vmulq_n_f32(c, 4.0f));
    o[3] = vaddq_f32(vaddq_f32(b, vmulq_n_f32(e, 8.0f)), m[5]);
}

static inline void filter3(float32x4_t g0, float32x4_t g1, float32x4_t g2, float32x4_t u[6]) {
    const float32x4_t s = vaddq_f32(g0, g2), t = vaddq_f32(g0, vmulq_n_f32(g2, 4.0f));
    const float32x4_t g1x2 = vmulq_n_f32(g1, 2.0f);
    u[0] = vmulq_n_f32(g0, 0.25f);
    u[1] = vmulq_n_f32(vaddq_f32(s, g1), -1.0f / 6.0f);
    u[2] = vmulq_n_f32(vsubq_f32(s, g1), -1.0f / 6.0f);
    u[3] = vmulq_n_f32(vaddq_f32(t, g1x2), 1.0f / 24.0f);
    u[4] = vmulq_n_f32(vsubq_f32(t, g1x2), 1.0f / 24.0f);
    u[5] = g2;
}

void nb_f32_winoin_ukernel_12__neon(size_t channels, const float *x, ptrdiff_t plane,
                                    ptrdiff_t ld, const int32_t *off, float *v, ptrdiff_t vxi) {
    for (size_t c = 0; c < channels; c++) {
        const float *xc = x + (ptrdiff_t)c * plane;
        for (int h = 0; h < 3; h++) {
            float32x4_t t[6][6];
            for (int a = 0; a < 6; a++) {
                float32x4_t lo[4], hi[4], d[6];
                for (int i = 0; i < 4; i++) {
                    const float *row = xc + off[4 * h + i] + a * ld;
                    lo[i] = vld1q_f32(row);
                    hi[i] = vld1q_f32(row + 4);
                }
                nb_neon_transpose4(lo);
                nb_neon_transpose4(hi);
                d[0] = lo[0]; d[1] = lo[1]; d[2] = lo[2]; d[3] = lo[3]; d[4] = hi[0]; d[5] = hi[1];
                in6(d, t[a]);
            }
            for (int nu = 0; nu < 6; nu++) {
                const float32x4_t col[6] = {t[0][nu], t[1][nu], t[2][nu], t[3][nu], t[4][nu], t[5][nu]};
                float32x4_t res[6];
                in6(col, res);
                for (int mu = 0; mu < 6; mu++)
                    vst1q_f32(v + (6 * mu + nu) * vxi + (ptrdiff_t)c * 12 + 4 * h, res[mu]);
            }
        }
    }
}

int nb_f32_winoout_ukernel_12__neon(size_t live, const float *m, ptrdiff_t mxi, float bias,
                                    float *out) {
    const float32x4_t vb = vdupq_n_f32(bias), zero = vdupq_n_f32(0.0f);
    uint32x4_t bad = vdupq_n_u32(0);
    for (int h = 0; h < 3; h++) {
        float32x4_t t[6][4], o[4][4];
        /* o * 0 is 0 for finite o, NaN for NaN and +-Inf. */
        float32x4_t acc = zero;
        for (int mu = 0; mu < 6; mu++) {
            float32x4_t row[6];
            for (int nu = 0; nu < 6; nu++) row[nu] = vld1q_f32(m + (6 * mu + nu) * mxi + 4 * h);
            out6(row, t[mu]);
        }
        for (int q = 0; q < 4; q++) {
            const float32x4_t col[6] = {t[0][q], t[1][q], t[2][q], t[3][q], t[4][q], t[5][q]};
            float32x4_t res[4];
            out6(col, res);
            for (int p = 0; p < 4; p++) {
                o[p][q] = vaddq_f32(res[p], vb);
                acc = vaddq_f32(acc, vmulq_f32(o[p][q], zero));
            }
        }
        const int32x4_t lane = {0, 1, 2, 3};
        const uint32x4_t live4 = vcltq_s32(lane, vdupq_n_s32((int32_t)live - 4 * h));
        bad = vorrq_u32(bad, vandq_u32(vmvnq_u32(vceqq_f32(acc, zero)), live4));
        for (int p = 0; p < 4; p++) {
            float32x4_t r[4] = {o[p][0], o[p][1], o[p][2], o[p][3]};
            nb_neon_transpose4(r);   /* r[i]: tile 4 h + i's row p */
            for (int i = 0; i < 4; i++) vst1q_f32(out + 16 * (4 * h + i) + 4 * p, r[i]);
        }
    }
    return vmaxvq_u32(bad) != 0;
}

void nb_f32_winofilter_ukernel__neon(size_t n, const float *g, ptrdiff_t gstride,
                                     ptrdiff_t tstride, float *u, ptrdiff_t uxi) {
    for (size_t j = 0; j < n; j += 4) {
        const int live = n - j < 4 ? (int)(n - j) : 4;
        float taps[9][4] = {{0}};
        for (int l = 0; l < live; l++)
            for (int e = 0; e < 9; e++) taps[e][l] = g[(ptrdiff_t)(j + l) * gstride + e * tstride];
        float32x4_t gv[9], t[3][6];
        for (int e = 0; e < 9; e++) gv[e] = vld1q_f32(taps[e]);
        for (int r = 0; r < 3; r++) filter3(gv[3 * r], gv[3 * r + 1], gv[3 * r + 2], t[r]);
        for (int nu = 0; nu < 6; nu++) {
            float32x4_t res[6];
            filter3(t[0][nu], t[1][nu], t[2][nu], res);
            for (int mu = 0; mu < 6; mu++) {
                float *dst = u + (6 * mu + nu) * uxi + (ptrdiff_t)j;
                if (live == 4) {
                    vst1q_f32(dst, res[mu]);
                } else {
                    float tmp[4];
                    vst1q_f32(tmp, res[mu]);
                    for (int l = 0; l < live; l++) dst[l] = tmp[l];
                }
            }
        }
    }
}
