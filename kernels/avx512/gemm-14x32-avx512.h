/* The body of the 14x32 AVX-512 GEMM tile, shared (static inline, AVX-512
 * TUs only) by the packed-A kernel (f32-gemm-14x32-avx512.c) and the
 * A-in-place kernel (f32-gemm-14x32-avx512-adirect.c), so both give the
 * same bits by construction.
 *
 * nb_avx512_14x32_body(M, DIRECT, ...) computes rows 0..M-1 of the tile, M
 * a compile-time constant (1..14): the caller switches on m, so an edge
 * tile of 8 rows runs 16 FMAs a k, not the 28 of a full tile (a 64-row C is
 * 4 full row panels and one of 8 rows; a full-width edge costs ~9 % of a
 * 128^3 GEMM and ~4 % of a 256^3 one).
 *
 * Register plan (32 zmm): 2 M accumulators (row r: c[r][0] columns 0..15,
 * c[r][1] 16..31), two B vectors; A[r,p] is broadcast from memory straight
 * into the FMAs. Per k: 2 B loads + M broadcasts for 2 M FMAs (0.57 loads a
 * FMA for M = 14), 2 M independent chains (28 cover 2 FMA pipes x 4 cycles
 * of latency; an 8-row edge has 16, still enough).
 *
 * A operand: DIRECT 0 and 3: a packed micro-panel, k groups of 14 floats
 * (group p holds op(A)[0..13, p]). DIRECT 1, 2, 4: A read in place, row r at
 * a + r lda. The 14 rows are reached from 4 row pointers and one byte
 * stride L = 4 lda (x86 addresses base + L*{1,2,4,8}): rows 0,1,2,4,8 from
 * row 0; 3,5,7,11 from row 3; 6,9,13 from row 5; 10,12 from row 10. That
 * keeps the loop at 7 general registers (4 bases, L, b, the count) where
 * 14 row pointers would spill. Rows >= M are never read.
 *
 * B operand: DIRECT < 2: a packed micro-panel, k groups of 32 floats
 * (aligned loads). DIRECT == 2: B read in place too, row p of the tile's
 * columns at b + p ldb, loaded under the column masks (so columns >= n
 * are never read and their lanes are zero, as the packer's padding).
 * DIRECT == 3 (A packed) and 4 (A in place): B read in place as for 2,
 * and each k's two B vectors also stored to bpk, group p of the packed
 * B micro-panel (the packer's panel bit for bit; the driver's first tile
 * of each panel packs it, gemm_driver.c).
 *
 * Numerics: each accumulator lane is one element's FMA chain in k order
 * from +0, then the contract's epilogue (gemm-avx512.h); columns >= n are
 * masked off in the loads and stores of C.
 */
#ifndef NB_GEMM_14X32_AVX512_H
#define NB_GEMM_14X32_AVX512_H

#include "gemm-avx512.h"

/* The tile that packs B as it goes (f32-gemm-14x32-avx512-packb.c; not a
   registry kind: the SGEMM driver reaches it through its descriptor's
   ukernel_packb, and tests/test_gemm_blocking.c checks its bits there). */
void nb_f32_gemm_ukernel_14x32__avx512_packb(size_t m, size_t n, size_t k, const float *restrict a,
                                             ptrdiff_t lda, const float *restrict b, ptrdiff_t ldb,
                                             float *restrict bpk, float *restrict c, ptrdiff_t ldc,
                                             float alpha, float beta);

/* Row r of A at the current k, DIRECT: from its base pointer and a power
   of two times L (bytes). */
#define NB_A14_BASE(r) ((r) == 10 || (r) == 12 ? 10 : (r) == 6 || (r) == 9 || (r) == 13 ? 5 : \
                        (r) == 3 || (r) == 5 || (r) == 7 || (r) == 11 ? 3 : 0)

