/* Winograd backward-filter F(3x3, 4x4) transforms, AVX2 (the operations
 * and their order: src/ukernel_wino.h, "backward-filter"; the bits of the
 * plain-C twins kernels/generic/f32-winobf-scalar.c).
 *   dy:     per half of 8 lanes, a ymm holds one element of its 8 lanes'
 *           tiles. Per dy row a, four ymm r[L] hold the 4-float rows of
 *           lanes 4 q + L in their 128-bit part q; a 4x4 transpose inside
 *           each 128-bit part gives the row's 4 columns; the row transform
 *           into t[a][nu], then the column transform, 36 stores.
 *   output: 8 (k, c) pairs per ymm: 36 loads (the tail through a zeroed
 *           copy), the row then the column transform, the 9 taps of each
 *           pair interleaved through the stack (AVX2 has no scatter).
 */
#include <immintrin.h>
#include <string.h>

#include "ukernel.h"

static inline void dy4(const __m256 e[4], __m256 o[6]) {
    const __m256 two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f), eight = _mm256_set1_ps(8.0f);
    const __m256 s = _mm256_add_ps(e[0], e[2]), t = _mm256_add_ps(e[1], e[3]);
    const __m256 p = _mm256_add_ps(e[0], _mm256_mul_ps(four, e[2]));
    const __m256 q = _mm256_add_ps(_mm256_mul_ps(two, e[1]), _mm256_mul_ps(eight, e[3]));
    o[0] = e[0];
    o[1] = _mm256_add_ps(s, t);
    o[2] = _mm256_sub_ps(s, t);
    o[3] = _mm256_add_ps(p, q);
    o[4] = _mm256_sub_ps(p, q);
    o[5] = e[3];
}

static inline void out3(const __m256 m[6], __m256 o[3]) {
    const __m256 sixth = _mm256_set1_ps(-1.0f / 6.0f), c24 = _mm256_set1_ps(1.0f / 24.0f);
    const __m256 c12 = _mm256_set1_ps(1.0f / 12.0f), p6 = _mm256_set1_ps(1.0f / 6.0f);
    const __m256 a = _mm256_add_ps(m[1], m[2]), b = _mm256_sub_ps(m[1], m[2]);
    const __m256 c = _mm256_add_ps(m[3], m[4]), e = _mm256_sub_ps(m[3], m[4]);
    o[0] = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(m[0], _mm256_set1_ps(0.25f)), _mm256_mul_ps(a, sixth)),
                         _mm256_mul_ps(c, c24));
    o[1] = _mm256_add_ps(_mm256_mul_ps(b, sixth), _mm256_mul_ps(e, c12));
    o[2] = _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(c, a), p6), m[5]);
}

void nb_f32_winobfdy_ukernel_16__avx2(size_t count, const float *dy, ptrdiff_t plane,
                                      ptrdiff_t ld, const int32_t *off, float *out, ptrdiff_t oxi) {
    for (size_t c = 0; c < count; c++)
        for (int h = 0; h < 16; h += 8) {
            const float *ec = dy + (ptrdiff_t)c * plane;
            const int32_t *o = off + h;
            __m256 t[4][6];
            for (int a = 0; a < 4; a++) {
                __m256 r[4];
                for (int L = 0; L < 4; L++)
                    r[L] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(ec + o[L] + a * ld)),
                                                _mm_loadu_ps(ec + o[4 + L] + a * ld), 1);
                const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
                const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
                const __m256 col[4] = {_mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)),
                                       _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
                                       _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)),
                                       _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2))};
                dy4(col, t[a]);
            }
            for (int nu = 0; nu < 6; nu++) {
                const __m256 col[4] = {t[0][nu], t[1][nu], t[2][nu], t[3][nu]};
                __m256 res[6];
                dy4(col, res);
                for (int mu = 0; mu < 6; mu++)
                    _mm256_storeu_ps(out + (6 * mu + nu) * oxi + (ptrdiff_t)c * 16 + h, res[mu]);
            }
        }
}

int nb_f32_winobfout_ukernel__avx2(size_t n, const float *m, ptrdiff_t mxi, float *dw) {
    const __m256 zero = _mm256_setzero_ps();
    __m256 acc = zero;   /* o * 0 is 0 for finite o, NaN for NaN and +-Inf */
    for (size_t j = 0; j < n; j += 8) {
        const size_t live = n - j < 8 ? n - j : 8;
        float tail[36][8], o[9][8];
        const float *mj = m + j;
        ptrdiff_t sx = mxi;
        if (live < 8) {   /* the last pairs through a zero-padded copy */
            memset(tail, 0, sizeof tail);
            for (int xi = 0; xi < 36; xi++) memcpy(tail[xi], m + xi * mxi + j, live * sizeof(float));
            mj = &tail[0][0];
            sx = 8;
        }
        __m256 t[6][3];
        for (int mu = 0; mu < 6; mu++) {
            __m256 row[6];
            for (int nu = 0; nu < 6; nu++) row[nu] = _mm256_loadu_ps(mj + (6 * mu + nu) * sx);
            out3(row, t[mu]);
        }
        for (int s = 0; s < 3; s++) {
            const __m256 col[6] = {t[0][s], t[1][s], t[2][s], t[3][s], t[4][s], t[5][s]};
            __m256 res[3];
            out3(col, res);
            for (int r = 0; r < 3; r++) {
                acc = _mm256_add_ps(acc, _mm256_mul_ps(res[r], zero));
                _mm256_storeu_ps(o[3 * r + s], res[r]);
            }
        }
        for (size_t i = 0; i < live; i++)
            for (int q = 0; q < 9; q++) dw[9 * (j + i) + (size_t)q] = o[q][i];
    }
    return _mm256_movemask_ps(_mm256_cmp_ps(acc, zero, _CMP_NEQ_UQ)) != 0;
}
