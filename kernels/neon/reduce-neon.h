/* NEON reduction and copy micro-kernels (private to kernels/neon/).
 *
 * AArch64 Advanced SIMD only (vtrn1q/vtrn2q, vmaxvq/vminvq are A64
 * instructions); the NEON backend is built for AArch64 hosts only.
 * Helpers here are static inline only.
 *
 * max/min rule (ref/reduce.c: any NaN gives NaN; -0 < +0): the A64 FMAX /
 * FMIN / FMAXV / FMINV instructions (vmaxq_f32, vminq_f32, vmaxvq_f32,
 * vminvq_f32) implement exactly that in hardware: FPMax/FPMin return a NaN
 * when either operand is a NaN, and opposite-signed zeros give +0 (max) and
 * -0 (min) whatever the operand order. So unlike AVX2 (vmaxps returns its
 * second operand on NaN and on a zero tie, reduce-avx2.h has to fix both
 * up) no correction is needed. Not to be confused with vmaxnmq_f32
 * (FMAXNM, IEEE maxNum: a quiet NaN loses), which must NOT be used here.
 * Denormals: Linux runs with FPCR.FZ = 0, so they are compared as is.
 */
#ifndef NB_NEON_REDUCE_H
#define NB_NEON_REDUCE_H

#include <stdint.h>

#include <arm_neon.h>

#include "ukernel.h"

void  nb_f32_rsum_ukernel__neon_u32(int64_t n, const float *x, int64_t incx, float *acc);
float nb_f32_rmax_ukernel__neon_u32(int64_t n, const float *x, int64_t incx);
float nb_f32_rmin_ukernel__neon_u32(int64_t n, const float *x, int64_t incx);
void  nb_f32_rrows_ukernel__neon_4x8(int op, int64_t rows, int64_t n, const float *x, int64_t ldx,
                                     float *out);
void  nb_f32_raddcol_ukernel__neon_u16(int64_t n, const float *x, float *acc);
void  nb_f32_rmaxcol_ukernel__neon_u16(int64_t n, const float *x, float *acc);
void  nb_f32_rmincol_ukernel__neon_u16(int64_t n, const float *x, float *acc);
void  nb_x32_transpose_ukernel_4x4__neon(int64_t m, int64_t n, const void *src, int64_t lds,
                                         void *dst, int64_t ldd, int nontemporal);
void  nb_x32_fill_ukernel__neon(int64_t n, uint32_t value, void *dst);


/* Lanes 0..r-1 loaded from p, the others kept from v (r in 1..3): NEON has
   no masked loads, so tails are built lane by lane and nothing past p[r-1]
   is read. */
static inline float32x4_t nb_neon_load_partial(const float *p, int64_t r, float32x4_t v) {
    v = vld1q_lane_f32(p, v, 0);
    if (r > 1) v = vld1q_lane_f32(p + 1, v, 1);
    if (r > 2) v = vld1q_lane_f32(p + 2, v, 2);
    return v;
}

/* Lanes 0..r-1 of v stored to p (r in 1..3); nothing past p[r-1] is written. */
static inline void nb_neon_store_partial(float *p, int64_t r, float32x4_t v) {
    vst1q_lane_f32(p, v, 0);
    if (r > 1) vst1q_lane_f32(p + 1, v, 1);
    if (r > 2) vst1q_lane_f32(p + 2, v, 2);
}

/* In-register 4x4 transpose: v[c] becomes column c of the rows v[0..4).
   trn1/trn2 on 32-bit lanes interleave row pairs, trn1/trn2 on 64-bit
   lanes then pair the halves: 8 shuffles, no memory round trip. */
static inline void nb_neon_transpose4x4(float32x4_t v[4]) {
    const float32x4_t t0 = vtrn1q_f32(v[0], v[1]), t1 = vtrn2q_f32(v[0], v[1]);
    const float32x4_t t2 = vtrn1q_f32(v[2], v[3]), t3 = vtrn2q_f32(v[2], v[3]);
    v[0] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2)));
    v[1] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3)));
    v[2] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2)));
    v[3] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3)));
}

/* x[0], x[inc], x[2 inc], x[3 inc] lane by lane (NEON has no gather). */
static inline float32x4_t nb_neon_gather4(const float *x, int64_t inc) {
    float32x4_t t = vdupq_n_f32(x[0]);
    t = vld1q_lane_f32(x + inc, t, 1);
    t = vld1q_lane_f32(x + 2 * inc, t, 2);
    return vld1q_lane_f32(x + 3 * inc, t, 3);
}

