/* Packs op(A) into 14-row micro-panels for the 14x16 and 14x32 tiles
 * (contract: nb_gemm_pack_a_ft in src/ukernel.h): panel q holds k groups
 * of 14 floats, dst[(q k + p) 14 + r] = op(A)[14 q + r, p], rows >= m zero.
 *
 * trans == 1 (op(A)[i,p] = a[p lda + i]): each group is 14 consecutive
 * floats of a row of a: one masked load and store.
 * trans == 0: each group is a column of 14 rows. 16 k of 16 rows are
 * loaded as 128-bit pieces and transposed in registers
 * (nb_avx512_tile16x16, 64 loads and 32 shuffles for 16 groups), then each
 * group is stored under a 14-lane mask. This replaced one 14-lane gather a
 * group, which cost ~5 % of a 1024^3 SGEMM. Rows 14 and 15 of the tile are
 * read only when they are rows of the block (the next panel's), else the
 * tile's masked loads give zeros without reading them.
 */
#include <stdint.h>

#include <immintrin.h>

#include "reduce-avx512.h"

#define NB_MR 14

static void pack_rows_panel(size_t rows, size_t avail, size_t k, const float *a, ptrdiff_t lda,
                            float *panel) {
    const __mmask16 store = (__mmask16)0x3fffu;
    const int64_t tile_rows = avail >= 16 ? 16 : (int64_t)rows;
    size_t p = 0;
    if (tile_rows == 16)   /* whole tiles: constant trip counts keep t[] in registers */
        for (; p + 16 <= k; p += 16) {
            __m512 t[16];
            nb_avx512_tile16x16_full(a + p, (int64_t)lda, t);
            for (int q = 0; q < 16; q++) _mm512_mask_storeu_ps(panel + (p + (size_t)q) * NB_MR, store, t[q]);
        }
    for (; p < k; p += 16) {
        const int64_t kk = k - p < 16 ? (int64_t)(k - p) : 16;
        __m512 t[16];
        nb_avx512_tile16x16(a + p, (int64_t)lda, tile_rows, kk, t);
        for (int64_t q = 0; q < kk; q++) _mm512_mask_storeu_ps(panel + (p + (size_t)q) * NB_MR, store, t[q]);
    }
}

void nb_f32_packa_ukernel_14__avx512(int trans, size_t m, size_t k, const float *a, ptrdiff_t lda,
                                     float *dst) {
    for (size_t i0 = 0; i0 < m; i0 += NB_MR) {
        const size_t rows = m - i0 < NB_MR ? m - i0 : NB_MR;
        float *panel = dst + i0 * k;   /* panel i0/14 at (i0/14) 14 k = i0 k */
        if (trans) {
            const __mmask16 keep = (__mmask16)((1u << rows) - 1u), store = (__mmask16)0x3fffu;
            for (size_t p = 0; p < k; p++)
                _mm512_mask_storeu_ps(panel + p * NB_MR, store,
                                      _mm512_maskz_loadu_ps(keep, a + (ptrdiff_t)p * lda + (ptrdiff_t)i0));
        } else {
            pack_rows_panel(rows, m - i0, k, a + (ptrdiff_t)i0 * lda, lda, panel);
        }
    }
}
