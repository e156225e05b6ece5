/* nabla's own float exp, expm1-based tanh, log and erf on 8 lanes (AVX2 +
 * FMA TUs only; static inline, see KERNEL-PLAYBOOK pitfall 3). Replaces
 * SLEEF's u10 functions, which ran at 0.2-0.7x glibc's libmvec.
 * Coefficients and fit errors: vmath-poly.h. The ULP bounds derived here
 * are in DESIGN.md's table and tests/unary_oracle.h (x86_bounds); the
 * measured maxima over all 2^32 inputs come from tests/unary_ulp.c (stride 1).
 *
 * Every function is branch-free per lane; exp and log test the whole vector
 * once and take a slower path only when some lane is outside the easy range
 * (|x| > 87 for exp, x not a positive normal for log). The slow path computes
 * the same operations for the easy lanes, so a lane's bits never depend on
 * its neighbours (a tail lane gets its in-body bits).
 */
#ifndef NB_VMATH_AVX2_H
#define NB_VMATH_AVX2_H

#include <math.h>

#include <immintrin.h>

#include "vmath-poly.h"

/* ---- exp ----------------------------------------------------------------
 * Error (u = 2^-24, y = e^x):
 *   r: the first FMA is exact, the second rounds: |dr| <= 2^-26 (|r| < 1/2),
 *      and |ln2 - LN2_HI - LN2_LO| n <= 2^-52: e^r moves by <= 0.26 u rel.;
 *   1 + r + r^2 Q by Horner (6 FMA): the last rounding 0.5 ulp of p, the
 *      earlier ones scaled by |r| <= 0.35 (<= 0.2 u), fit 0.16 u;
 *   p 2^n: exact for normal y; one rounding (0.5 ulp) for subnormal y.
 * Relative <= 0.62 u + 0.5 ulp(p) <= 1.7 ULP of y (p in [0.7, 1.42): one
 * ulp of p is u to 2u relative); measured max 0.951 ULP (all 2^32 inputs). */

/* p = 1 + r + r^2 Q(r). */
static inline __m256 nb_avx2_exp_poly(__m256 r) {
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(NB_EXP_Q4), r, _mm256_set1_ps(NB_EXP_Q3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(NB_EXP_Q2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(NB_EXP_Q1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(NB_EXP_Q0));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    return _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
}

/* t = x log2e + MAGIC (n + 127 in its low bits), r = x - n ln2. */
static inline __m256 nb_avx2_exp_reduce(__m256 x, __m256 *t) {
    const __m256 magic = _mm256_set1_ps(NB_EXP_MAGIC);
    *t = _mm256_fmadd_ps(x, _mm256_set1_ps(NB_LOG2E), magic);
    const __m256 n = _mm256_sub_ps(*t, magic);
    const __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(NB_LN2_HI), x);
    return _mm256_fnmadd_ps(n, _mm256_set1_ps(NB_LN2_LO), r);
}

/* Any x: clamped to [-104, 89] (NaN kept: max/min return their second
   operand when unordered), where e^x is 0 or inf anyway, and scaled in two
   steps 2^(n/2) 2^(n - n/2), both normal for n in [-150, 128]: p 2^n1 is
   exact, the second product rounds once (to a subnormal, or to inf). */
static __attribute__((noinline)) __m256 nb_avx2_exp_wide(__m256 x) {
    x = _mm256_min_ps(_mm256_set1_ps(89.0f), _mm256_max_ps(_mm256_set1_ps(-104.0f), x));
    __m256 t;
    const __m256 p = nb_avx2_exp_poly(nb_avx2_exp_reduce(x, &t));
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256i n = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_castps_si256(_mm256_set1_ps(NB_EXP_MAGIC)));
    const __m256i n1 = _mm256_srai_epi32(n, 1), n2 = _mm256_sub_epi32(n, n1);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

/* e^x: |x| <= 87 on every lane (n in [-126, 126], 2^n normal) takes one
   scale from t's bits; otherwise (or NaN) the whole vector goes wide. */
static inline __m256 nb_avx2_exp(__m256 x) {
    const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    if (_mm256_movemask_ps(_mm256_cmp_ps(ax, _mm256_set1_ps(87.0f), _CMP_NLE_UQ)))
        return nb_avx2_exp_wide(x);
    __m256 t;
    const __m256 p = nb_avx2_exp_poly(nb_avx2_exp_reduce(x, &t));
    return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23)));
}

