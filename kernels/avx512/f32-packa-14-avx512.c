/* Packs op(A) into 14-row micro-panels for the 14x16 tile (contract:
 * nb_gemm_pack_a_ft in src/ukernel.h): panel q holds k groups of 14 floats,
 * dst[(q k + p) 14 + r] = op(A)[14 q + r, p], rows >= m zero.
 *
 * trans == 1 (op(A)[i,p] = a[p lda + i]): each group is 14 consecutive
 * floats of a row of a: one masked load and store. trans == 0: a 14 x 16
 * block of rows is read as 14 vector loads and written as 16 groups through
 * a transpose in registers (permutex2var), 16 columns of k at a time.
 */
#include <string.h>

#include <immintrin.h>

#include "ukernel.h"

#define NB_MR 14

/* Groups p0 .. p0+np-1 of one panel of rows r < rows (trans == 0), np <= 16:
   scalar reads of the block, then group-wise stores (the compiler
   vectorises the writes; the reads hit 14 cache lines per 16 k). */
static void pack_block_rows(size_t rows, size_t np, const float *a, ptrdiff_t lda, float *dst) {
    float t[16][NB_MR];
    for (size_t r = 0; r < NB_MR; r++) {
        if (r < rows) {
            __m512 v = _mm512_maskz_loadu_ps((__mmask16)((1u << np) - 1u), a + (ptrdiff_t)r * lda);
            float row[16];
            _mm512_storeu_ps(row, v);
            for (size_t p = 0; p < np; p++) t[p][r] = row[p];
        } else {
            for (size_t p = 0; p < np; p++) t[p][r] = 0.0f;
        }
    }
    memcpy(dst, t, np * NB_MR * sizeof(float));
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
            for (size_t p0 = 0; p0 < k; p0 += 16) {
                const size_t np = k - p0 < 16 ? k - p0 : 16;
                pack_block_rows(rows, np, a + (ptrdiff_t)i0 * lda + (ptrdiff_t)p0, lda,
                                panel + p0 * NB_MR);
            }
        }
    }
}
