/* AVX-512 reduction and copy helpers (private to kernels/avx512/; static
 * inline only, every includer is compiled with the same AVX-512 flags,
 * KERNEL-PLAYBOOK pitfall 3).
 */
#ifndef NB_AVX512_REDUCE_H
#define NB_AVX512_REDUCE_H

#include <stdint.h>

#include <immintrin.h>

#include "ukernel.h"

/* Lanes [0, n) of a 16-lane mask (n <= 0: none, n >= 16: all). Masked loads neither read
   nor fault on the cleared lanes (they read as 0); masked stores leave them
   untouched. */
static inline __mmask16 nb_avx512_mask(int64_t n) {
    return (__mmask16)(n >= 16 ? 0xffffu : n <= 0 ? 0u : (1u << n) - 1u);
}

/* No software prefetch in the streaming reductions (session 12, Zen 4).
 * They used to prefetch the two lines 8 KiB ahead per 128 bytes (the AVX2
 * kernels' measurement on the Xeon: the hardware prefetcher alone kept too
 * few lines in flight). On Zen 4, in a harness alternating each kernel with
 * the read probe over the same 64 MiB (the driver's segment loop around
 * it), without the prefetches: sum 104-108 % of the probe (98-104 % with),
 * max 113-117 % (96-99 %), row sums 103 % (99-101 %), column sums 82-94 %
 * (70-76 %, and 1, 2, 4 or 16 KiB ahead no better). Re-measure on the Xeon
 * before putting them back. */

/* v, pinned in a register: GCC otherwise folds one load into each of the
   three instructions of nb_avx512_max_nan that read it (three loads where
   the load ports are what a column kernel runs out of first). */
static inline __m512 nb_avx512_in_reg(__m512 v) {
    __asm__("" : "+v"(v));
    return v;
}

/* max / min with nabla's rules (ref/reduce.c), lane by lane. vrangeps
   (AVX512DQ) with imm[1:0] = max / min and imm[3:2] = 01 (the sign of the
   compare result) is exact on every non-NaN pair, the +0/-0 tie included
   in either operand order (+0 for max, -0 for min), in one uop; but it
   follows IEEE maxNum on a quiet NaN (the number wins), so NaN is handled
   beside it. The vmaxps form it replaces needed both operand orders and an
   AND/OR to settle the tie: 5 uops instead of 3, half the column kernels'
   speed in L1. */
#define NB_AVX512_RANGE_MAX 0x05
#define NB_AVX512_RANGE_MIN 0x04
static inline __m512 nb_avx512_max_num(__m512 a, __m512 b) {
    return _mm512_range_ps(a, b, NB_AVX512_RANGE_MAX);
}
static inline __m512 nb_avx512_min_num(__m512 a, __m512 b) {
    return _mm512_range_ps(a, b, NB_AVX512_RANGE_MIN);
}
/* ... and with NaN: unordered lanes take a + b, a NaN, so a NaN anywhere
   in a chain stays NaN. */
static inline __m512 nb_avx512_max_nan(__m512 a, __m512 b) {
    return _mm512_mask_add_ps(nb_avx512_max_num(a, b), _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q), a, b);
}
static inline __m512 nb_avx512_min_nan(__m512 a, __m512 b) {
    return _mm512_mask_add_ps(nb_avx512_min_num(a, b), _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q), a, b);
}

/* 4x4 transposes inside each 128-bit lane: on return v[q] lane-block L holds
   element q of the four inputs' lane-block L, in input order. */
static inline void nb_avx512_transpose4x4_lanes(__m512 v[4]) {
    const __m512 t0 = _mm512_unpacklo_ps(v[0], v[1]), t1 = _mm512_unpackhi_ps(v[0], v[1]);
    const __m512 t2 = _mm512_unpacklo_ps(v[2], v[3]), t3 = _mm512_unpackhi_ps(v[2], v[3]);
    v[0] = _mm512_shuffle_ps(t0, t2, 0x44);
    v[1] = _mm512_shuffle_ps(t0, t2, 0xEE);
    v[2] = _mm512_shuffle_ps(t1, t3, 0x44);
    v[3] = _mm512_shuffle_ps(t1, t3, 0xEE);
}

/* Four 4-float pieces s0..s3 (masked by k, cleared lanes read as 0) as the
   four 128-bit lanes of one zmm. The inserts take their operand from
   memory: loads, not shuffle-port work. */
static inline __m512 nb_avx512_load4x128(const float *s0, const float *s1, const float *s2,
                                         const float *s3, __mmask8 k) {
    __m512 v = _mm512_zextps128_ps512(_mm_maskz_loadu_ps(k, s0));
    v = _mm512_insertf32x4(v, _mm_maskz_loadu_ps(k, s1), 1);
    v = _mm512_insertf32x4(v, _mm_maskz_loadu_ps(k, s2), 2);
    return _mm512_insertf32x4(v, _mm_maskz_loadu_ps(k, s3), 3);
}

/* The 16 x 16 tile at s (rows lds apart; rows >= rows are not read and give
 * zeros, columns >= cols are not read) transposed into out[0..16): out[c]
 * lane r = s[r lds + c]. Plan: for each block of 4 columns, zmm k holds
 * rows k, k+4, k+8, k+12 of those columns in its four 128-bit lanes (16
 * 128-bit loads), and one in-lane 4x4 transpose leaves column c of rows
 * 0..15 in lane order: 32 shuffles for the tile instead of the 64 of an
 * all-register transpose. */
