/* nabla's own float exp, tanh, log and erf on 16 lanes (AVX-512 TUs only;
 * static inline, see KERNEL-PLAYBOOK pitfall 3). The algorithms, constants
 * and error derivations are the AVX2 ones (kernels/avx2/vmath-avx2.h,
 * kernels/avx2/vmath-poly.h), with AVX-512's tools where they save work:
 * vscalefps scales by 2^n with one rounding at every n (overflow and
 * subnormal results included), so exp needs no wide path; erf has 16
 * intervals of width 1/4 (one vpermps table per coefficient) and degree 5.
 * Same bounds as AVX2 (tests/unary_oracle.h); the bits may differ from the
 * AVX2 kernels' (different erf table, scalef vs bit shift for subnormals).
 */
#ifndef NB_VMATH_AVX512_H
#define NB_VMATH_AVX512_H

#include <math.h>

#include <immintrin.h>

#include "../avx2/vmath-poly.h"

/* t = x log2e + MAGIC, n = t - MAGIC, r = x - n ln2 (as AVX2). */
static inline __m512 nb_avx512_exp_reduce(__m512 x, __m512 *n) {
    const __m512 magic = _mm512_set1_ps(NB_EXP_MAGIC);
    *n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(NB_LOG2E), magic), magic);
    const __m512 r = _mm512_fnmadd_ps(*n, _mm512_set1_ps(NB_LN2_HI), x);
    return _mm512_fnmadd_ps(*n, _mm512_set1_ps(NB_LN2_LO), r);
}

/* Q(r) by Horner. */
static inline __m512 nb_avx512_exp_q(__m512 r) {
    __m512 q = _mm512_fmadd_ps(_mm512_set1_ps(NB_EXP_Q4), r, _mm512_set1_ps(NB_EXP_Q3));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(NB_EXP_Q2));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(NB_EXP_Q1));
    return _mm512_fmadd_ps(q, r, _mm512_set1_ps(NB_EXP_Q0));
}

/* e^x: x clamped to [-104, 89] (NaN kept), p = 1 + r + r^2 Q(r) by Horner,
   y = scalef(p, n): exact for normal y, one rounding for subnormal y, +inf
   above FLT_MAX. Bound 1.7 ULP (vmath-avx2.h). */
static inline __m512 nb_avx512_exp(__m512 x) {
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x));
    __m512 n;
    const __m512 r = nb_avx512_exp_reduce(x, &n);
    __m512 p = _mm512_fmadd_ps(nb_avx512_exp_q(r), r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* tanh: the AVX2 algorithm (vmath-avx2.h): a = min(|x|, 9.25),
   e = expm1(2a) = m s + (s - 1), tanh a = e / (e + 2), the sign of x copied
   on. Bound 4.5 ULP. */
static inline __m512 nb_avx512_tanh(__m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 a = _mm512_min_ps(_mm512_set1_ps(9.25f), _mm512_abs_ps(x));
    __m512 n;
    const __m512 r = nb_avx512_exp_reduce(_mm512_add_ps(a, a), &n);
    const __m512 s = _mm512_scalef_ps(one, n);
    const __m512 m = _mm512_fmadd_ps(_mm512_mul_ps(nb_avx512_exp_q(r), r), r, r);
    const __m512 e = _mm512_fmadd_ps(m, s, _mm512_sub_ps(s, one));
    const __m512 y = _mm512_div_ps(e, _mm512_add_ps(e, _mm512_set1_ps(2.0f)));
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
        _mm512_castps_si512(y), _mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN), 0xf8));
}

/* log: the AVX2 algorithm (vmath-avx2.h), plus the k LN2_LO term that AVX2
   leaves out (its FMA is free here): x = 2^k m by integer arithmetic,
   f = m - 1, y = k LN2_HI + (k LN2_LO + (f + f^2 P(f))). kadj: -23 on lanes
   pre-scaled by 2^23 (subnormal x). Bound 1.6 ULP. */