/* Shared body of rmax/rmin (is_max is a compile-time constant at each call).
   Eight 4-lane accumulators seeded with x[0] (an element of the set, so
   seeding changes nothing); tails fill their missing lanes with x[0] too.
   Named variables, not an array: GCC 12 kept an array of accumulators on
   the stack and stored it back every iteration. */
static inline float nb_neon_rminmax(int64_t n, const float *x, int64_t incx, int is_max) {
#define NB_MM(a, b) (is_max ? vmaxq_f32(a, b) : vminq_f32(a, b))
    const float32x4_t first = vdupq_n_f32(x[0]);
    float32x4_t a0 = first, a1 = first, a2 = first, a3 = first;
    float32x4_t a4 = first, a5 = first, a6 = first, a7 = first;
    int64_t i = 0;
    if (incx != 1) {
        /* Strided (any sign, 0 allowed): four elements gathered lane by lane
           into one vector, so the same instruction applies the rule; two
           vectors a step into two accumulators (one chain of FMAX left the
           loop at 0.54-0.61 of its load rate in llvm-mca). The rule is
           exact and order-free, so the split changes no bits. */
        for (; i + 8 <= n; i += 8) {
            a0 = NB_MM(a0, nb_neon_gather4(x + i * incx, incx));
            a1 = NB_MM(a1, nb_neon_gather4(x + (i + 4) * incx, incx));
        }
        for (; i + 4 <= n; i += 4) a0 = NB_MM(a0, nb_neon_gather4(x + i * incx, incx));
        for (; i < n; i++) a1 = NB_MM(a1, vdupq_n_f32(x[i * incx]));
    } else {
        for (; i + 32 <= n; i += 32) {
            a0 = NB_MM(a0, vld1q_f32(x + i));
            a1 = NB_MM(a1, vld1q_f32(x + i + 4));
            a2 = NB_MM(a2, vld1q_f32(x + i + 8));
            a3 = NB_MM(a3, vld1q_f32(x + i + 12));
            a4 = NB_MM(a4, vld1q_f32(x + i + 16));
            a5 = NB_MM(a5, vld1q_f32(x + i + 20));
            a6 = NB_MM(a6, vld1q_f32(x + i + 24));
            a7 = NB_MM(a7, vld1q_f32(x + i + 28));
        }
        for (; i + 4 <= n; i += 4) a0 = NB_MM(a0, vld1q_f32(x + i));
        if (i < n) a1 = NB_MM(a1, nb_neon_load_partial(x + i, n - i, first));
    }
    a0 = NB_MM(NB_MM(NB_MM(a0, a4), NB_MM(a1, a5)), NB_MM(NB_MM(a2, a6), NB_MM(a3, a7)));
#undef NB_MM
    return is_max ? vmaxvq_f32(a0) : vminvq_f32(a0);
}

/* Shared body of the column kernels: acc[j] = OP(acc[j], x[j]). */
#define NB_NEON_COL_KERNEL(OP)                                                   \
    int64_t j = 0;                                                               \
    for (; j + 16 <= n; j += 16) {                                               \
        const float32x4_t a0 = vld1q_f32(acc + j), a1 = vld1q_f32(acc + j + 4);  \
        const float32x4_t a2 = vld1q_f32(acc + j + 8), a3 = vld1q_f32(acc + j + 12); \
        vst1q_f32(acc + j,      OP(a0, vld1q_f32(x + j)));                       \
        vst1q_f32(acc + j + 4,  OP(a1, vld1q_f32(x + j + 4)));                   \
        vst1q_f32(acc + j + 8,  OP(a2, vld1q_f32(x + j + 8)));                   \
        vst1q_f32(acc + j + 12, OP(a3, vld1q_f32(x + j + 12)));                  \
    }                                                                            \
    for (; j + 4 <= n; j += 4)                                                   \
        vst1q_f32(acc + j, OP(vld1q_f32(acc + j), vld1q_f32(x + j)));            \
    if (j < n) {                                                                 \
        const float32x4_t z = vdupq_n_f32(0.0f);                                 \
        nb_neon_store_partial(acc + j, n - j,                                    \
            OP(nb_neon_load_partial(acc + j, n - j, z), nb_neon_load_partial(x + j, n - j, z))); \
    }

#endif
