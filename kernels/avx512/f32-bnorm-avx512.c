/* The batch-norm rows (src/ukernel_bnorm.h) in zmm: the contract's 16
 * double lanes are two zmm accumulators (lo: lanes 0-7, hi: lanes 8-15),
 * fed by one 16-float load per step (vcvtps2pd of each half); a row's
 * last 1..15 floats are one masked step whose masked lanes keep their
 * accumulator (mask add), so the bits are nb_f32_bn*_ukernel__scalar's.
 * Each statistics pass is add-latency bound (two chains of one add per 16
 * floats; gsums four); the driver keeps a channel's rows in L2 between
 * the passes. affine: 16 floats per step, separate multiplies and adds. */
#include <immintrin.h>

#include "ukernel.h"

static inline __mmask16 lanes(size_t left) {
    return (__mmask16)(left >= 16 ? 0xffffu : (1u << left) - 1u);
}
static inline __m512d lo8(__m512 v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
static inline __m512d hi8(__m512 v) { return _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)); }

/* The same 64 bytes of the next row (the rows are ldx apart, each a
   separate stream for the hardware prefetcher, which would otherwise
   start every row cold); nothing after the last row. */
static inline void next_row(const float *p, size_t r, size_t rows, size_t ldx) {
    if (r + 1 < rows) _mm_prefetch((const char *)(p + ldx), _MM_HINT_T0);
}

/* nb_bnorm_tree over lo (lanes 0-7) and hi (8-15): h = 8, 4, 2, 1. */
static inline double tree(__m512d lo, __m512d hi) {
    const __m512d s8 = _mm512_add_pd(lo, hi);
    const __m256d s4 = _mm256_add_pd(_mm512_castpd512_pd256(s8), _mm512_extractf64x4_pd(s8, 1));
    const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
}

double nb_f32_bnsum_ukernel__avx512(size_t rows, size_t n, const float *x, size_t ldx) {
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    for (size_t r = 0; r < rows; r++, x += ldx)
        for (size_t i = 0; i < n; i += 16) {
            const __mmask16 k = lanes(n - i);
            const __m512 v = _mm512_maskz_loadu_ps(k, x + i);
            next_row(x + i, r, rows, ldx);
            lo = _mm512_mask_add_pd(lo, (__mmask8)k, lo, lo8(v));
            hi = _mm512_mask_add_pd(hi, (__mmask8)(k >> 8), hi, hi8(v));
        }
    return tree(lo, hi);
}

double nb_f32_bnsqdev_ukernel__avx512(size_t rows, size_t n, const float *x, size_t ldx, double mu) {
    const __m512d m = _mm512_set1_pd(mu);
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    for (size_t r = 0; r < rows; r++, x += ldx)
        for (size_t i = 0; i < n; i += 16) {
            const __mmask16 k = lanes(n - i);
            const __m512 v = _mm512_maskz_loadu_ps(k, x + i);
            next_row(x + i, r, rows, ldx);
            const __m512d dl = _mm512_sub_pd(lo8(v), m), dh = _mm512_sub_pd(hi8(v), m);
            lo = _mm512_mask_add_pd(lo, (__mmask8)k, lo, _mm512_mul_pd(dl, dl));
            hi = _mm512_mask_add_pd(hi, (__mmask8)(k >> 8), hi, _mm512_mul_pd(dh, dh));
        }
    return tree(lo, hi);
}

void nb_f32_bngsums_ukernel__avx512(size_t rows, size_t n, const float *g, const float *x, size_t ldx, double mu,
                                    double out[2]) {
    const __m512d m = _mm512_set1_pd(mu);
    /* four chains: sum g (lo, hi lanes) and sum g * (x - mu) (lo, hi) */
    __m512d gl = _mm512_setzero_pd(), gh = gl, pl = gl, ph = gl;
    for (size_t r = 0; r < rows; r++, g += ldx, x += ldx)
        for (size_t i = 0; i < n; i += 16) {
            const __mmask16 k = lanes(n - i);
            const __mmask8 kl = (__mmask8)k, kh = (__mmask8)(k >> 8);
            const __m512 gv = _mm512_maskz_loadu_ps(k, g + i), xv = _mm512_maskz_loadu_ps(k, x + i);
            next_row(g + i, r, rows, ldx);
            next_row(x + i, r, rows, ldx);
            const __m512d gdl = lo8(gv), gdh = hi8(gv);
            gl = _mm512_mask_add_pd(gl, kl, gl, gdl);
            gh = _mm512_mask_add_pd(gh, kh, gh, gdh);
            pl = _mm512_mask_add_pd(pl, kl, pl, _mm512_mul_pd(gdl, _mm512_sub_pd(lo8(xv), m)));
            ph = _mm512_mask_add_pd(ph, kh, ph, _mm512_mul_pd(gdh, _mm512_sub_pd(hi8(xv), m)));
        }
    out[0] = tree(gl, gh);
    out[1] = tree(pl, ph);
}

void nb_f32_bnaffine_ukernel__avx512(size_t rows, size_t n, size_t ld, const float *u, const float *v, float a,
                                     float b, float c, float *y) {
    const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b), vc = _mm512_set1_ps(c);
    for (size_t r = 0; r < rows; r++, u += ld, y += ld, v = v ? v + ld : NULL)
        for (size_t i = 0; i < n; i += 16) {
            const __mmask16 k = lanes(n - i);
            __m512 t = _mm512_mul_ps(va, _mm512_maskz_loadu_ps(k, u + i));
            next_row(u + i, r, rows, ld);
            if (v) next_row(v + i, r, rows, ld);
            if (v) t = _mm512_add_ps(t, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(k, v + i)));
            _mm512_mask_storeu_ps(y + i, k, _mm512_add_ps(t, vc));
        }
}