/* ---- tanh ---------------------------------------------------------------
 * a = min(|x|, 9.25), e = expm1(2a) = m s + (s - 1), s = 2^n, n in [0, 27],
 * m = e^r - 1 = r + (Q(r) r) r (the exp reduction of 2a), then
 *   tanh a = e / (e + 2)
 * and the sign of x copied on (tanh(-0) = -0). One formula for every a:
 * e's relative error enters scaled by 2/(e + 2) <= 1, which vanishes as a
 * grows (1 - tanh is then 2/(e + 2), known to e's relative accuracy).
 * Error (u = 2^-24): m: 0.5 ulp + fit 0.13 u + the rounding of r (n >= 1:
 * <= 2^-26 absolute, times e^r <= 1.42); e = fma(m, s, s - 1): one rounding,
 * and for n = 1 (a in [0.17, 0.52], e in [0.41, 1.8]) the error of m s, up to
 * 1.5 u relative to e: e within 2.5 u relative; e + 2 rounds (u), the
 * division rounds (u): <= 4.5 u relative, i.e. 4.5 ULP (1 ULP >= u rel).
 * Measured max 2.52 ULP (all 2^32 inputs). s - 1 is exact up to
 * n = 24; beyond, e ~ 2^24 and s - 1's rounding is 2^-24 relative of it,
 * times 2/(e + 2). a >= 9.02 gives 1 exactly: e + 2 rounds to e; clamping
 * at 9.25 keeps s normal; NaN -> NaN, +-inf -> +-1, subnormal x -> x. */
static inline __m256 nb_avx2_tanh(__m256 x) {
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    const __m256 a = _mm256_min_ps(_mm256_set1_ps(9.25f), _mm256_andnot_ps(sign, x));
    __m256 t;
    const __m256 r = nb_avx2_exp_reduce(_mm256_add_ps(a, a), &t);
    const __m256 s = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23));
    __m256 q = _mm256_fmadd_ps(_mm256_set1_ps(NB_EXP_Q4), r, _mm256_set1_ps(NB_EXP_Q3));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(NB_EXP_Q2));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(NB_EXP_Q1));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(NB_EXP_Q0));
    const __m256 m = _mm256_fmadd_ps(_mm256_mul_ps(q, r), r, r);
    const __m256 e = _mm256_fmadd_ps(m, s, _mm256_sub_ps(s, one));
    const __m256 y = _mm256_div_ps(e, _mm256_add_ps(e, _mm256_set1_ps(2.0f)));
    return _mm256_or_ps(y, _mm256_and_ps(sign, x));
}

/* ---- log ----------------------------------------------------------------
 * x = 2^k m, m in [sqrt(1/2), sqrt 2), f = m - 1 exact; then
 *   y = k LN2_HI + (f + f^2 P(f))
 * in two FMAs (k LN2_HI exact inside the last), so k = 0 gives f + f^2 P(f)
 * with one final rounding. LN2_HI = fl(ln2) is off by |LN2_LO| = 1.9e-9:
 * k LN2_LO is <= 0.09 u |y| for every k != 0 (|y| >= |k| ln2 - 0.35), left
 * out to save an FMA (the AVX-512 kernel adds it; the bits may differ).
 * Error: P's roundings (Estrin) enter scaled by f^2 (|f^2 P| <= 0.22 |f|), f^2
 * rounds (u), the inner sum rounds (0.5 ulp of |log1p f| <= 0.35, so
 * <= 2^-26 absolute), the last FMA (0.5 ulp of y), fit 0.19 u |f|. For
 * k = 0: <= 0.5 ulp + ~0.7 u |y|; for k != 0 (|y| >= 0.34, 2^-26 <= 0.36 ulp
 * of y below 0.69 and less above): <= 0.5 + 0.36 + 0.3 + 0.2 ULP. Bound
 * 1.6 ULP; measured max 1.010 ULP (all 2^32 inputs). */
