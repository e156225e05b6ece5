/* f32 GEMM packing of op(B) into 12-column micro-panels, AArch64 Advanced SIMD.
 *
 * dst panel layout (for the 8x12 micro-kernel): k groups of 12 floats, group
 * p = op(B)[p, j0:j0+12]; columns beyond n zero. Nothing outside the panels
 * is written (threads pack neighbouring panels of one buffer concurrently;
 * src/gemm_driver.h). dst is only 16-byte aligned in general: the driver
 * starts a thread's panels at a multiple of NR*kc floats = 48 kc bytes, and
 * NEON loads and stores do not need more.
 *
 * trans == 0 (B stored K x N, rows contiguous): three 16-byte loads and
 * stores per k; the partial last panel too, its vectors built lane by lane
 * past the last whole 4 (no masked loads on NEON; no read past the row).
 * trans == 1 (B stored N x K: op(B)'s columns are contiguous along k): for
 * each 4 k, the 12 columns are loaded as three 4x4 blocks (columns beyond n
 * are zero registers, never loaded) and transposed in registers
 * (nb_neon_transpose4); k tails go element by element.
 */
#include <assert.h>
#include <stdint.h>

#include "gemm-neon.h"
#include "ukernel.h"

#define NR 12

static void pack_rows_panel(size_t nn, size_t k, const float *b, ptrdiff_t ldb, float *dst) {
    if (nn == NR) {
        for (size_t p = 0; p < k; p++, b += ldb, dst += NR) {
            vst1q_f32(dst, vld1q_f32(b));
            vst1q_f32(dst + 4, vld1q_f32(b + 4));
            vst1q_f32(dst + 8, vld1q_f32(b + 8));
        }
    } else {
        /* The partial last panel: three vector stores per k (the lanes at
           nn and beyond zero); 12 scalar stores per k before. */
        for (size_t p = 0; p < k; p++, b += ldb, dst += NR) {
            vst1q_f32(dst, nb_neon_gemm_load4(b, 0, nn));
            vst1q_f32(dst + 4, nb_neon_gemm_load4(b, 4, nn));
            vst1q_f32(dst + 8, nb_neon_gemm_load4(b, 8, nn));
        }
    }
}

static void pack_cols_panel(size_t nn, size_t k, const float *b, ptrdiff_t ldb, float *dst) {
    size_t p = 0;
    for (; p + 4 <= k; p += 4)
        for (size_t g = 0; g < NR; g += 4) {
            float32x4_t r[4];
            for (size_t j = 0; j < 4; j++)
                r[j] = g + j < nn ? vld1q_f32(b + (ptrdiff_t)(g + j) * ldb + (ptrdiff_t)p) : vdupq_n_f32(0.0f);
            nb_neon_transpose4(r);
            for (size_t q = 0; q < 4; q++) vst1q_f32(dst + (p + q) * NR + g, r[q]);
        }
    /* Tail: the last k % 4 rows (3 at most), element by element. */
    for (; p < k; p++)
        for (size_t j = 0; j < NR; j++)
            dst[p * NR + j] = j < nn ? b[(ptrdiff_t)j * ldb + (ptrdiff_t)p] : 0.0f;
}

void nb_f32_packb_ukernel_12__neon(int trans, size_t k, size_t n,
                                   const float *b, ptrdiff_t ldb, float *dst) {
    assert(((uintptr_t)dst & 15) == 0);
    for (size_t j0 = 0; j0 < n; j0 += NR) {
        const size_t nn = n - j0 < NR ? n - j0 : NR;
        if (trans) pack_cols_panel(nn, k, b + (ptrdiff_t)j0 * ldb, ldb, dst);
        else       pack_rows_panel(nn, k, b + j0, ldb, dst);
        dst += k * NR;
    }
}
