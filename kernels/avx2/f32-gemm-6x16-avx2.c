/* f32 GEMM micro-kernel, 6x16 tile, AVX2+FMA.
 *
 * C[0:m,0:n] = alpha * A * B + beta * C for one KC block (contract in
 * src/gemm_driver.h): a is a packed A micro-panel (k groups of 6 floats, any
 * alignment), b a packed B micro-panel (k groups of 16 floats, 64-byte
 * aligned), C row-major with row stride ldc, any alignment. m <= 6, n <= 16.
 *
 * Register plan (16 YMM): c[r][0..1] for rows r = 0..5 -> 12 accumulators
 * (6 rows x 2 vectors of 8 columns, compiler-assigned among ymm0-12);
 * ymm13, ymm14 = the 16 floats of B at step k (two aligned loads); ymm15 =
 * the broadcast of A[r,k], reused per row. 12 independent FMA chains cover
 * the FMA latency on two FMA pipes (4 cycles x 2 pipes = 8 in flight
 * needed); per k: 2 loads + 6 broadcasts + 12 FMAs; k unrolled by 4 with
 * one prefetch of the A stream per 4 k. Measured on Zen 5 with all panels in
 * L1: 130 GFLOP/s, 98% of a bare 12-chain FMA loop (133 GFLOP/s).
 *
 * Numerics: each accumulator lane is one element's FMA chain in k order,
 * starting from +0; the epilogue is nb_avx2_store_6x16 (gemm-avx2.h). The
 * chain does not depend on the tile's position or on m, n.
 *
 * Edge tiles (m < 6 or n < 16): m <= 4 runs a 4-row loop (rows4), m = 5
 * the full tile (packed panels are zero padded); only rows < m are stored, and a tile narrower
 * than 16 columns runs the epilogue on a stack copy of the valid part of C
 * (loaded only when beta != 0) and writes back only that part: C is never
 * read or written outside [0:m,0:n] (nb_avx2_store_6x16).
 */
#include <assert.h>

#include "gemm-avx2.h"
#include "ukernel.h"

/* Prefetch distance for the A stream (bytes): A panels come from L2. */
#define NB_PF_A "384"

/* One k step at byte offsets A: 24*i, B: 64*i, rows 0..3 only (edge tiles
   with m <= 4). ymm13/14 = B, ymm15 = A. */
#define NB_ASM_STEP4(ao, bo)                                  \
    "vmovaps " bo "(%[b]), %%ymm13\n\t"                       \
    "vmovaps " bo "+32(%[b]), %%ymm14\n\t"                    \
    "vbroadcastss " ao "(%[a]), %%ymm15\n\t"                  \
    "vfmadd231ps %%ymm13, %%ymm15, %[c00]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c01]\n\t"                \
    "vbroadcastss " ao "+4(%[a]), %%ymm15\n\t"                \
    "vfmadd231ps %%ymm13, %%ymm15, %[c10]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c11]\n\t"                \
    "vbroadcastss " ao "+8(%[a]), %%ymm15\n\t"                \
    "vfmadd231ps %%ymm13, %%ymm15, %[c20]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c21]\n\t"                \
    "vbroadcastss " ao "+12(%[a]), %%ymm15\n\t"               \
    "vfmadd231ps %%ymm13, %%ymm15, %[c30]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c31]\n\t"

/* The full 6-row k step: the 4-row one, then rows 4 and 5. */
#define NB_ASM_STEP(ao, bo)                                   \
    NB_ASM_STEP4(ao, bo)                                      \
    "vbroadcastss " ao "+16(%[a]), %%ymm15\n\t"               \
    "vfmadd231ps %%ymm13, %%ymm15, %[c40]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c41]\n\t"                \
    "vbroadcastss " ao "+20(%[a]), %%ymm15\n\t"               \
    "vfmadd231ps %%ymm13, %%ymm15, %[c50]\n\t"                \
    "vfmadd231ps %%ymm14, %%ymm15, %[c51]\n\t"

/* Rows 0..3 of the tile over the whole k (8 accumulators: enough chains for
   two FMA pipes at latency 4): an edge tile of m <= 4 rows costs 2/3 of a
   full one instead of all of it (the last row panel of M = 64, 128, 256,
   and of a convolution's 64 / 128 / 256 filters). Same per-element chains
   as the 6-row loop. */
