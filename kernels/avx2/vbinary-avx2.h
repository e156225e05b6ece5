/* The row loop of the AVX2 elementwise binary micro-kernels
 * (f32-v<op>-avx2.c; AVX2 TUs only, static inline / macros, KERNEL-PLAYBOOK
 * pitfall 3).
 *
 * NB_AVX2_VBINARY_ROW(OP, A, B, MA, MB) is the body of a micro-kernel with
 * parameters n and y: y[i] = OP(A(i), B(i)) for 0 <= i < n, 16 floats per
 * step (both results computed before either is stored, so y == a or
 * y == b exactly is fine), then 8, then one masked step MA(i, m), MB(i, m)
 * (masked loads neither read nor fault outside [0, n)). The operand macros
 * name the kernel's own parameters: NB_AVX2_LA loads a, NB_AVX2_LB loads b,
 * NB_AVX2_LC is the broadcast vc the kernel declares.
 */
#ifndef NB_VBINARY_AVX2_H
#define NB_VBINARY_AVX2_H

#include <immintrin.h>

#include "mask-avx2.h"

#define NB_AVX2_LA(i) _mm256_loadu_ps(a + (i))
#define NB_AVX2_LB(i) _mm256_loadu_ps(b + (i))
#define NB_AVX2_LC(i) vc
#define NB_AVX2_MLA(i, m) _mm256_maskload_ps(a + (i), (m))
#define NB_AVX2_MLB(i, m) _mm256_maskload_ps(b + (i), (m))
#define NB_AVX2_MLC(i, m) vc

#define NB_AVX2_VBINARY_ROW(OP, A, B, MA, MB)                                   \
    do {                                                                        \
        size_t i = 0;                                                           \
        for (; i + 16 <= n; i += 16) {                                          \
            const __m256 r0 = OP(A(i), B(i));                                   \
            const __m256 r1 = OP(A(i + 8), B(i + 8));                           \
            _mm256_storeu_ps(y + i, r0);                                        \
            _mm256_storeu_ps(y + i + 8, r1);                                    \
        }                                                                       \
        if (i + 8 <= n) {                                                       \
            _mm256_storeu_ps(y + i, OP(A(i), B(i)));                            \
            i += 8;                                                             \
        }                                                                       \
        if (i < n) {                                                            \
            const __m256i m = nb_avx2_lane_mask((int64_t)(n - i));              \
            nb_avx2_maskstore_first(y + i, m, OP(MA(i, m), MB(i, m)));              \
        }                                                                       \
    } while (0)

/* 1.0f where a == b (ordered: NaN equals nothing), +0.0f elsewhere. */
static inline __m256 nb_avx2_veq(__m256 a, __m256 b) {
    return _mm256_and_ps(_mm256_cmp_ps(a, b, _CMP_EQ_OQ), _mm256_set1_ps(1.0f));
}

/* +0.0f where x <= 0, g elsewhere (a NaN x passes g, as PyTorch's
   threshold_backward); g's bits pass unchanged (-0, NaN). */
static inline __m256 nb_avx2_vrelugrad(__m256 g, __m256 x) {
    return _mm256_and_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NLE_UQ), g);
}

/* g (1 - y y) and g (y (1 - y)), each operation rounded (no FMA). */
static inline __m256 nb_avx2_vtanhgrad(__m256 g, __m256 y) {
    return _mm256_mul_ps(g, _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_mul_ps(y, y)));
}

static inline __m256 nb_avx2_vsigmoidgrad(__m256 g, __m256 y) {
    return _mm256_mul_ps(g, _mm256_mul_ps(y, _mm256_sub_ps(_mm256_set1_ps(1.0f), y)));
}

#endif