static inline __m256 nb_avx2_log_core(__m256 x, __m256i kadj) {
    const __m256i off = _mm256_set1_epi32(NB_LOG_OFF);
    const __m256i u = _mm256_sub_epi32(_mm256_castps_si256(x), off);
    const __m256 k = _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_srai_epi32(u, 23), kadj));
    const __m256 m = _mm256_castsi256_ps(
        _mm256_add_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x007fffff)), off));
    const __m256 f = _mm256_sub_ps(m, _mm256_set1_ps(1.0f));
    /* Estrin: four levels of FMA instead of eight (latency), two more muls. */
    const __m256 f2 = _mm256_mul_ps(f, f), f4 = _mm256_mul_ps(f2, f2);
    const __m256 p01 = _mm256_fmadd_ps(_mm256_set1_ps(NB_LOG_P1), f, _mm256_set1_ps(NB_LOG_P0));
    const __m256 p23 = _mm256_fmadd_ps(_mm256_set1_ps(NB_LOG_P3), f, _mm256_set1_ps(NB_LOG_P2));
    const __m256 p45 = _mm256_fmadd_ps(_mm256_set1_ps(NB_LOG_P5), f, _mm256_set1_ps(NB_LOG_P4));
    const __m256 p67 = _mm256_fmadd_ps(_mm256_set1_ps(NB_LOG_P7), f, _mm256_set1_ps(NB_LOG_P6));
    const __m256 p47 = _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(NB_LOG_P8), f2, p67), f2, p45);
    const __m256 p = _mm256_fmadd_ps(p47, f4, _mm256_fmadd_ps(p23, f2, p01));
    const __m256 inner = _mm256_fmadd_ps(f2, p, f);
    return _mm256_fmadd_ps(k, _mm256_set1_ps(NB_LN2_HI), inner);
}

/* Subnormals scaled by 2^23 first (k - 23); then log(+-0) = -inf,
   log(x < 0) = NaN, log(NaN) = NaN, log(+inf) = +inf. */
static __attribute__((noinline)) __m256 nb_avx2_log_special(__m256 x) {
    const __m256 sub = _mm256_cmp_ps(x, _mm256_set1_ps(0x1p-126f), _CMP_LT_OQ);
    const __m256 xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(0x1p23f)), sub);
    const __m256i kadj = _mm256_and_si256(_mm256_castps_si256(sub), _mm256_set1_epi32(-23));
    __m256 y = nb_avx2_log_core(xs, kadj);
    y = _mm256_blendv_ps(y, _mm256_set1_ps(-INFINITY),
                         _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ));
    y = _mm256_blendv_ps(y, _mm256_set1_ps(NAN), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
    return _mm256_blendv_ps(y, _mm256_add_ps(x, x),
                            _mm256_cmp_ps(x, _mm256_set1_ps(0x1.fffffep127f), _CMP_NLE_UQ));
}

/* x is a positive normal float <=> bits + 0x7f800000 (wrapping) < (int)0xff000000
   signed: [0x00800000, 0x7f7fffff] maps to [INT32_MIN, 0xfeffffff]; zero,
   subnormals, inf, NaN and negatives land above. One add and one compare. */
static inline __m256 nb_avx2_log(__m256 x) {
    const __m256i b = _mm256_add_epi32(_mm256_castps_si256(x), _mm256_set1_epi32(0x7f800000));
    if (_mm256_movemask_epi8(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)0xff000000), b)) != -1)
        return nb_avx2_log_special(x);
    return nb_avx2_log_core(x, _mm256_setzero_si256());
}

/* ---- erf ----------------------------------------------------------------
 * a = min(|z|, 4 - 2^-22), j = trunc(2a) in 0..7, t = a - j/2 (exact,
 * Sterbenz), erf(a) ~ sum C_k[j] t^k by Horner, coefficients picked by
 * vpermps from one register per k (vmath-poly.h: 8 intervals, degree 7).
 * Error: fit + coefficient rounding <= 0.97 u relative, Horner roundings
 * before the last scaled by t <= 1/2: bound 2.2 ULP (GELU, which uses it, measured: README).
 * a >= 3.92 rounds to 1; the sign of z is copied on; NaN -> NaN. */
static inline __m256 nb_avx2_erf(__m256 z) {
    static const float c[8][8] = {{NB_ERF8_C0}, {NB_ERF8_C1}, {NB_ERF8_C2}, {NB_ERF8_C3},
                                  {NB_ERF8_C4}, {NB_ERF8_C5}, {NB_ERF8_C6}, {NB_ERF8_C7}};
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 a = _mm256_min_ps(_mm256_set1_ps(0x1.fffff8p1f), _mm256_andnot_ps(sign, z));
    const __m256i j = _mm256_cvttps_epi32(_mm256_add_ps(a, a));
    const __m256 t = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(j), _mm256_set1_ps(0.5f), a);
    __m256 p = _mm256_permutevar8x32_ps(_mm256_loadu_ps(c[7]), j);
    for (int k = 6; k >= 0; k--)
        p = _mm256_fmadd_ps(p, t, _mm256_permutevar8x32_ps(_mm256_loadu_ps(c[k]), j));
    return _mm256_or_ps(p, _mm256_and_ps(sign, z));
}

#endif
