/* Winograd F(4x4, 3x3) input and output transforms, AVX-512 (the
 * operations and their order: src/ukernel.h, "Winograd"; the bits of the
 * plain-C twins and of the AVX2 kernels, which keep the filter transform).
 *
 * Vectorised across tiles: one zmm holds one element of all 16 tiles of
 * the GEMM's B panel (tile i in lane i).
 *   input:  per input row a, 8 zmm each holding two tiles' rows of 8
 *           floats (tile i low, tile i + 8 high), an 8x8 transpose inside
 *           each 256-bit half (unpack, shuffle, then a two-source permute
 *           for the 128-bit swap) so columns become vectors; the row
 *           transform into t[a][nu], then the column transform, 36 stores;
 *   output: 36 loads, the row then the column transform, + bias, and per
 *           output row p a 4x4 transpose inside the 128-bit lanes (lane L
 *           of s[i] is tile 4 L + i's row), stored 128 bits at a time.
 */
#include <immintrin.h>

#include "ukernel.h"

static inline void in6(const __m512 d[6], __m512 v[6]) {
    const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f);
    v[0] = _mm512_add_ps(_mm512_sub_ps(d[4], _mm512_mul_ps(five, d[2])), _mm512_mul_ps(four, d[0]));
    v[1] = _mm512_sub_ps(_mm512_add_ps(d[3], d[4]), _mm512_mul_ps(four, _mm512_add_ps(d[1], d[2])));
    v[2] = _mm512_add_ps(_mm512_sub_ps(d[4], d[3]), _mm512_mul_ps(four, _mm512_sub_ps(d[1], d[2])));
    const __m512 h = _mm512_sub_ps(d[4], d[2]), f = _mm512_mul_ps(two, _mm512_sub_ps(d[3], d[1]));
    v[3] = _mm512_add_ps(h, f);
    v[4] = _mm512_sub_ps(h, f);
    v[5] = _mm512_add_ps(_mm512_sub_ps(d[5], _mm512_mul_ps(five, d[3])), _mm512_mul_ps(four, d[1]));
}

static inline void out6(const __m512 m[6], __m512 o[4]) {
    const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f), eight = _mm512_set1_ps(8.0f);
    const __m512 a = _mm512_add_ps(m[1], m[2]), b = _mm512_sub_ps(m[1], m[2]);
    const __m512 c = _mm512_add_ps(m[3], m[4]), e = _mm512_sub_ps(m[3], m[4]);
    o[0] = _mm512_add_ps(_mm512_add_ps(m[0], a), c);
    o[1] = _mm512_add_ps(b, _mm512_mul_ps(two, e));
    o[2] = _mm512_add_ps(a, _mm512_mul_ps(four, c));
    o[3] = _mm512_add_ps(_mm512_add_ps(b, _mm512_mul_ps(eight, e)), m[5]);
}

