/* Winograd F(4x4, 3x3) transforms, AVX2 (the operations and their order:
 * src/ukernel.h, "Winograd"; the bits of kernels/generic/f32-wino-scalar.c).
 *
 * Vectorised across tiles: a ymm holds one element of 8 tiles, so each
 * transform point of 8 tiles is one vector, stored as is into the GEMM's
 * 16-wide B panel (two halves of 8 tiles) or read from its output row.
 *   input:  per half and input row a, 8 loads of 8 floats (a tile's row,
 *           columns 0..7), an 8x8 transpose (columns become vectors), the
 *           row transform into t[a][nu] (36 ymm, spilled to the stack),
 *           then the column transform of each nu and 6 stores;
 *   output: 36 loads of M, the row then the column transform into 16
 *           vectors o[p][q], + bias, and per p a 4x4 transpose within the
 *           128-bit lanes that gives the rows of tiles i and i + 4;
 *   filter: 8 filters per vector; taps contiguous (tstride +-1, the
 *           driver's calls): taps 0..7 of each filter by one load and an
 *           8x8 transpose, tap 8 gathered; else all 9 taps gathered.
 *           Lanes past n stored by 4-, 2- and 1-float stores.
 * Zen 4 (session 12): the filter transform was 65 % of an n1 c256 14x14
 * k256 forward (2.7 ms against 0.9 ms with prepacked filters). Its stores
 * were vmaskmovps (the driver's panels are 6 filters, the 6x16 GEMM
 * tile's MR), which AMD microcodes (42 uops, one per 12 cycles; one per
 * cycle on Intel), and its 9 gathers per vector cost about as much again
 * (backward-data, whose taps are 216-byte runs 9 KiB apart, stalled on the
 * first gather of each call: a gather does not overlap its misses the way
 * 8 loads do). Plain partial stores and loads + transpose: A/B in the
 * commit message.
 */
#include <immintrin.h>

#include "ukernel.h"

static inline void in6(const __m256 d[6], __m256 v[6]) {
    const __m256 two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f), five = _mm256_set1_ps(5.0f);
    v[0] = _mm256_add_ps(_mm256_sub_ps(d[4], _mm256_mul_ps(five, d[2])), _mm256_mul_ps(four, d[0]));
    v[1] = _mm256_sub_ps(_mm256_add_ps(d[3], d[4]), _mm256_mul_ps(four, _mm256_add_ps(d[1], d[2])));
    v[2] = _mm256_add_ps(_mm256_sub_ps(d[4], d[3]), _mm256_mul_ps(four, _mm256_sub_ps(d[1], d[2])));
    const __m256 h = _mm256_sub_ps(d[4], d[2]), f = _mm256_mul_ps(two, _mm256_sub_ps(d[3], d[1]));
    v[3] = _mm256_add_ps(h, f);
    v[4] = _mm256_sub_ps(h, f);
    v[5] = _mm256_add_ps(_mm256_sub_ps(d[5], _mm256_mul_ps(five, d[3])), _mm256_mul_ps(four, d[1]));
}

static inline void out6(const __m256 m[6], __m256 o[4]) {
    const __m256 two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f), eight = _mm256_set1_ps(8.0f);
    const __m256 a = _mm256_add_ps(m[1], m[2]), b = _mm256_sub_ps(m[1], m[2]);
    const __m256 c = _mm256_add_ps(m[3], m[4]), e = _mm256_sub_ps(m[3], m[4]);
    o[0] = _mm256_add_ps(_mm256_add_ps(m[0], a), c);
    o[1] = _mm256_add_ps(b, _mm256_mul_ps(two, e));
    o[2] = _mm256_add_ps(a, _mm256_mul_ps(four, c));
    o[3] = _mm256_add_ps(_mm256_add_ps(b, _mm256_mul_ps(eight, e)), m[5]);
}

