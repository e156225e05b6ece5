/* The in-register 16x16 float transpose shared by the AVX-512 direct
 * convolution tiles (the broadcast forward tile and the stride-2
 * backward-data tile write their [pixel][channel] accumulators to NCHW
 * through it). Private to kernels/avx512/; static inline, every includer
 * is compiled with the same AVX-512 flags. */
#ifndef NB_AVX512_TRANSPOSE_H
#define NB_AVX512_TRANSPOSE_H

#include <immintrin.h>

/* In-register 16x16 transpose: r[i] lane j becomes r[j] lane i (64
   shuffles: unpacks of floats, of float pairs, then 128-bit blocks). */
static inline __attribute__((always_inline)) void nb_avx512_transpose16x16(__m512 r[16]) {
    __m512 t[16], u[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    /* u[4 i + c], 128-bit lane L: column 4 L + c of rows 4 i .. 4 i + 3 */
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        const __m512 p = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
        const __m512 q = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
        const __m512 p2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
        const __m512 q2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
        r[c] = _mm512_shuffle_f32x4(p, p2, 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(p, p2, 0xDD);
        r[4 + c] = _mm512_shuffle_f32x4(q, q2, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(q, q2, 0xDD);
    }
}

#endif
