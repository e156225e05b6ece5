/* The elementwise binary rows (src/ukernel.h, "elementwise binary rows")
 * of every op, AVX-512: y = a op b, a op c, c op a over n floats.
 *
 * Loop: 32 floats per step (two zmm, both results computed before either
 * is stored, so y == a or y == b exactly is fine), then one masked step
 * per remaining 16 (masked loads neither read nor fault outside [0, n),
 * masked stores write nothing there); any alignment. One IEEE operation
 * per element, no contraction (the grad rules round each of their three
 * operations, in the order written): the bits of the plain-C twins
 * (nb_f32_v<op>_ukernel__scalar), NaN payloads aside.
 */
#include <assert.h>

#include <immintrin.h>

#include "ukernel.h"

/* 1.0f where a == b (ordered: NaN equals nothing), +0.0f elsewhere. */
static inline __m512 veq(__m512 a, __m512 b) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ), _mm512_set1_ps(1.0f));
}

/* +0.0f where x <= 0, g elsewhere (a NaN x passes g, as PyTorch's
   threshold_backward); g's bits pass unchanged (-0, NaN). */
static inline __m512 vrelugrad(__m512 g, __m512 x) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NLE_UQ), g);
}

/* g (1 - y y) and g (y (1 - y)), each operation rounded (no FMA). */
static inline __m512 vtanhgrad(__m512 g, __m512 y) {
    return _mm512_mul_ps(g, _mm512_sub_ps(_mm512_set1_ps(1.0f), _mm512_mul_ps(y, y)));
}
static inline __m512 vsigmoidgrad(__m512 g, __m512 y) {
    return _mm512_mul_ps(g, _mm512_mul_ps(y, _mm512_sub_ps(_mm512_set1_ps(1.0f), y)));
}

/* Operand loads: full (i), masked (i, k); C is the broadcast constant. */
#define LA(i) _mm512_loadu_ps(a + (i))
#define LB(i) _mm512_loadu_ps(b + (i))
#define LC(i) vc
#define MA(i, k) _mm512_maskz_loadu_ps((k), a + (i))
#define MB(i, k) _mm512_maskz_loadu_ps((k), b + (i))
#define MC(i, k) vc

#define ROW(OP, X, Y, MX, MY)                                                          \
    size_t i = 0;                                                                      \
    for (; i + 32 <= n; i += 32) {                                                     \
        const __m512 r0 = OP(X(i), Y(i));                                              \
        const __m512 r1 = OP(X(i + 16), Y(i + 16));                                    \
        _mm512_storeu_ps(y + i, r0);                                                   \
        _mm512_storeu_ps(y + i + 16, r1);                                              \
    }                                                                                  \
    for (; i < n; i += 16) {                                                           \
        const __mmask16 k = (__mmask16)(n - i >= 16 ? 0xffffu : (1u << (n - i)) - 1u); \
        _mm512_mask_storeu_ps(y + i, k, OP(MX(i, k), MY(i, k)));                      \
    }

/* The three layouts of one op: v<name>, v<name>c, vr<name>c. */
#define VBINARY(name, OP)                                                                      \
    void nb_f32_v##name##_ukernel__avx512_u32(size_t n, const float *a, const float *b,        \
                                              float *y) {                                      \
        assert(n == 0 || (a && b && y));                                                       \
        ROW(OP, LA, LB, MA, MB)                                                                \
    }                                                                                          \
    void nb_f32_v##name##c_ukernel__avx512_u32(size_t n, const float *a, float c, float *y) {  \
        assert(n == 0 || (a && y));                                                            \
        const __m512 vc = _mm512_set1_ps(c);                                                   \
        ROW(OP, LA, LC, MA, MC)                                                                \
    }                                                                                          \
    void nb_f32_vr##name##c_ukernel__avx512_u32(size_t n, const float *a, float c, float *y) { \
        assert(n == 0 || (a && y));                                                            \
        const __m512 vc = _mm512_set1_ps(c);                                                   \
        ROW(OP, LC, LA, MC, MA)                                                                \
    }

VBINARY(add, _mm512_add_ps)
VBINARY(sub, _mm512_sub_ps)
VBINARY(mul, _mm512_mul_ps)
VBINARY(div, _mm512_div_ps)
VBINARY(eq, veq)
VBINARY(relugrad, vrelugrad)
VBINARY(tanhgrad, vtanhgrad)
VBINARY(sigmoidgrad, vsigmoidgrad)