static inline __m512 nb_avx512_log_core(__m512 x, __m512i kadj) {
    const __m512i off = _mm512_set1_epi32(NB_LOG_OFF);
    const __m512i u = _mm512_sub_epi32(_mm512_castps_si512(x), off);
    const __m512 k = _mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_srai_epi32(u, 23), kadj));
    const __m512 m = _mm512_castsi512_ps(
        _mm512_add_epi32(_mm512_and_si512(u, _mm512_set1_epi32(0x007fffff)), off));
    const __m512 f = _mm512_sub_ps(m, _mm512_set1_ps(1.0f));
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(NB_LOG_P8), f, _mm512_set1_ps(NB_LOG_P7));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(NB_LOG_P6));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(NB_LOG_P5));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(NB_LOG_P4));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(NB_LOG_P3));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(NB_LOG_P2));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(NB_LOG_P1));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(NB_LOG_P0));
    const __m512 inner = _mm512_fmadd_ps(_mm512_mul_ps(f, f), p, f);
    const __m512 lo = _mm512_fmadd_ps(k, _mm512_set1_ps(NB_LN2_LO), inner);
    return _mm512_fmadd_ps(k, _mm512_set1_ps(NB_LN2_HI), lo);
}

/* Some lane not a positive normal: subnormals scaled by 2^23, then
   log(+-0) = -inf, log(x < 0) = NaN, log(NaN) = NaN, log(+inf) = +inf. */
static __attribute__((noinline)) __m512 nb_avx512_log_special(__m512 x) {
    const __mmask16 sub = _mm512_cmp_ps_mask(x, _mm512_set1_ps(0x1p-126f), _CMP_LT_OQ);
    const __m512 xs = _mm512_mask_mul_ps(x, sub, x, _mm512_set1_ps(0x1p23f));
    __m512 y = nb_avx512_log_core(xs, _mm512_maskz_mov_epi32(sub, _mm512_set1_epi32(-23)));
    const __m512 zero = _mm512_setzero_ps();
    y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, zero, _CMP_EQ_OQ), _mm512_set1_ps(-INFINITY));
    y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), _mm512_set1_ps(NAN));
    return _mm512_mask_add_ps(y, _mm512_cmp_ps_mask(x, _mm512_set1_ps(0x1.fffffep127f), _CMP_NLE_UQ),
                              x, x);
}

static inline __m512 nb_avx512_log(__m512 x) {
    /* x in [FLT_MIN, FLT_MAX] <=> bits - 0x00800000 < 0x7f000000 unsigned. */
    const __m512i b = _mm512_sub_epi32(_mm512_castps_si512(x), _mm512_set1_epi32(0x00800000));
    if (_mm512_cmpge_epu32_mask(b, _mm512_set1_epi32(0x7f000000))) return nb_avx512_log_special(x);
    return nb_avx512_log_core(x, _mm512_setzero_si512());
}

/* erf: a = min(|z|, 4 - 2^-21), j = trunc(4a) in 0..15, t = a - j/4 (exact),
   sum C_k[j] t^k by Horner (vmath-poly.h, NB_ERF16: degree 5, fit +
   rounding <= 1.07 u), the sign of z copied on. Bound 2.2 ULP. */
static inline __m512 nb_avx512_erf(__m512 z) {
    static const float c[6][16] = {{NB_ERF16_C0}, {NB_ERF16_C1}, {NB_ERF16_C2},
                                   {NB_ERF16_C3}, {NB_ERF16_C4}, {NB_ERF16_C5}};
    const __m512 a = _mm512_min_ps(_mm512_set1_ps(0x1.fffff8p1f), _mm512_abs_ps(z));
    const __m512i j = _mm512_cvttps_epi32(_mm512_mul_ps(a, _mm512_set1_ps(4.0f)));
    const __m512 t = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(j), _mm512_set1_ps(0.25f), a);
    __m512 p = _mm512_permutexvar_ps(j, _mm512_loadu_ps(c[5]));
    for (int k = 4; k >= 0; k--)
        p = _mm512_fmadd_ps(p, t, _mm512_permutexvar_ps(j, _mm512_loadu_ps(c[k])));
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
        _mm512_castps_si512(p), _mm512_castps_si512(z), _mm512_set1_epi32(INT32_MIN), 0xf8));
}

#endif
