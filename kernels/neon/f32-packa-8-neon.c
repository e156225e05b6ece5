/* f32 GEMM packing of op(A) into 8-row micro-panels, AArch64 Advanced SIMD.
 *
 * dst panel layout (for the 8x12 micro-kernel): k groups of 8 floats, group
 * p = op(A)[i0:i0+8, p]; rows beyond m zero. Contract: src/gemm_driver.h.
 * This routine writes nothing past its panels (it does not use the
 * NB_GEMM_PACK_SLACK the contract allows).
 *
 * trans == 0 (A stored M x K, rows contiguous along k): 8 rows x 4 k are
 * loaded (rows beyond the panel's m are zero registers, never loaded) and
 * transposed as two 4x4 blocks (nb_neon_transpose4), giving 4 groups of 8;
 * k tails go element by element.
 * trans == 1 (A stored K x M, a panel's 8 floats per k contiguous): two
 * 16-byte loads and stores per k; a partial panel too, its vectors built
 * lane by lane past the last whole 4, zeros above m (NEON has no masked
 * load, and reading past the m-th float could cross into an unmapped page).
 */
#include <assert.h>
#include <stdint.h>

#include "gemm-neon.h"
#include "ukernel.h"

#define MR 8

static void pack_rows_panel(size_t mm, size_t k, const float *a, ptrdiff_t lda, float *dst) {
    size_t p = 0;
    for (; p + 4 <= k; p += 4) {
        float32x4_t lo[4], hi[4];
        for (size_t i = 0; i < 4; i++) {
            lo[i] = i < mm ? vld1q_f32(a + (ptrdiff_t)i * lda + (ptrdiff_t)p) : vdupq_n_f32(0.0f);
            hi[i] = i + 4 < mm ? vld1q_f32(a + (ptrdiff_t)(i + 4) * lda + (ptrdiff_t)p) : vdupq_n_f32(0.0f);
        }
        nb_neon_transpose4(lo);
        nb_neon_transpose4(hi);
        for (size_t q = 0; q < 4; q++) {
            vst1q_f32(dst + (p + q) * MR, lo[q]);
            vst1q_f32(dst + (p + q) * MR + 4, hi[q]);
        }
    }
    /* Tail: the last k % 4 columns (3 at most), element by element. */
    for (; p < k; p++)
        for (size_t i = 0; i < MR; i++) dst[p * MR + i] = i < mm ? a[(ptrdiff_t)i * lda + (ptrdiff_t)p] : 0.0f;
}

static void pack_cols_panel(size_t mm, size_t k, const float *a, ptrdiff_t lda, float *dst) {
    if (mm == MR) {
        for (size_t p = 0; p < k; p++, a += lda, dst += MR) {
            vst1q_f32(dst, vld1q_f32(a));
            vst1q_f32(dst + 4, vld1q_f32(a + 4));
        }
    } else {
        /* The partial last panel: two vector stores per k (lanes at mm and
           beyond zero); 8 scalar stores per k before. */
        for (size_t p = 0; p < k; p++, a += lda, dst += MR) {
            vst1q_f32(dst, nb_neon_gemm_load4(a, 0, mm));
            vst1q_f32(dst + 4, nb_neon_gemm_load4(a, 4, mm));
        }
    }
}

void nb_f32_packa_ukernel_8__neon(int trans, size_t m, size_t k,
                                  const float *a, ptrdiff_t lda, float *dst) {
    assert(((uintptr_t)dst & 63) == 0);
    for (size_t i0 = 0; i0 < m; i0 += MR) {
        const size_t mm = m - i0 < MR ? m - i0 : MR;
        if (trans) pack_cols_panel(mm, k, a + i0, lda, dst);
        else       pack_rows_panel(mm, k, a + (ptrdiff_t)i0 * lda, lda, dst);
        dst += k * MR;
    }
}
