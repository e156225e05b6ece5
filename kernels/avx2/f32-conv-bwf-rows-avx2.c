/* Backward-filter's strided-rows tile, 6x16, AVX2+FMA (contract: the
 * bwf_rows member of nb_conv_desc, src/ukernel.h).
 *
 * The 6x16 A-in-place GEMM tile (f32-gemm-6x16-avx2-adirect.c: same
 * register plan, same FMA order a lane, same epilogue, hence its bits)
 * with A's column step astep floats (1 or 2: x86 index scales, so the
 * image's columns of one stride-2 tap are read in place) and k cut into
 * row segments, A and B restarting at each segment's offsets (see the
 * AVX-512 tile, f32-conv-bwf-rows-avx512.c, for why the pixels a segment
 * leaves out do not change the bits).
 *
 * Rows r >= m are never read: their row pointer is clamped to row m-1
 * (the duplicate results are discarded by the edge epilogue).
 */
#include <assert.h>
#include <string.h>

#include "gemm-avx2.h"
#include "ukernel.h"

/* One k step: B at byte offset bo of the packed panel, A at byte offset ao
   from each row pointer plus SC times the running index. */
#define NB_STEP(ao, bo, SC)                                   \
    "vmovaps " bo "(%[b]), %%ymm13\n\t"                       \
    "vmovaps " bo "+32(%[b]), %%ymm14\n\t"                    \
    "vbroadcastss " ao "(%%r8,%[i]," SC "), %%ymm15\n\t"      \
    "vfmadd231ps %%ymm13, %%ymm15, %[c00]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c01]\n\t"                \
    "vbroadcastss " ao "(%%r9,%[i]," SC "), %%ymm15\n\t"      \
    "vfmadd231ps %%ymm13, %%ymm15, %[c10]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c11]\n\t"                \
    "vbroadcastss " ao "(%%r10,%[i]," SC "), %%ymm15\n\t"     \
    "vfmadd231ps %%ymm13, %%ymm15, %[c20]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c21]\n\t"                \
    "vbroadcastss " ao "(%%r11,%[i]," SC "), %%ymm15\n\t"     \
    "vfmadd231ps %%ymm13, %%ymm15, %[c30]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c31]\n\t"                \
    "vbroadcastss " ao "(%%r12,%[i]," SC "), %%ymm15\n\t"     \
    "vfmadd231ps %%ymm13, %%ymm15, %[c40]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c41]\n\t"                \
    "vbroadcastss " ao "(%%r13,%[i]," SC "), %%ymm15\n\t"     \
    "vfmadd231ps %%ymm13, %%ymm15, %[c50]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c51]\n\t"

#define NB_LOAD_ROWS                                                                       \
    "mov (%[rp]), %%r8\n\tmov 8(%[rp]), %%r9\n\tmov 16(%[rp]), %%r10\n\t"                  \
    "mov 24(%[rp]), %%r11\n\tmov 32(%[rp]), %%r12\n\tmov 40(%[rp]), %%r13\n\t"
#define NB_OPERANDS                                                                        \
    : [i] "+r"(idx), [b] "+r"(b),                                                          \
      [c00] "+x"(c00), [c01] "+x"(c01), [c10] "+x"(c10), [c11] "+x"(c11),                  \
      [c20] "+x"(c20), [c21] "+x"(c21), [c30] "+x"(c30), [c31] "+x"(c31),                  \
      [c40] "+x"(c40), [c41] "+x"(c41), [c50] "+x"(c50), [c51] "+x"(c51)                   \
    : [rp] "r"(rp)                                                                         \
    : "r8", "r9", "r10", "r11", "r12", "r13", "xmm13", "xmm14", "xmm15", "cc", "memory"

/* k steps of 4 then 1 pixels, the rows pointing at the segment's end
   (i: a negative byte offset counting up to 0, scaled by SC). */
#define NB_SEGMENT(SC, O1, O2, O3)                                                         \
    do {                                                                                   \
        if (k4) {                                                                          \
            for (int r = 0; r < 6; r++) rp[r] = rows[r] + (ptrdiff_t)k4 * astep;           \
            idx = -(ptrdiff_t)(k4 * sizeof(float));                                        \
            __asm__ volatile(NB_LOAD_ROWS "1:\n\t" NB_STEP("0", "0", SC) NB_STEP(O1, "64", SC) \
                             NB_STEP(O2, "128", SC) NB_STEP(O3, "192", SC)                 \
                             "add $256, %[b]\n\t"                                          \
                             "add $16, %[i]\n\t"                                           \
                             "jnz 1b\n\t" NB_OPERANDS);                                    \
        }                                                                                  \
        if (k1) {                                                                          \
            for (int r = 0; r < 6; r++) rp[r] = rows[r] + (ptrdiff_t)k * astep;            \
            idx = -(ptrdiff_t)(k1 * sizeof(float));                                        \
            __asm__ volatile(NB_LOAD_ROWS "2:\n\t" NB_STEP("0", "0", SC)                   \
                             "add $64, %[b]\n\t"                                           \
                             "add $4, %[i]\n\t"                                            \
                             "jnz 2b\n\t" NB_OPERANDS);                                    \
        }                                                                                  \
    } while (0)

void nb_f32_conv_bwf_rows_ukernel_6x16__avx2(size_t m, size_t n, size_t nseg, const int64_t *seg,
                                             const float *a, ptrdiff_t lda, ptrdiff_t astep,
                                             const float *b0, float *c, ptrdiff_t ldc, float beta) {
    assert(m >= 1 && m <= 6 && n >= 1 && n <= 16);
    assert(astep == 1 || astep == 2);
    assert(((uintptr_t)b0 & 31) == 0);
    assert(beta == 0.0f || beta == 1.0f);
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (size_t r = 0; r < m; r++) _mm_prefetch((const char *)(c + (ptrdiff_t)r * ldc), _MM_HINT_T0);
    const float *rp[6];
    ptrdiff_t idx;
    for (size_t s = 0; s < nseg; s++) {
        const size_t k = (size_t)seg[3 * s + 2], k4 = k / 4 * 4, k1 = k % 4;
        const float *rows[6];
        for (size_t r = 0; r < 6; r++) rows[r] = a + seg[3 * s] + (ptrdiff_t)(r < m ? r : m - 1) * lda;
        const float *b = b0 + seg[3 * s + 1];
        if (astep == 2) NB_SEGMENT("2", "8", "16", "24");
        else NB_SEGMENT("1", "4", "8", "12");
    }
    nb_avx2_store_6x16(m, n, c, ldc, 1.0f, beta, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41,
                       c50, c51);
}
