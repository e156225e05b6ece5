/* f32 GEMM packing of op(B) into 32-column micro-panels for the 14x32
 * tile, AVX-512F (contract: nb_gemm_pack_b_ft in src/ukernel.h).
 *
 * dst panel layout: k groups of 32 floats, group p = op(B)[p, j0:j0+32];
 * columns beyond n zero. dst is 64-byte aligned (panels are 128 k bytes
 * apart) and nothing outside the panels is written (threads pack
 * neighbouring panels of one buffer concurrently).
 *
 * trans == 0 (B stored K x N, rows contiguous): two zmm loads per k, the
 * last partial panel with masked loads (no read past the row, zeros in the
 * padding). trans == 1 (B stored N x K: op(B)'s columns are contiguous):
 * 16 columns x 16 k are loaded and transposed in registers
 * (nb_avx512_tile16x16), twice per 16 k; k tails and the partial last
 * panel use the same tile with masked loads (missing columns give zeros).
 */
#include <assert.h>

#include "gemm-avx512.h"
#include "reduce-avx512.h"

#define NR 32

static void pack_rows_panel(size_t nn, size_t k, const float *b, ptrdiff_t ldb, float *dst) {
    if (nn == NR) {
        for (size_t p = 0; p < k; p++, b += ldb, dst += NR) {
            _mm512_store_ps(dst, _mm512_loadu_ps(b));
            _mm512_store_ps(dst + 16, _mm512_loadu_ps(b + 16));
        }
    } else {
        const __mmask16 m0 = nb_avx512_gemm_mask(nn), m1 = nb_avx512_gemm_mask(nn > 16 ? nn - 16 : 0);
        for (size_t p = 0; p < k; p++, b += ldb, dst += NR) {
            _mm512_store_ps(dst, _mm512_maskz_loadu_ps(m0, b));
            _mm512_store_ps(dst + 16, _mm512_maskz_loadu_ps(m1, b + 16));
        }
    }
}

static void pack_cols_panel(size_t nn, size_t k, const float *b, ptrdiff_t ldb, float *dst) {
    for (size_t p = 0; p < k; p += 16) {
        const int64_t kk = k - p < 16 ? (int64_t)(k - p) : 16;
        for (int h = 0; h < 2; h++) {   /* columns 16h .. 16h + 15 of the panel */
            const int64_t cols = nn > 16 * (size_t)h ? (int64_t)(nn - 16 * (size_t)h) : 0;
            __m512 t[16];
            if (cols == 0) {
                for (int q = 0; q < 16; q++) t[q] = _mm512_setzero_ps();
            } else {
                nb_avx512_tile16x16(b + (ptrdiff_t)(16 * h) * ldb + (ptrdiff_t)p, ldb,
                                    cols < 16 ? cols : 16, kk, t);
            }
            for (int64_t q = 0; q < kk; q++) _mm512_store_ps(dst + (p + (size_t)q) * NR + 16 * h, t[q]);
        }
    }
}

void nb_f32_packb_ukernel_32__avx512(int trans, size_t k, size_t n, const float *b, ptrdiff_t ldb,
                                     float *dst) {
    assert(((uintptr_t)dst & 63) == 0);
    for (size_t j0 = 0; j0 < n; j0 += NR) {
        const size_t nn = n - j0 < NR ? n - j0 : NR;
        if (trans) pack_cols_panel(nn, k, b + (ptrdiff_t)j0 * ldb, ldb, dst);
        else       pack_rows_panel(nn, k, b + j0, ldb, dst);
        dst += k * NR;
    }
}