/* Two 8x8 transposes, one per 256-bit half: r[j] = column j of the rows. */
static inline void transpose8x2(__m512 r[8]) {
    const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
    const __m512i hi = _mm512_setr_epi32(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
    __m512 t[8], s[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        s[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        s[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        s[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        s[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_permutex2var_ps(s[i], lo, s[i + 4]);
        r[i + 4] = _mm512_permutex2var_ps(s[i], hi, s[i + 4]);
    }
}

void nb_f32_winoin_ukernel_16__avx512(size_t channels, const float *x, ptrdiff_t plane,
                                      ptrdiff_t ld, const int32_t *off, float *v, ptrdiff_t vxi) {
    for (size_t c = 0; c < channels; c++) {
        const float *xc = x + (ptrdiff_t)c * plane;
        __m512 t[6][6];
        for (int a = 0; a < 6; a++) {
            __m512 r[8];
            for (int i = 0; i < 8; i++)
                r[i] = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(xc + off[i] + a * ld)),
                                          _mm256_loadu_ps(xc + off[i + 8] + a * ld), 1);
            transpose8x2(r);
            in6(r, t[a]);
        }
        for (int nu = 0; nu < 6; nu++) {
            const __m512 col[6] = {t[0][nu], t[1][nu], t[2][nu], t[3][nu], t[4][nu], t[5][nu]};
            __m512 res[6];
            in6(col, res);
            for (int mu = 0; mu < 6; mu++)
                _mm512_storeu_ps(v + (6 * mu + nu) * vxi + (ptrdiff_t)c * 16, res[mu]);
        }
    }
}

int nb_f32_winoout_ukernel_16__avx512(size_t live, const float *m, ptrdiff_t mxi, float bias,
                                      float *out) {
    const __m512 vb = _mm512_set1_ps(bias), zero = _mm512_setzero_ps();
    __m512 t[6][4], o[4][4];
    /* o * 0 is 0 for finite o, NaN for NaN and +-Inf. */
    __m512 acc = zero;
    for (int mu = 0; mu < 6; mu++) {
        __m512 row[6];
        for (int nu = 0; nu < 6; nu++) row[nu] = _mm512_loadu_ps(m + (6 * mu + nu) * mxi);
        out6(row, t[mu]);
    }
    for (int q = 0; q < 4; q++) {
        const __m512 col[6] = {t[0][q], t[1][q], t[2][q], t[3][q], t[4][q], t[5][q]};
        __m512 res[4];
        out6(col, res);
        for (int p = 0; p < 4; p++) {
            o[p][q] = _mm512_add_ps(res[p], vb);
            acc = _mm512_add_ps(acc, _mm512_mul_ps(o[p][q], zero));
        }
    }
    const __mmask16 live16 = (__mmask16)(live >= 16 ? 0xFFFF : (1u << live) - 1);
    const int bad = _mm512_mask_cmp_ps_mask(live16, acc, zero, _CMP_NEQ_UQ) != 0;
    for (int p = 0; p < 4; p++) {
        const __m512 t0 = _mm512_unpacklo_ps(o[p][0], o[p][1]), t1 = _mm512_unpackhi_ps(o[p][0], o[p][1]);
        const __m512 t2 = _mm512_unpacklo_ps(o[p][2], o[p][3]), t3 = _mm512_unpackhi_ps(o[p][2], o[p][3]);
        const __m512 s[4] = {_mm512_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
                             _mm512_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2))};
        for (int i = 0; i < 4; i++) {   /* lane L of s[i]: tile 4 L + i's row p */
            _mm_storeu_ps(out + 16 * i + 4 * p, _mm512_extractf32x4_ps(s[i], 0));
            _mm_storeu_ps(out + 16 * (4 + i) + 4 * p, _mm512_extractf32x4_ps(s[i], 1));
            _mm_storeu_ps(out + 16 * (8 + i) + 4 * p, _mm512_extractf32x4_ps(s[i], 2));
            _mm_storeu_ps(out + 16 * (12 + i) + 4 * p, _mm512_extractf32x4_ps(s[i], 3));
        }
    }
    return bad;
}

/* The filter transform (u0 .. u5 of ukernel_wino.h) of 3 taps, 16 filters. */
static inline void filter3(__m512 g0, __m512 g1, __m512 g2, __m512 u[6]) {
    const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f);
    const __m512 sixth = _mm512_set1_ps(-1.0f / 6.0f), c24 = _mm512_set1_ps(1.0f / 24.0f);
    const __m512 s = _mm512_add_ps(g0, g2), t = _mm512_add_ps(g0, _mm512_mul_ps(four, g2));
    const __m512 g1x2 = _mm512_mul_ps(two, g1);
    u[0] = _mm512_mul_ps(_mm512_set1_ps(0.25f), g0);
    u[1] = _mm512_mul_ps(_mm512_add_ps(s, g1), sixth);
    u[2] = _mm512_mul_ps(_mm512_sub_ps(s, g1), sixth);
    u[3] = _mm512_mul_ps(_mm512_add_ps(t, g1x2), c24);
    u[4] = _mm512_mul_ps(_mm512_sub_ps(t, g1x2), c24);
    u[5] = g2;
}

/* Loads filter j's 9 taps into lanes 0..8 of a row (j from 0 to 15, the
   pointer advancing only while j + 1 < live: the rows past live repeat the
   last live filter) and transposes: g[l] lane j = tap l of filter j.
   Unpack and shuffle within 128-bit lanes (sQM then holds lane l = M + 4 L
   of filters 4Q..4Q+3 in 128-bit lane L), then a 4x4 transpose of 128-bit
   lanes per M: 51 shuffles, where 9 gathers of 16 strided floats cost about
   three times as long. Named variables, not arrays: GCC kept the arrays on
   the stack (a store and a reload per row). */
#define NB_WF_ROW(r, j) \
    const __m512 r = _mm512_maskz_loadu_ps(0x1FF, gp); \
    gp += (j) + 1 < live ? gstride : 0;
#define NB_WF_QUAD(Q, j)                                                     \
    NB_WF_ROW(r0##Q, j) NB_WF_ROW(r1##Q, j + 1) NB_WF_ROW(r2##Q, j + 2)      \
    NB_WF_ROW(r3##Q, j + 3)                                                  \
    const __m512 t0##Q = _mm512_unpacklo_ps(r0##Q, r1##Q);                   \
    const __m512 t1##Q = _mm512_unpackhi_ps(r0##Q, r1##Q);                   \
    const __m512 t2##Q = _mm512_unpacklo_ps(r2##Q, r3##Q);                   \
    const __m512 t3##Q = _mm512_unpackhi_ps(r2##Q, r3##Q);                   \
    const __m512 s##Q##0 = _mm512_shuffle_ps(t0##Q, t2##Q, _MM_SHUFFLE(1, 0, 1, 0)); \
    const __m512 s##Q##1 = _mm512_shuffle_ps(t0##Q, t2##Q, _MM_SHUFFLE(3, 2, 3, 2)); \
    const __m512 s##Q##2 = _mm512_shuffle_ps(t1##Q, t3##Q, _MM_SHUFFLE(1, 0, 1, 0)); \
    const __m512 s##Q##3 = _mm512_shuffle_ps(t1##Q, t3##Q, _MM_SHUFFLE(3, 2, 3, 2));
#define NB_WF_LANES(M)                                                                 \
    {                                                                                  \
        const __m512 a = _mm512_shuffle_f32x4(s0##M, s1##M, _MM_SHUFFLE(1, 0, 1, 0));  \
        const __m512 b = _mm512_shuffle_f32x4(s2##M, s3##M, _MM_SHUFFLE(1, 0, 1, 0));  \
        g[M] = _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0));                    \
        g[M + 4] = _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1));                \
    }