static inline void filter3(__m256 g0, __m256 g1, __m256 g2, __m256 u[6]) {
    const __m256 two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f);
    const __m256 sixth = _mm256_set1_ps(-1.0f / 6.0f), c24 = _mm256_set1_ps(1.0f / 24.0f);
    const __m256 s = _mm256_add_ps(g0, g2), t = _mm256_add_ps(g0, _mm256_mul_ps(four, g2));
    const __m256 g1x2 = _mm256_mul_ps(two, g1);
    u[0] = _mm256_mul_ps(_mm256_set1_ps(0.25f), g0);
    u[1] = _mm256_mul_ps(_mm256_add_ps(s, g1), sixth);
    u[2] = _mm256_mul_ps(_mm256_sub_ps(s, g1), sixth);
    u[3] = _mm256_mul_ps(_mm256_add_ps(t, g1x2), c24);
    u[4] = _mm256_mul_ps(_mm256_sub_ps(t, g1x2), c24);
    u[5] = g2;
}

/* r[j] = [r0[j] .. r7[j]]: the 8x8 transpose (unpack, shuffle, 128-bit swap). */
static inline void transpose8(__m256 r[8]) {
    __m256 t[8], s[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        s[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        s[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
    }
}

void nb_f32_winoin_ukernel_16__avx2(size_t channels, const float *x, ptrdiff_t plane,
                                    ptrdiff_t ld, const int32_t *off, float *v, ptrdiff_t vxi) {
    for (size_t c = 0; c < channels; c++) {
        const float *xc = x + (ptrdiff_t)c * plane;
        for (int h = 0; h < 2; h++) {
            __m256 t[6][6];
            for (int a = 0; a < 6; a++) {
                __m256 r[8];
                for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(xc + off[8 * h + i] + a * ld);
                transpose8(r);
                in6(r, t[a]);
            }
            for (int nu = 0; nu < 6; nu++) {
                const __m256 col[6] = {t[0][nu], t[1][nu], t[2][nu], t[3][nu], t[4][nu], t[5][nu]};
                __m256 res[6];
                in6(col, res);
                for (int mu = 0; mu < 6; mu++)
                    _mm256_storeu_ps(v + (6 * mu + nu) * vxi + (ptrdiff_t)c * 16 + 8 * h, res[mu]);
            }
        }
    }
}

int nb_f32_winoout_ukernel_16__avx2(size_t live, const float *m, ptrdiff_t mxi, float bias,
                                    float *out) {
    const __m256 vb = _mm256_set1_ps(bias), zero = _mm256_setzero_ps();
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int bad = 0;
    for (int h = 0; h < 2; h++) {
        /* o * 0 is 0 for finite o, NaN for NaN and +-Inf: summed over the
           16 outputs of each live lane. */
        __m256 acc = zero;
        __m256 t[6][4], o[4][4];
        for (int mu = 0; mu < 6; mu++) {
            __m256 row[6];
            for (int nu = 0; nu < 6; nu++) row[nu] = _mm256_loadu_ps(m + (6 * mu + nu) * mxi + 8 * h);
            out6(row, t[mu]);
        }
        for (int q = 0; q < 4; q++) {
            const __m256 col[6] = {t[0][q], t[1][q], t[2][q], t[3][q], t[4][q], t[5][q]};
            __m256 res[4];
            out6(col, res);
            for (int p = 0; p < 4; p++) {
                o[p][q] = _mm256_add_ps(res[p], vb);
                acc = _mm256_add_ps(acc, _mm256_mul_ps(o[p][q], zero));
            }
        }
        const __m256i live8 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)live - 8 * h), lane);
        bad |= _mm256_movemask_ps(_mm256_and_ps(_mm256_cmp_ps(acc, zero, _CMP_NEQ_UQ),
                                                _mm256_castsi256_ps(live8)));
        float *oh = out + 16 * 8 * h;
        for (int p = 0; p < 4; p++) {
            const __m256 t0 = _mm256_unpacklo_ps(o[p][0], o[p][1]), t1 = _mm256_unpackhi_ps(o[p][0], o[p][1]);
            const __m256 t2 = _mm256_unpacklo_ps(o[p][2], o[p][3]), t3 = _mm256_unpackhi_ps(o[p][2], o[p][3]);
            const __m256 s[4] = {_mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
                                 _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2))};
            for (int i = 0; i < 4; i++) {   /* s[i]: tile i's row p, then tile i + 4's */
                _mm_storeu_ps(oh + 16 * i + 4 * p, _mm256_castps256_ps128(s[i]));
                _mm_storeu_ps(oh + 16 * (i + 4) + 4 * p, _mm256_extractf128_ps(s[i], 1));
            }
        }
    }
    return bad != 0;
}

