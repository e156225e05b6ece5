/* Row max / min micro-kernels: max (min) of x[i * incx], 0 <= i < n, n >= 1.
 *
 * Layout: x strided by incx (any sign, 0 allowed). ISA: AVX-512F/DQ.
 * incx != 1: scalar loop. Rules (ref/reduce.c): -0 < +0; a NaN gives the
 * reference's result, the first NaN of x in index order (its own bits).
 * Exact: the result is one of the inputs.
 *
 * One pass, whatever the data: vrangeps (reduce-avx512.h) settles the
 * signed-zero tie exactly, and NaN is watched beside it, one vcmpps for
 * two vectors; a block holding a NaN ends the call with the first NaN
 * found by a scalar scan of that block (every earlier block had none).
 * The vmaxps pass this replaces had to be rerun whenever the result was a
 * zero (the tie's sign) or a NaN was seen: two passes over a relu output.
 * Register plan: four 16-lane accumulators, seeded with x[0], take 64
 * floats an iteration (vrangeps: latency 4, so four independent chains
 * keep one a cycle in flight); no software prefetch (reduce-avx512.h).
 * Tail: 16 floats a step, then one masked load whose
 * cleared lanes keep x[0] (no over-read).
 */
#include <assert.h>

#include "reduce-avx512.h"

/* The first NaN of x[0, n) (the caller knows there is one). */
static float first_nan(const float *x, int64_t n) {
    for (int64_t j = 0; j < n; j++)
        if (x[j] != x[j]) return x[j];
    return x[0];
}

static inline int has_nan(__m512 a, __m512 b) {
    return _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q) != 0;
}

static inline float rminmax_contig(int64_t n, const float *x, const int is_max) {
#define NB_MM(a, b) (is_max ? nb_avx512_max_num(a, b) : nb_avx512_min_num(a, b))
    const __m512 first = _mm512_set1_ps(x[0]);
    __m512 a0 = first, a1 = first, a2 = first, a3 = first;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        const __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x + i + 16);
        const __m512 x2 = _mm512_loadu_ps(x + i + 32), x3 = _mm512_loadu_ps(x + i + 48);
        if (_mm512_kor(_mm512_cmp_ps_mask(x0, x1, _CMP_UNORD_Q), _mm512_cmp_ps_mask(x2, x3, _CMP_UNORD_Q)))
            return first_nan(x + i, 64);
        a0 = NB_MM(a0, x0);
        a1 = NB_MM(a1, x1);
        a2 = NB_MM(a2, x2);
        a3 = NB_MM(a3, x3);
    }
    for (; i + 16 <= n; i += 16) {
        const __m512 x0 = _mm512_loadu_ps(x + i);
        if (has_nan(x0, x0)) return first_nan(x + i, 16);
        a0 = NB_MM(a0, x0);
    }
    if (i < n) {
        const __m512 x0 = _mm512_mask_loadu_ps(first, nb_avx512_mask(n - i), x + i);
        if (has_nan(x0, x0)) return first_nan(x + i, n - i);   /* x[0] was seen unless i = 0 */
        a1 = NB_MM(a1, x0);
    }
    a0 = NB_MM(NB_MM(a0, a1), NB_MM(a2, a3));
    /* Tree over the lanes: 256-bit halves, 128-bit halves, pairs, one. */
    a0 = NB_MM(a0, _mm512_shuffle_f32x4(a0, a0, 0x4E));
    a0 = NB_MM(a0, _mm512_shuffle_f32x4(a0, a0, 0xB1));
    a0 = NB_MM(a0, _mm512_permute_ps(a0, 0x4E));
    a0 = NB_MM(a0, _mm512_permute_ps(a0, 0xB1));
#undef NB_MM
    return _mm512_cvtss_f32(a0);
}

static inline float rminmax(int64_t n, const float *x, int64_t incx, const int is_max) {
    if (incx == 1) return rminmax_contig(n, x, is_max);
    float r = x[0];
    for (int64_t i = 1; i < n; i++) r = nb_f32_pick(r, x[i * incx], is_max);
    return r;
}

float nb_f32_rmax_ukernel__avx512_u64(int64_t n, const float *x, int64_t incx) {
    assert(n >= 1 && x != NULL);
    return rminmax(n, x, incx, 1);
}

float nb_f32_rmin_ukernel__avx512_u64(int64_t n, const float *x, int64_t incx) {
    assert(n >= 1 && x != NULL);
    return rminmax(n, x, incx, 0);
}
