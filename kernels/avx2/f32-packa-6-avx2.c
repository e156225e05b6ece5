/* f32 GEMM packing of op(A) into 6-row micro-panels, AVX2.
 *
 * dst panel layout (for the 6x16 micro-kernel): k groups of 6 floats, group
 * p = op(A)[i0:i0+6, p]; rows beyond m zero. Contract: src/gemm_driver.h
 * (dst private to the thread, 64-byte aligned, NB_GEMM_PACK_SLACK floats of
 * slack after the last panel).
 *
 * trans == 1 (A stored K x M, a panel's 6 floats per k are contiguous): one
 * masked 8-lane load per k (lanes >= the panel's rows read nothing and give
 * 0) and one full 8-float store at dst + 6p. The 2 extra floats land where
 * group p+1 starts and are overwritten by it; the last group's go into the
 * next panel (packed next) or the slack.
 * trans == 0 (A stored M x K, rows contiguous along k): 6 rows x 8 k are
 * loaded, transposed 8x8 (2 zero rows), and stored as 8 overlapping groups
 * the same way. k tails and partial panels take a scalar path.
 */
#include <assert.h>

#include "gemm-avx2.h"
#include "ukernel.h"

#define MR 6

static void pack_rows_panel(size_t mm, size_t k, const float *a, ptrdiff_t lda, float *dst) {
    size_t p = 0;
    if (mm == MR) {
        for (; p + 8 <= k; p += 8) {
            __m256 r[8];
            for (int i = 0; i < MR; i++) r[i] = _mm256_loadu_ps(a + i * lda + p);
            r[6] = r[7] = _mm256_setzero_ps();
            nb_avx2_transpose8x8(r);
            for (int q = 0; q < 8; q++) _mm256_storeu_ps(dst + (p + (size_t)q) * MR, r[q]);
        }
    }
    for (; p < k; p++)
        for (size_t i = 0; i < MR; i++) dst[p * MR + i] = i < mm ? a[(ptrdiff_t)i * lda + (ptrdiff_t)p] : 0.0f;
}

static void pack_cols_panel(size_t mm, size_t k, const float *a, ptrdiff_t lda, float *dst) {
    const __m256i mask = nb_avx2_lane_mask(mm);
    for (size_t p = 0; p < k; p++)
        _mm256_storeu_ps(dst + p * MR, _mm256_maskload_ps(a + (ptrdiff_t)p * lda, mask));
}

void nb_f32_packa_ukernel_6__avx2(int trans, size_t m, size_t k,
                                  const float *a, ptrdiff_t lda, float *dst) {
    assert(((uintptr_t)dst & 63) == 0);
    for (size_t i0 = 0; i0 < m; i0 += MR) {
        const size_t mm = m - i0 < MR ? m - i0 : MR;
        if (trans) pack_cols_panel(mm, k, a + i0, lda, dst);
        else       pack_rows_panel(mm, k, a + (ptrdiff_t)i0 * lda, lda, dst);
        dst += k * MR;
    }
}