/* Lanes [0, live) of v at dst, live < 8, by 4-, 2- and 1-float stores
   (not vmaskmovps: microcoded on AMD, see the top of the file). */
static inline void store_part(float *dst, __m256 v, int live) {
    __m128 part = _mm256_castps256_ps128(v);
    if (live & 4) {
        _mm_storeu_ps(dst, part);
        part = _mm256_extractf128_ps(v, 1);
        dst += 4;
    }
    if (live & 2) {
        _mm_storel_pi((__m64 *)dst, part);
        part = _mm_movehl_ps(part, part);
        dst += 2;
    }
    if (live & 1) _mm_store_ss(dst, part);
}

/* 8 filters (lanes < live) from their taps, the row then the column
   transform, 36 stores (partial past live). Inlined per live by the
   caller, so that the 6-wide panels' stores are two plain ones. */
static inline __attribute__((always_inline)) void filter8(const float *g, ptrdiff_t gstride,
                                                          ptrdiff_t tstride, int live, float *u,
                                                          ptrdiff_t uxi) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(live), lane);
    const __m256i idx = _mm256_mullo_epi32(lane, _mm256_set1_epi32((int)gstride));
    __m256 gv[9], t[3][6];
    if (tstride == 1 || tstride == -1) {
        /* A filter's taps are contiguous: taps 0..7 (or 7..0) of each
           filter by one load, transposed, and tap 8 gathered; lanes past
           live load the last live filter's (never stored). */
        const ptrdiff_t lo = tstride == 1 ? 0 : -7;
        __m256 r[8];
        for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(g + (i < live ? i : live - 1) * gstride + lo);
        transpose8(r);
        for (int e = 0; e < 8; e++) gv[e] = r[tstride == 1 ? e : 7 - e];
        gv[8] = live == 8 ? _mm256_i32gather_ps(g + 8 * tstride, idx, 4)
                          : _mm256_mask_i32gather_ps(_mm256_setzero_ps(), g + 8 * tstride, idx,
                                                     _mm256_castsi256_ps(mask), 4);
    } else {
        for (int e = 0; e < 9; e++)
            gv[e] = live == 8 ? _mm256_i32gather_ps(g + e * tstride, idx, 4)
                              : _mm256_mask_i32gather_ps(_mm256_setzero_ps(), g + e * tstride, idx,
                                                         _mm256_castsi256_ps(mask), 4);
    }
    for (int r = 0; r < 3; r++) filter3(gv[3 * r], gv[3 * r + 1], gv[3 * r + 2], t[r]);
    for (int nu = 0; nu < 6; nu++) {
        __m256 res[6];
        filter3(t[0][nu], t[1][nu], t[2][nu], res);
        for (int mu = 0; mu < 6; mu++) {
            float *dst = u + (6 * mu + nu) * uxi;
            if (live == 8) _mm256_storeu_ps(dst, res[mu]);
            else store_part(dst, res[mu], live);
        }
    }
}

static void filter8_any(const float *g, ptrdiff_t gstride, ptrdiff_t tstride, int live, float *u,
                        ptrdiff_t uxi) {
    filter8(g, gstride, tstride, live, u, uxi);
}

void nb_f32_winofilter_ukernel__avx2(size_t n, const float *g, ptrdiff_t gstride,
                                     ptrdiff_t tstride, float *u, ptrdiff_t uxi) {
    if (gstride > INT32_MAX / 8 || gstride < 0) {   /* gather offsets are int32 */
        nb_f32_winofilter_ukernel__scalar(n, g, gstride, tstride, u, uxi);
        return;
    }
    size_t j = 0;
    for (; j + 8 <= n; j += 8) filter8(g + (ptrdiff_t)j * gstride, gstride, tstride, 8, u + j, uxi);
    if (n - j == 6)   /* the 6x16 tile's panels */
        filter8(g + (ptrdiff_t)j * gstride, gstride, tstride, 6, u + j, uxi);
    else if (j < n)
        filter8_any(g + (ptrdiff_t)j * gstride, gstride, tstride, (int)(n - j), u + j, uxi);
}
