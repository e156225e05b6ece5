/* Packs op(A) into 14-row micro-panels for the 14x16 tile (contract:
 * nb_gemm_pack_a_ft in src/ukernel.h): panel q holds k groups of 14 floats,
 * dst[(q k + p) 14 + r] = op(A)[14 q + r, p], rows >= m zero.
 *
 * trans == 1 (op(A)[i,p] = a[p lda + i]): each group is 14 consecutive
 * floats of a row of a: one masked load and store. trans == 0: each group
 * is a column of 14 rows: one masked gather (int32 offsets r lda; a scalar
 * loop when 14 lda does not fit them).
 */
#include <stdint.h>

#include <immintrin.h>

#include "ukernel.h"

#define NB_MR 14

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
            /* Group p is column p of 14 rows: one masked gather (lane r at
               a[r lda + p]), rows >= m read nothing and give 0. */
            if (lda > INT32_MAX / NB_MR) {   /* offsets must fit the gather's int32 lanes */
                for (size_t p = 0; p < k; p++)
                    for (size_t r = 0; r < NB_MR; r++)
                        panel[p * NB_MR + r] = r < rows ? a[(ptrdiff_t)(i0 + r) * lda + (ptrdiff_t)p] : 0.0f;
                continue;
            }
            const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                   _mm512_set1_epi32((int)lda));
            const __mmask16 keep = (__mmask16)((1u << rows) - 1u), store = (__mmask16)0x3fffu;
            const float *col = a + (ptrdiff_t)i0 * lda;
            for (size_t p = 0; p < k; p++)
                _mm512_mask_storeu_ps(panel + p * NB_MR, store,
                                      _mm512_mask_i32gather_ps(_mm512_setzero_ps(), keep, idx, col + p, 4));
        }
    }
}
