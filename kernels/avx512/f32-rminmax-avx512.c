/* Row max / min micro-kernels: max (min) of x[i * incx], 0 <= i < n, n >= 1.
 *
 * Layout: x strided by incx (any sign, 0 allowed). Four 16-lane
 * accumulators seeded with x[0]. ISA: AVX-512F/DQ. Tail: one masked load
 * whose masked-off lanes keep x[0] (no over-read). incx != 1: scalar loop
 * with the same rule. Rules (ref/reduce.c): any NaN gives NaN; -0 < +0
 * (reduce-avx512.h). Exact: the result is one of the inputs (or a NaN).
 *
 * Fast pass: bare vmaxps / vminps (the exact rule costs 3 more uops a
 * vector) with NaN detected on the side; bare vmaxps is exact except on NaN
 * and on the +-0 tie, which can only matter if the result is a zero: in
 * those two cases the exact pass reruns from the start, so the bits never
 * depend on the fast pass.
 */
#include <assert.h>

#include "reduce-avx512.h"

static inline float rminmax_contig(int64_t n, const float *x, const int is_max, int fast) {
    const __m512 first = _mm512_set1_ps(x[0]);
    __m512 a0 = first, a1 = first, a2 = first, a3 = first;
#define NB_MM(a, b) (is_max ? nb_avx512_max_nan(a, b) : nb_avx512_min_nan(a, b))
#define NB_MM_PLAIN(a, b) (is_max ? _mm512_max_ps(a, b) : _mm512_min_ps(a, b))
    int64_t i = 0;
    if (fast && n >= 128) {
        __mmask16 un = 0;
        for (; i + 64 <= n; i += 64) {
            nb_avx512_prefetch_ahead(x + i);
            nb_avx512_prefetch_ahead(x + i + 32);
            const __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x + i + 16);
            const __m512 x2 = _mm512_loadu_ps(x + i + 32), x3 = _mm512_loadu_ps(x + i + 48);
            a0 = NB_MM_PLAIN(x0, a0);
            a1 = NB_MM_PLAIN(x1, a1);
            a2 = NB_MM_PLAIN(x2, a2);
            a3 = NB_MM_PLAIN(x3, a3);
            un |= _mm512_cmp_ps_mask(x0, x1, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(x2, x3, _CMP_UNORD_Q);
        }
        if (un) {
            i = 0;
            a0 = a1 = a2 = a3 = first;
        }
    }
    for (; i + 64 <= n; i += 64) {
        a0 = NB_MM(a0, _mm512_loadu_ps(x + i));
        a1 = NB_MM(a1, _mm512_loadu_ps(x + i + 16));
        a2 = NB_MM(a2, _mm512_loadu_ps(x + i + 32));
        a3 = NB_MM(a3, _mm512_loadu_ps(x + i + 48));
    }
    for (; i + 16 <= n; i += 16) a0 = NB_MM(a0, _mm512_loadu_ps(x + i));
    if (i < n) a1 = NB_MM(a1, _mm512_mask_loadu_ps(first, nb_avx512_mask(n - i), x + i));
    a0 = NB_MM(NB_MM(a0, a1), NB_MM(a2, a3));
    /* Tree over the lanes: 256-bit halves, 128-bit halves, pairs, one. */
    a0 = NB_MM(a0, _mm512_shuffle_f32x4(a0, a0, 0x4E));
    a0 = NB_MM(a0, _mm512_shuffle_f32x4(a0, a0, 0xB1));
    a0 = NB_MM(a0, _mm512_permute_ps(a0, 0x4E));
    a0 = NB_MM(a0, _mm512_permute_ps(a0, 0xB1));
#undef NB_MM
#undef NB_MM_PLAIN
    return _mm512_cvtss_f32(a0);
}

static inline float rminmax(int64_t n, const float *x, int64_t incx, const int is_max) {
    if (incx != 1) {
        float r = x[0];
        for (int64_t i = 1; i < n; i++) r = nb_f32_pick(r, x[i * incx], is_max);
        return r;
    }
    const float r = rminmax_contig(n, x, is_max, 1);
    /* A zero result may carry the fast pass's tie sign: redo it exactly. */
    return r == 0.0f ? rminmax_contig(n, x, is_max, 0) : r;
}

float nb_f32_rmax_ukernel__avx512_u64(int64_t n, const float *x, int64_t incx) {
    assert(n >= 1 && x != NULL);
    return rminmax(n, x, incx, 1);
}

float nb_f32_rmin_ukernel__avx512_u64(int64_t n, const float *x, int64_t incx) {
    assert(n >= 1 && x != NULL);
    return rminmax(n, x, incx, 0);
}
