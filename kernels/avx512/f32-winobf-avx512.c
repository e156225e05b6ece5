/* Winograd backward-filter F(3x3, 4x4) transforms, AVX-512 (the operations
 * and their order: src/ukernel_wino.h, "backward-filter"; the bits of the
 * plain-C twins kernels/generic/f32-winobf-scalar.c).
 *   dy:     one zmm holds one element of the 16 lanes' tiles (lane i in
 *           lane i). Per dy row a, four zmm r[L] gather the 4-float rows of
 *           lanes 4 q + L into their 128-bit part q; a 4x4 transpose inside
 *           each 128-bit part turns them into the row's 4 columns; the row
 *           transform into t[a][nu], then the column transform, 36 stores.
 *   output: 16 (k, c) pairs per zmm: 36 loads (masked past n), the row then
 *           the column transform, 9 scatters at stride 9 (the 3x3 taps of
 *           a pair are contiguous in dw).
 */
#include <immintrin.h>

#include "ukernel.h"

static inline void dy4(const __m512 e[4], __m512 o[6]) {
    const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f), eight = _mm512_set1_ps(8.0f);
    const __m512 s = _mm512_add_ps(e[0], e[2]), t = _mm512_add_ps(e[1], e[3]);
    const __m512 p = _mm512_add_ps(e[0], _mm512_mul_ps(four, e[2]));
    const __m512 q = _mm512_add_ps(_mm512_mul_ps(two, e[1]), _mm512_mul_ps(eight, e[3]));
    o[0] = e[0];
    o[1] = _mm512_add_ps(s, t);
    o[2] = _mm512_sub_ps(s, t);
    o[3] = _mm512_add_ps(p, q);
    o[4] = _mm512_sub_ps(p, q);
    o[5] = e[3];
}

static inline void out3(const __m512 m[6], __m512 o[3]) {
    const __m512 sixth = _mm512_set1_ps(-1.0f / 6.0f), c24 = _mm512_set1_ps(1.0f / 24.0f);
    const __m512 c12 = _mm512_set1_ps(1.0f / 12.0f), p6 = _mm512_set1_ps(1.0f / 6.0f);
    const __m512 a = _mm512_add_ps(m[1], m[2]), b = _mm512_sub_ps(m[1], m[2]);
    const __m512 c = _mm512_add_ps(m[3], m[4]), e = _mm512_sub_ps(m[3], m[4]);
    o[0] = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(m[0], _mm512_set1_ps(0.25f)), _mm512_mul_ps(a, sixth)),
                         _mm512_mul_ps(c, c24));
    o[1] = _mm512_add_ps(_mm512_mul_ps(b, sixth), _mm512_mul_ps(e, c12));
    o[2] = _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(c, a), p6), m[5]);
}

void nb_f32_winobfdy_ukernel_16__avx512(size_t count, const float *dy, ptrdiff_t plane,
                                        ptrdiff_t ld, const int32_t *off, float *out,
                                        ptrdiff_t oxi) {
    for (size_t c = 0; c < count; c++) {
        const float *ec = dy + (ptrdiff_t)c * plane;
        __m512 t[4][6];
        for (int a = 0; a < 4; a++) {
            __m512 r[4];
            for (int L = 0; L < 4; L++) {
                __m512 v = _mm512_castps128_ps512(_mm_loadu_ps(ec + off[L] + a * ld));
                v = _mm512_insertf32x4(v, _mm_loadu_ps(ec + off[4 + L] + a * ld), 1);
                v = _mm512_insertf32x4(v, _mm_loadu_ps(ec + off[8 + L] + a * ld), 2);
                r[L] = _mm512_insertf32x4(v, _mm_loadu_ps(ec + off[12 + L] + a * ld), 3);
            }
            /* 4x4 transpose per 128-bit part: col[b] element 4 q + L = r[L][q][b] */
            const __m512 t0 = _mm512_unpacklo_ps(r[0], r[1]), t1 = _mm512_unpackhi_ps(r[0], r[1]);
            const __m512 t2 = _mm512_unpacklo_ps(r[2], r[3]), t3 = _mm512_unpackhi_ps(r[2], r[3]);
            const __m512 col[4] = {_mm512_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)),
                                   _mm512_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
                                   _mm512_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)),
                                   _mm512_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2))};
            dy4(col, t[a]);
        }
        for (int nu = 0; nu < 6; nu++) {
            const __m512 col[4] = {t[0][nu], t[1][nu], t[2][nu], t[3][nu]};
            __m512 res[6];
            dy4(col, res);
            for (int mu = 0; mu < 6; mu++)
                _mm512_storeu_ps(out + (6 * mu + nu) * oxi + (ptrdiff_t)c * 16, res[mu]);
        }
    }
}

int nb_f32_winobfout_ukernel__avx512(size_t n, const float *m, ptrdiff_t mxi, float *dw) {
    const __m512 zero = _mm512_setzero_ps();
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(9));
    __m512 acc = zero;   /* o * 0 is 0 for finite o, NaN for NaN and +-Inf (masked lanes: 0) */
    for (size_t j = 0; j < n; j += 16) {
        const __mmask16 k = (__mmask16)(n - j >= 16 ? 0xFFFF : (1u << (n - j)) - 1);
        __m512 t[6][3];
        for (int mu = 0; mu < 6; mu++) {
            __m512 row[6];
            for (int nu = 0; nu < 6; nu++) row[nu] = _mm512_maskz_loadu_ps(k, m + (6 * mu + nu) * mxi + j);
            out3(row, t[mu]);
        }
        for (int s = 0; s < 3; s++) {
            const __m512 col[6] = {t[0][s], t[1][s], t[2][s], t[3][s], t[4][s], t[5][s]};
            __m512 res[3];
            out3(col, res);
            for (int r = 0; r < 3; r++) {
                acc = _mm512_add_ps(acc, _mm512_mul_ps(res[r], zero));
                _mm512_mask_i32scatter_ps(dw + 9 * j + 3 * r + s, k, idx, res[r], 4);
            }
        }
    }
    return _mm512_cmp_ps_mask(acc, zero, _CMP_NEQ_UQ) != 0;
}
