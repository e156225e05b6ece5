/* f32 GEMM micro-kernel, 6x16 tile, AVX2+FMA, A read in place (not packed).
 *
 * As nb_f32_gemm_ukernel_6x16__avx2 (same register plan, same FMA order,
 * same epilogue, hence the same bits), except that A is op(A) = A stored
 * row-major: element (r, p) at a[r*lda + p]. Used by the driver when packing
 * A would not pay for itself (few columns of C reuse each A panel, e.g. the
 * 3136x64x576 im2col GEMM or 64^3): each k reads one float from each of the
 * 6 rows (6 sequential streams, L1/L2 resident within a KC block).
 *
 * Edge tiles: rows r >= m are never read; their row pointer is clamped to
 * row m-1 (the duplicate results are discarded by the edge epilogue).
 */
#include <assert.h>

#include "gemm-avx2.h"
#include "ukernel.h"

/* One k step: B at byte offset bo of the packed panel, A at byte offset ao
   from each row pointer plus the running index. */
#define NB_ASM_STEP_D(ao, bo)                                 \
    "vmovaps " bo "(%[b]), %%ymm13\n\t"                       \
    "vmovaps " bo "+32(%[b]), %%ymm14\n\t"                    \
    "vbroadcastss " ao "(%%r8,%[i]), %%ymm15\n\t"            \
    "vfmadd231ps %%ymm13, %%ymm15, %[c00]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c01]\n\t"                \
    "vbroadcastss " ao "(%%r9,%[i]), %%ymm15\n\t"            \
    "vfmadd231ps %%ymm13, %%ymm15, %[c10]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c11]\n\t"                \
    "vbroadcastss " ao "(%%r10,%[i]), %%ymm15\n\t"            \
    "vfmadd231ps %%ymm13, %%ymm15, %[c20]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c21]\n\t"                \
    "vbroadcastss " ao "(%%r11,%[i]), %%ymm15\n\t"            \
    "vfmadd231ps %%ymm13, %%ymm15, %[c30]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c31]\n\t"                \
    "vbroadcastss " ao "(%%r12,%[i]), %%ymm15\n\t"            \
    "vfmadd231ps %%ymm13, %%ymm15, %[c40]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c41]\n\t"                \
    "vbroadcastss " ao "(%%r13,%[i]), %%ymm15\n\t"            \
    "vfmadd231ps %%ymm13, %%ymm15, %[c50]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c51]\n\t"

/* asm allows 30 operands and the 12 accumulators take 24, so the six row
   pointers travel in an array and live in r8..r13; i is a negative byte
   offset that counts up to 0 (the rows point at the end of the k range). */
#define NB_LOAD_ROWS                                                                       \
    "mov (%[rp]), %%r8\n\tmov 8(%[rp]), %%r9\n\tmov 16(%[rp]), %%r10\n\t"                  \
    "mov 24(%[rp]), %%r11\n\tmov 32(%[rp]), %%r12\n\tmov 40(%[rp]), %%r13\n\t"
#define NB_OPERANDS_D                                                                      \
    : [i] "+r"(idx), [b] "+r"(b),                                                          \
      [c00] "+x"(c00), [c01] "+x"(c01), [c10] "+x"(c10), [c11] "+x"(c11),                  \
      [c20] "+x"(c20), [c21] "+x"(c21), [c30] "+x"(c30), [c31] "+x"(c31),                  \
      [c40] "+x"(c40), [c41] "+x"(c41), [c50] "+x"(c50), [c51] "+x"(c51)                   \
    : [rp] "r"(rp)                                                                         \
    : "r8", "r9", "r10", "r11", "r12", "r13", "xmm13", "xmm14", "xmm15", "cc", "memory"

void nb_f32_gemm_ukernel_6x16__avx2_adirect(size_t m, size_t n, size_t k,
                                            const float *restrict a, ptrdiff_t lda,
                                            const float *restrict b,
                                            float *restrict c, ptrdiff_t ldc, float alpha, float beta) {
    assert(m >= 1 && m <= 6 && n >= 1 && n <= 16 && k >= 1);
    assert(((uintptr_t)b & 31) == 0);
    const float *rows[6];
    for (size_t r = 0; r < 6; r++) rows[r] = a + (ptrdiff_t)(r < m ? r : m - 1) * lda;
    const float *rp[6];
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

    for (size_t r = 0; r < m; r++) _mm_prefetch((const char *)(c + (ptrdiff_t)r * ldc), _MM_HINT_T0);

    const size_t k4 = k / 4 * 4, k1 = k % 4;
    ptrdiff_t idx;
    if (k4) {
        for (int r = 0; r < 6; r++) rp[r] = rows[r] + k4;
        idx = -(ptrdiff_t)(k4 * sizeof(float));
        __asm__ volatile(
            NB_LOAD_ROWS
            "1:\n\t"
            NB_ASM_STEP_D("0", "0")
            NB_ASM_STEP_D("4", "64")
            NB_ASM_STEP_D("8", "128")
            NB_ASM_STEP_D("12", "192")
            "add $256, %[b]\n\t"
            "add $16, %[i]\n\t"
            "jnz 1b\n\t"
            NB_OPERANDS_D);
    }
    if (k1) {
        for (int r = 0; r < 6; r++) rp[r] = rows[r] + k;
        idx = -(ptrdiff_t)(k1 * sizeof(float));
        __asm__ volatile(
            NB_LOAD_ROWS
            "2:\n\t"
            NB_ASM_STEP_D("0", "0")
            "add $64, %[b]\n\t"
            "add $4, %[i]\n\t"
            "jnz 2b\n\t"
            NB_OPERANDS_D);
    }

    nb_avx2_store_6x16(m, n, c, ldc, alpha, beta, c00, c01, c10, c11, c20, c21,
                       c30, c31, c40, c41, c50, c51);
}