/* The full tile: plain loads, which the compiler folds into the inserts
   (vinsertf32x4 from memory: a load and an ALU uop off the shuffle port;
   a masked load cannot be folded and would add a shuffle per insert). */
static inline __attribute__((always_inline))
void nb_avx512_tile16x16_full(const float *s, int64_t lds, __m512 out[16]) {
    for (int b = 0; b < 4; b++) {
        __m512 v[4];
        for (int k = 0; k < 4; k++) {
            const float *c = s + k * lds + 4 * b;
            __m512 t = _mm512_castps128_ps512(_mm_loadu_ps(c));
            t = _mm512_insertf32x4(t, _mm_loadu_ps(c + 4 * lds), 1);
            t = _mm512_insertf32x4(t, _mm_loadu_ps(c + 8 * lds), 2);
            v[k] = _mm512_insertf32x4(t, _mm_loadu_ps(c + 12 * lds), 3);
        }
        nb_avx512_transpose4x4_lanes(v);
        for (int q = 0; q < 4; q++) out[4 * b + q] = v[q];
    }
}

/* The full tile again, for sources that stream from memory with a row
 * stride of a multiple of 4 KiB (a 4096-float matrix): one 512-bit load per
 * row, then 64 shuffles (in-lane 4x4 transposes of rows 4q..4q+3, then a
 * 4x4 transpose of 128-bit blocks). The insert plan above reads each row's
 * line four times, once per block of 4 columns, with the other 15 rows in
 * between; rows 16 KiB apart all fall in one set of Zen 4's 8-way 32 KiB
 * L1, so the line is evicted between its four reads and every read goes to
 * L2 (1x4096x4096 B^T GEMV on Zen 4: 30 GB/s from L2 with inserts, 46 with
 * this plan). 64 shuffle uops against the insert plan's 48 inserts and 32
 * shuffles; the insert plan stays for the masked edge tiles (and for the
 * SGEMM packers, not measured with this one). */
static inline __attribute__((always_inline))
void nb_avx512_tile16x16_lines(const float *s, int64_t lds, __m512 out[16]) {
    __m512 t[16];
    for (int q = 0; q < 4; q++) {
        __m512 v[4];
        for (int i = 0; i < 4; i++) v[i] = _mm512_loadu_ps(s + (4 * q + i) * lds);
        /* v[e] lane 4L + i = row 4q + i, column 4L + e */
        nb_avx512_transpose4x4_lanes(v);
        for (int e = 0; e < 4; e++) t[4 * q + e] = v[e];
    }
    /* out[4L + e] 128-bit block q = t[4q + e] block L. */
    for (int e = 0; e < 4; e++) {
        const __m512 y0 = _mm512_shuffle_f32x4(t[e], t[4 + e], 0x44);
        const __m512 y1 = _mm512_shuffle_f32x4(t[e], t[4 + e], 0xEE);
        const __m512 y2 = _mm512_shuffle_f32x4(t[8 + e], t[12 + e], 0x44);
        const __m512 y3 = _mm512_shuffle_f32x4(t[8 + e], t[12 + e], 0xEE);
        out[e] = _mm512_shuffle_f32x4(y0, y2, 0x88);
        out[4 + e] = _mm512_shuffle_f32x4(y0, y2, 0xDD);
        out[8 + e] = _mm512_shuffle_f32x4(y1, y3, 0x88);
        out[12 + e] = _mm512_shuffle_f32x4(y1, y3, 0xDD);
    }
}

static inline __attribute__((always_inline))
void nb_avx512_tile16x16(const float *s, int64_t lds, int64_t rows, int64_t cols, __m512 out[16]) {
    if (rows == 16 && cols == 16) {
        nb_avx512_tile16x16_full(s, lds, out);
        return;
    }
    const float *row[16];
    for (int r = 0; r < 16; r++) row[r] = s + (r < rows ? r : 0) * lds;
    for (int b = 0; b < 4; b++) {
        const int64_t left = cols - 4 * b;
        const __mmask8 kc = (__mmask8)(left >= 4 ? 0xF : left <= 0 ? 0 : (1u << left) - 1u);
        __m512 v[4];
        for (int k = 0; k < 4; k++) {
            v[k] = nb_avx512_load4x128(row[k] + 4 * b, row[k + 4] + 4 * b, row[k + 8] + 4 * b,
                                       row[k + 12] + 4 * b, kc);
            if (rows < 16) {   /* rows past the tile: zero lanes (their loads read row 0) */
                const __mmask16 keep = (__mmask16)((k < rows ? 0x000Fu : 0) | (k + 4 < rows ? 0x00F0u : 0) |
                                                   (k + 8 < rows ? 0x0F00u : 0) | (k + 12 < rows ? 0xF000u : 0));
                v[k] = _mm512_maskz_mov_ps(keep, v[k]);
            }
        }
        /* v[k] lane-block L is row k + 4L; after the in-lane transpose
           v[q] lane 4L + e is row e + 4L of column 4b + q: lane = row. */
        nb_avx512_transpose4x4_lanes(v);
        for (int q = 0; q < 4; q++) out[4 * b + q] = v[q];
    }
}

#endif
