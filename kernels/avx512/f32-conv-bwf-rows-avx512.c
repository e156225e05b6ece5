/* Backward-filter's strided-rows tile, 14x32, AVX-512F (contract: the
 * bwf_rows member of nb_conv_desc, src/ukernel.h).
 *
 * The 14x32 A-in-place GEMM tile (gemm-14x32-avx512.h: same register
 * plan, same FMA order a lane, same epilogue) with two differences: A's
 * column step is astep floats (2: the image's columns of one stride-2
 * tap, read in place, so no phase planes are copied), and k runs over row
 * segments (one output row's pixels of the block whose tap is inside the
 * image), A and B restarting at each segment's offsets. The pixels a
 * segment leaves out are the padding pixels of the padded-row numbering
 * and the taps in the zero padding: their products are exact zeros in
 * the column-matrix path (finite x), which leave an FMA chain from +0
 * unchanged, so the bits are those of the adirect tile over the padded
 * rows (the driver checks dw for non-finite elements, see
 * src/conv_bwd_filter_rows.c).
 *
 * Rows of A: the 14 channel rows (lda apart) from 4 base pointers and
 * L = 4 lda bytes (x86 base + L*{1,2,4,8}), as in the adirect tile.
 */
#include <assert.h>

#include "gemm-14x32-avx512.h"

static inline __attribute__((always_inline))
void rows_body(const int M, size_t n, size_t nseg, const int64_t *seg, const float *a, ptrdiff_t lda,
               ptrdiff_t astep, const float *b0, float *c, ptrdiff_t ldc, float beta) {
    __m512 acc[14][2];
    for (int r = 0; r < M; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int r = 0; r < M; r++) {
        _mm_prefetch((const char *)(c + (ptrdiff_t)r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (ptrdiff_t)r * ldc + 16), _MM_HINT_T0);
    }
    const ptrdiff_t L = lda * (ptrdiff_t)sizeof(float), step = astep * (ptrdiff_t)sizeof(float);
    const __mmask16 kl = nb_avx512_gemm_mask(n), kh = nb_avx512_gemm_mask(n > 16 ? n - 16 : 0);
    for (size_t i = 0; i < nseg; i++) {
        const float *as = a + seg[3 * i];
        const float *b = b0 + seg[3 * i + 1];
        const size_t k = (size_t)seg[3 * i + 2];
        const char *base[11] = {0};
        for (int r = 0; r < 11; r++) base[r] = (const char *)(as + (ptrdiff_t)(r < M ? r : 0) * lda);
#pragma GCC unroll 2
        for (size_t p = 0; p < k; p++) {
            const __m512 bl = _mm512_load_ps(b), bh = _mm512_load_ps(b + 16);
#pragma GCC unroll 14
            for (int r = 0; r < M; r++) {
                const __m512 ar = _mm512_set1_ps(*(const float *)(base[NB_A14_BASE(r)] +
                                                                  (r - NB_A14_BASE(r)) * L));
                acc[r][0] = _mm512_fmadd_ps(ar, bl, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(ar, bh, acc[r][1]);
            }
            base[0] += step;
            base[3] += step;
            base[5] += step;
            base[10] += step;
            b += 32;
        }
    }
    const __m512 one = _mm512_set1_ps(1.0f);
    const int mode = nb_avx512_epilogue_mode(1.0f, beta);
#pragma GCC unroll 14
    for (int r = 0; r < M; r++) {
        nb_avx512_gemm_store(mode, acc[r][0], one, one, kl, c + (ptrdiff_t)r * ldc);
        nb_avx512_gemm_store(mode, acc[r][1], one, one, kh, c + (ptrdiff_t)r * ldc + 16);
    }
}

void nb_f32_conv_bwf_rows_ukernel_14x32__avx512(size_t m, size_t n, size_t nseg, const int64_t *seg,
                                                const float *a, ptrdiff_t lda, ptrdiff_t astep,
                                                const float *b, float *c, ptrdiff_t ldc, float beta) {
    assert(m >= 1 && m <= 14 && n >= 1 && n <= 32);
    assert(((uintptr_t)b & 63) == 0);
    assert(beta == 0.0f || beta == 1.0f);
#define NB_BODY(M) rows_body(M, n, nseg, seg, a, lda, astep, b, c, ldc, beta)
    NB_AVX512_14_CASES(m, NB_BODY)
#undef NB_BODY
}