static inline __attribute__((always_inline)) void
load_taps16(const float *gp, ptrdiff_t gstride, size_t live, __m512 g[9]) {
    NB_WF_QUAD(0, 0)
    NB_WF_QUAD(1, 4)
    NB_WF_QUAD(2, 8)
    NB_WF_QUAD(3, 12)
    NB_WF_LANES(0)
    NB_WF_LANES(1)
    NB_WF_LANES(2)
    NB_WF_LANES(3)
    const __m512 a = _mm512_shuffle_f32x4(s00, s10, _MM_SHUFFLE(3, 2, 3, 2));
    const __m512 b = _mm512_shuffle_f32x4(s20, s30, _MM_SHUFFLE(3, 2, 3, 2));
    g[8] = _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0));
}
#undef NB_WF_ROW
#undef NB_WF_QUAD
#undef NB_WF_LANES

/* 16 filters per pass (the AVX-512 conv tile's MR of 14 in one): each
   filter's 9 taps are contiguous (tstride +-1, the driver's two cases), so
   one masked load per filter and a transpose; other strides take the
   plain-C twin. Row then column transform, 36 masked stores.
   Register plan: the 16 filter rows, then the 9 tap vectors, then the 18
   row-transformed t[r][nu] and one column's 6 results with 5 constants
   (29 zmm): nothing spills. Lanes past n load the last live filter again
   (no branch per lane; the masked stores drop them), and the stores walk
   the 36 points with a pointer per column nu, mu 6 uxi apart: the earlier
   form kept 36 addresses live and spilled them (measured 40 % of the
   c256 14x14 layer in this kernel, most of it stack traffic). */
static inline __attribute__((always_inline)) void
filter16(const int rot, size_t live, const float *g, ptrdiff_t gstride, float *u, ptrdiff_t uxi) {
    const __mmask16 lm = (__mmask16)(live >= 16 ? 0xFFFF : (1u << live) - 1);
    __m512 l[9], t[3][6];
    load_taps16(g - (rot ? 8 : 0), gstride, live, l);   /* taps from the lowest address up */
#pragma GCC unroll 3
    for (int row = 0; row < 3; row++)
        filter3(l[rot ? 8 - 3 * row : 3 * row], l[rot ? 7 - 3 * row : 3 * row + 1],
                l[rot ? 6 - 3 * row : 3 * row + 2], t[row]);
    const ptrdiff_t mu_step = 6 * uxi;
#pragma GCC unroll 6
    for (int nu = 0; nu < 6; nu++) {
        __m512 res[6];
        filter3(t[0][nu], t[1][nu], t[2][nu], res);
        float *p = u + nu * uxi;
#pragma GCC unroll 6
        for (int mu = 0; mu < 6; mu++, p += mu_step) _mm512_mask_storeu_ps(p, lm, res[mu]);
    }
}

/* One pass a call: inlined into the loop over passes, GCC hoisted the 36
   store offsets out of it and spilled them. */
static __attribute__((noinline)) void filter16_up(size_t live, const float *g, ptrdiff_t gstride,
                                                  float *u, ptrdiff_t uxi) {
    filter16(0, live, g, gstride, u, uxi);
}

static __attribute__((noinline)) void filter16_rot(size_t live, const float *g, ptrdiff_t gstride,
                                                   float *u, ptrdiff_t uxi) {
    filter16(1, live, g, gstride, u, uxi);
}

void nb_f32_winofilter_ukernel__avx512(size_t n, const float *g, ptrdiff_t gstride,
                                       ptrdiff_t tstride, float *u, ptrdiff_t uxi) {
    if (tstride != 1 && tstride != -1) {
        nb_f32_winofilter_ukernel__scalar(n, g, gstride, tstride, u, uxi);
        return;
    }
    for (size_t j0 = 0; j0 < n; j0 += 16) {
        const size_t live = n - j0 < 16 ? n - j0 : 16;
        const float *gj = g + (ptrdiff_t)j0 * gstride;
        if (tstride > 0)
            filter16_up(live, gj, gstride, u + j0, uxi);
        else
            filter16_rot(live, gj, gstride, u + j0, uxi);
    }
}