static inline __attribute__((always_inline))
void nb_avx512_14x32_body(const int M, const int DIRECT, size_t n, size_t k, const float *a,
                          ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                          float alpha, float beta, float *bpk) {
    /* A read in place (DIRECT 1, 2, 4); B read in place (DIRECT 2, 3, 4),
       and with DIRECT 3 and 4 also written to bpk as the packer's panel. */
    const int ADIR = DIRECT == 1 || DIRECT == 2 || DIRECT == 4, BDIR = DIRECT >= 2,
              BPACK = DIRECT >= 3;
    __m512 acc[14][2];
    for (int r = 0; r < M; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int r = 0; r < M; r++) {
        _mm_prefetch((const char *)(c + (ptrdiff_t)r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (ptrdiff_t)r * ldc + 16), _MM_HINT_T0);
    }
    const ptrdiff_t L = lda * (ptrdiff_t)sizeof(float);
    const char *base[11] = {0};
    if (ADIR)
        for (int r = 0; r < 11; r++) base[r] = (const char *)(a + (ptrdiff_t)(r < M ? r : 0) * lda);
    const __mmask16 kl = nb_avx512_gemm_mask(n), kh = nb_avx512_gemm_mask(n > 16 ? n - 16 : 0);
#pragma GCC unroll 2
    for (size_t p = 0; p < k; p++) {
        /* No software prefetch of B: 8 k ahead (1 KiB) it gained nothing
           with the B panels streaming past an L1-resident A panel on Zen 4
           (128x4096x1024 11.31 -> 11.92 ms, 2048^3 158.0 -> 160.5) and
           cost the implicit-im2col convolution ~3 % (config-avx512.c). */
        __m512 bl, bh;
        if (BDIR) {
            bl = _mm512_maskz_loadu_ps(kl, b);
            bh = _mm512_maskz_loadu_ps(kh, b + 16);
            if (BPACK) {
                _mm512_store_ps(bpk, bl);
                _mm512_store_ps(bpk + 16, bh);
                bpk += 32;
            }
        } else {
            bl = _mm512_load_ps(b);
            bh = _mm512_load_ps(b + 16);
        }
#pragma GCC unroll 14
        for (int r = 0; r < M; r++) {
            __m512 ar;
            if (ADIR)
                ar = _mm512_set1_ps(*(const float *)(base[NB_A14_BASE(r)] +
                                                     (r - NB_A14_BASE(r)) * L));
            else
                ar = _mm512_set1_ps(a[r]);
            acc[r][0] = _mm512_fmadd_ps(ar, bl, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(ar, bh, acc[r][1]);
        }
        if (ADIR) {
            base[0] += sizeof(float);
            base[3] += sizeof(float);
            base[5] += sizeof(float);
            base[10] += sizeof(float);
        } else {
            a += 14;
        }
        b += BDIR ? ldb : 32;
    }
    const __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
    const int mode = nb_avx512_epilogue_mode(alpha, beta);
    /* Full-width tiles (all but a column edge) store unmasked
       (nb_avx512_gemm_store_full: the same bits). */
    if (n >= 32) {
#pragma GCC unroll 14
        for (int r = 0; r < M; r++) {
            nb_avx512_gemm_store_full(mode, acc[r][0], valpha, vbeta, c + (ptrdiff_t)r * ldc);
            nb_avx512_gemm_store_full(mode, acc[r][1], valpha, vbeta, c + (ptrdiff_t)r * ldc + 16);
        }
        return;
    }
#pragma GCC unroll 14
    for (int r = 0; r < M; r++) {
        nb_avx512_gemm_store(mode, acc[r][0], valpha, vbeta, kl, c + (ptrdiff_t)r * ldc);
        nb_avx512_gemm_store(mode, acc[r][1], valpha, vbeta, kh, c + (ptrdiff_t)r * ldc + 16);
    }
}

/* switch (m) over the 14 instantiations of BODY(M). */
#define NB_AVX512_14_CASES(m, BODY)                                                          \
    switch (m) {                                                                             \
    case 1: BODY(1); break;   case 2: BODY(2); break;   case 3: BODY(3); break;              \
    case 4: BODY(4); break;   case 5: BODY(5); break;   case 6: BODY(6); break;              \
    case 7: BODY(7); break;   case 8: BODY(8); break;   case 9: BODY(9); break;              \
    case 10: BODY(10); break; case 11: BODY(11); break; case 12: BODY(12); break;            \
    case 13: BODY(13); break; default: BODY(14); break;                                      \
    }

#endif