static inline __attribute__((always_inline))
void rows4(size_t k, const float *a, const float *b, __m256 *c00, __m256 *c01, __m256 *c10,
           __m256 *c11, __m256 *c20, __m256 *c21, __m256 *c30, __m256 *c31) {
    size_t k4 = k / 4, k1 = k % 4;
    if (k4) {
        __asm__ volatile(
            "1:\n\t"
            "prefetcht0 " NB_PF_A "(%[a])\n\t"
            NB_ASM_STEP4("0", "0")
            NB_ASM_STEP4("24", "64")
            NB_ASM_STEP4("48", "128")
            NB_ASM_STEP4("72", "192")
            "add $96, %[a]\n\t"
            "add $256, %[b]\n\t"
            "dec %[n]\n\t"
            "jnz 1b\n\t"
            : [a] "+r"(a), [b] "+r"(b), [n] "+r"(k4),
              [c00] "+x"(*c00), [c01] "+x"(*c01), [c10] "+x"(*c10), [c11] "+x"(*c11),
              [c20] "+x"(*c20), [c21] "+x"(*c21), [c30] "+x"(*c30), [c31] "+x"(*c31)
            :
            : "xmm13", "xmm14", "xmm15", "cc", "memory");
    }
    if (k1) {
        __asm__ volatile(
            "2:\n\t"
            NB_ASM_STEP4("0", "0")
            "add $24, %[a]\n\t"
            "add $64, %[b]\n\t"
            "dec %[n]\n\t"
            "jnz 2b\n\t"
            : [a] "+r"(a), [b] "+r"(b), [n] "+r"(k1),
              [c00] "+x"(*c00), [c01] "+x"(*c01), [c10] "+x"(*c10), [c11] "+x"(*c11),
              [c20] "+x"(*c20), [c21] "+x"(*c21), [c30] "+x"(*c30), [c31] "+x"(*c31)
            :
            : "xmm13", "xmm14", "xmm15", "cc", "memory");
    }
}

void nb_f32_gemm_ukernel_6x16__avx2(size_t m, size_t n, size_t k,
                                    const float *restrict a, const float *restrict b,
                                    float *restrict c, ptrdiff_t ldc, float alpha, float beta) {
    assert(m >= 1 && m <= 6 && n >= 1 && n <= 16 && k >= 1);
    assert(((uintptr_t)b & 31) == 0);
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

    /* C is touched once at the end: start fetching it now. */
    for (size_t r = 0; r < m; r++) _mm_prefetch((const char *)(c + (ptrdiff_t)r * ldc), _MM_HINT_T0);

    /* The k loop is written in assembly: with 12 accumulators + 2 B + 1 A
       live, compilers (gcc 12) reorder the broadcasts of an unrolled
       intrinsics loop and spill accumulators to the stack. The order of the
       FMAs into each accumulator is the k order either way. */
    if (m <= 4) {
        rows4(k, a, b, &c00, &c01, &c10, &c11, &c20, &c21, &c30, &c31);
        nb_avx2_store_6x16(m, n, c, ldc, alpha, beta, c00, c01, c10, c11, c20, c21,
                           c30, c31, c40, c41, c50, c51);
        return;
    }
    size_t k4 = k / 4, k1 = k % 4;
    if (k4) {
        __asm__ volatile(
            "1:\n\t"
            "prefetcht0 " NB_PF_A "(%[a])\n\t"
            NB_ASM_STEP("0", "0")
            NB_ASM_STEP("24", "64")
            NB_ASM_STEP("48", "128")
            NB_ASM_STEP("72", "192")
            "add $96, %[a]\n\t"
            "add $256, %[b]\n\t"
            "dec %[n]\n\t"
            "jnz 1b\n\t"
            : [a] "+r"(a), [b] "+r"(b), [n] "+r"(k4),
              [c00] "+x"(c00), [c01] "+x"(c01), [c10] "+x"(c10), [c11] "+x"(c11),
              [c20] "+x"(c20), [c21] "+x"(c21), [c30] "+x"(c30), [c31] "+x"(c31),
              [c40] "+x"(c40), [c41] "+x"(c41), [c50] "+x"(c50), [c51] "+x"(c51)
            :
            : "xmm13", "xmm14", "xmm15", "cc", "memory");
    }
    if (k1) {
        __asm__ volatile(
            "2:\n\t"
            NB_ASM_STEP("0", "0")
            "add $24, %[a]\n\t"
            "add $64, %[b]\n\t"
            "dec %[n]\n\t"
            "jnz 2b\n\t"
            : [a] "+r"(a), [b] "+r"(b), [n] "+r"(k1),
              [c00] "+x"(c00), [c01] "+x"(c01), [c10] "+x"(c10), [c11] "+x"(c11),
              [c20] "+x"(c20), [c21] "+x"(c21), [c30] "+x"(c30), [c31] "+x"(c31),
              [c40] "+x"(c40), [c41] "+x"(c41), [c50] "+x"(c50), [c51] "+x"(c51)
            :
            : "xmm13", "xmm14", "xmm15", "cc", "memory");
    }

    nb_avx2_store_6x16(m, n, c, ldc, alpha, beta, c00, c01, c10, c11, c20, c21,
                       c30, c31, c40, c41, c50, c51);
}
