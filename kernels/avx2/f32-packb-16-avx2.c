/* f32 GEMM packing of op(B) into 16-column micro-panels, AVX2.
 *
 * dst panel layout (for the 6x16 micro-kernel): k groups of 16 floats, group
 * p = op(B)[p, j0:j0+16]; columns beyond n zero. dst is 64-byte aligned and
 * nothing outside the panels is written (threads pack neighbouring panels of
 * one buffer concurrently; src/gemm_driver.h).
 *
 * trans == 0 (B stored K x N, rows contiguous): two 8-lane loads per k, the
 * last partial panel with masked loads (no read past the row, zeros in the
 * padding). trans == 1 (B stored N x K: op(B)'s columns are contiguous):
 * 8 columns x 8 k are loaded and transposed 8x8 in registers; k tails and the
 * partial last panel go element by element.
 */
#include <assert.h>

#include "gemm-avx2.h"
#include "ukernel.h"

#define NR 16

static void pack_rows_panel(size_t nn, size_t k, const float *b, ptrdiff_t ldb, float *dst) {
    if (nn == NR) {
        for (size_t p = 0; p < k; p++, b += ldb, dst += NR) {
            _mm256_store_ps(dst, _mm256_loadu_ps(b));
            _mm256_store_ps(dst + 8, _mm256_loadu_ps(b + 8));
        }
    } else {
        const __m256i m0 = nb_avx2_lane_mask(nn < 8 ? nn : 8);
        const __m256i m1 = nb_avx2_lane_mask(nn > 8 ? nn - 8 : 0);
        for (size_t p = 0; p < k; p++, b += ldb, dst += NR) {
            _mm256_store_ps(dst, _mm256_maskload_ps(b, m0));
            _mm256_store_ps(dst + 8, _mm256_maskload_ps(b + 8, m1));
        }
    }
}

static void pack_cols_panel(size_t nn, size_t k, const float *b, ptrdiff_t ldb, float *dst) {
    size_t p = 0;
    if (nn == NR) {
        for (; p + 8 <= k; p += 8) {
            for (int h = 0; h < 2; h++) {
                __m256 r[8];
                for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(b + (ptrdiff_t)(8 * h + j) * ldb + p);
                nb_avx2_transpose8x8(r);
                for (int q = 0; q < 8; q++) _mm256_store_ps(dst + (p + (size_t)q) * NR + 8 * h, r[q]);
            }
        }
    }
    for (; p < k; p++)
        for (size_t j = 0; j < NR; j++)
            dst[p * NR + j] = j < nn ? b[(ptrdiff_t)j * ldb + (ptrdiff_t)p] : 0.0f;
}

void nb_f32_packb_ukernel_16__avx2(int trans, size_t k, size_t n,
                                   const float *b, ptrdiff_t ldb, float *dst) {
    assert(((uintptr_t)dst & 63) == 0);
    for (size_t j0 = 0; j0 < n; j0 += NR) {
        const size_t nn = n - j0 < NR ? n - j0 : NR;
        if (trans) pack_cols_panel(nn, k, b + (ptrdiff_t)j0 * ldb, ldb, dst);
        else       pack_rows_panel(nn, k, b + j0, ldb, dst);
        dst += k * NR;
    }
}
