/* The row loop of the NEON elementwise binary micro-kernels
 * (f32-v<op>-neon.c; static inline / macros only).
 *
 * NB_NEON_VBINARY_ROW(OP, A, B, TA, TB) is the body of a micro-kernel with
 * parameters n and y: y[i] = OP(A(i), B(i)) for 0 <= i < n, 8 floats per
 * step (both results computed before either is stored, so y == a or
 * y == b exactly is fine), then 4, then one step over the k < 4 last
 * elements, TA(i, k) / TB(i, k) loading them into a zero-padded vector and
 * k lanes stored back. The operand macros name the kernel's own
 * parameters: NB_NEON_LA loads a, NB_NEON_LB loads b, NB_NEON_LC is the
 * broadcast vc the kernel declares.
 */
#ifndef NB_VBINARY_NEON_H
#define NB_VBINARY_NEON_H

#include <stddef.h>

#include <arm_neon.h>

/* The first k < 4 floats of p in lanes [0, k), zeros above. */
static inline float32x4_t nb_neon_load_tail(const float *p, size_t k) {
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (size_t j = 0; j < k; j++) t[j] = p[j];
    return vld1q_f32(t);
}

static inline void nb_neon_store_tail(float *p, float32x4_t v, size_t k) {
    float t[4];
    vst1q_f32(t, v);
    for (size_t j = 0; j < k; j++) p[j] = t[j];
}

#define NB_NEON_LA(i) vld1q_f32(a + (i))
#define NB_NEON_LB(i) vld1q_f32(b + (i))
#define NB_NEON_LC(i) vc
#define NB_NEON_TLA(i, k) nb_neon_load_tail(a + (i), (k))
#define NB_NEON_TLB(i, k) nb_neon_load_tail(b + (i), (k))
#define NB_NEON_TLC(i, k) vc

#define NB_NEON_VBINARY_ROW(OP, A, B, TA, TB)                                   \
    do {                                                                        \
        size_t i = 0;                                                           \
        for (; i + 8 <= n; i += 8) {                                            \
            const float32x4_t r0 = OP(A(i), B(i));                              \
            const float32x4_t r1 = OP(A(i + 4), B(i + 4));                      \
            vst1q_f32(y + i, r0);                                               \
            vst1q_f32(y + i + 4, r1);                                           \
        }                                                                       \
        if (i + 4 <= n) {                                                       \
            vst1q_f32(y + i, OP(A(i), B(i)));                                   \
            i += 4;                                                             \
        }                                                                       \
        if (i < n) nb_neon_store_tail(y + i, OP(TA(i, n - i), TB(i, n - i)), n - i); \
    } while (0)

/* 1.0f where a == b (NaN equals nothing), +0.0f elsewhere. */
static inline float32x4_t nb_neon_veq(float32x4_t a, float32x4_t b) {
    return vreinterpretq_f32_u32(vandq_u32(vceqq_f32(a, b), vreinterpretq_u32_f32(vdupq_n_f32(1.0f))));
}

/* +0.0f where x <= 0, g elsewhere (a NaN x passes g, as PyTorch's
   threshold_backward); g's bits pass unchanged. */
static inline float32x4_t nb_neon_vrelugrad(float32x4_t g, float32x4_t x) {
    return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(g), vcleq_f32(x, vdupq_n_f32(0.0f))));
}

/* g (1 - y y) and g (y (1 - y)), each operation rounded (vmulq/vsubq). */
static inline float32x4_t nb_neon_vtanhgrad(float32x4_t g, float32x4_t y) {
    return vmulq_f32(g, vsubq_f32(vdupq_n_f32(1.0f), vmulq_f32(y, y)));
}

static inline float32x4_t nb_neon_vsigmoidgrad(float32x4_t g, float32x4_t y) {
    return vmulq_f32(g, vmulq_f32(y, vsubq_f32(vdupq_n_f32(1.0f), y)));
}

#endif
