/* f32 GEMM micro-kernel, 8x12 tile, AArch64 Advanced SIMD with FMA.
 *
 * C[0:m,0:n] = alpha * A * B + beta * C for one KC block (contract in
 * src/gemm_driver.h): a is a packed A micro-panel (k groups of 8 floats), b a
 * packed B micro-panel (k groups of 12 floats; 16-byte aligned: panels are
 * 48 kc bytes apart, so gemm_driver.h's "64-byte aligned" holds only for the
 * first), C row-major with row stride ldc, any alignment. m <= 8, n <= 12.
 *
 * Register plan (32 V registers of 128 bits):
 *   c[r][0..2]:  rows r = 0..7 -> 24 accumulators (8 rows x 3 vectors of
 *                4 columns);
 *   a0, a1:      the 8 floats of A at step k (two 16-byte loads);
 *   b0, b1, b2:  the 12 floats of B at step k (three 16-byte loads);
 *   29 live, 3 spare for the compiler (addresses live in X registers).
 * Per k step: 5 vector loads (8 + 12 floats = 80 bytes from the packed
 * panels) feed 24 vector FMAs = 96 multiply-adds, i.e. 1.2 multiply-adds
 * (2.4 flops) per byte loaded, 4.8 FMAs per load. A is never broadcast into
 * a register of its own: FMLA (by element), vfmaq_laneq_f32(c, b, a, lane),
 * reads lane `lane` of a0/a1 directly, at the cost of a plain FMLA on
 * Cortex-A7x / Neoverse N1. 24 independent accumulation chains cover the FMA
 * latency on two FMA pipes (4 cycles x 2 pipes = 8 in flight needed), and the
 * 5 loads per 24 FMAs stay well under the two load ports.
 *
 * Why 8x12 rather than 12x8 (the other shape with 24 accumulators and the
 * same 80 bytes per step): a row of the C tile is 12 contiguous floats, three
 * full vector stores, and the tile spans 8 rows of C instead of 12, so the
 * epilogue touches fewer C cache lines and pages per tile; MR = 8 divides the
 * usual M of a network (channel counts), leaving fewer A edge panels; A is
 * packed from row-major A with two 4x4 transposes per 4 k steps.
 *
 * Numerics: each accumulator lane is one element's FMA chain in k order,
 * starting from +0 (FMLA is a fused multiply-add: fma(A[r,k], B[k,j], acc));
 * the epilogue is nb_neon_gemm_epilogue (gemm-neon.h). The chain does not
 * depend on the tile's position or on m, n.
 *
 * Edge tiles (m < 8 or n < 12): the full 8x12 tile is computed (packed panels
 * are zero padded), then the epilogue runs on a stack copy of the valid part
 * of C (loaded only when beta != 0) and only the valid part is written back:
 * C is never read or written outside [0:m,0:n].
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "gemm-neon.h"
#include "ukernel.h"

/* Prefetch distance for the A stream (bytes): A panels come from L2; one
   2-step iteration consumes 64 bytes of A (one cache line), so one prefetch
   per iteration, 8 iterations ahead. */
#define NB_PF_A 512

/* A compiler-only fence between k steps (no instruction is emitted).
   Without it GCC 12's pre-allocation scheduler hoists the next steps' loads
   above this step's FMAs, needs more than 32 V registers and spills
   accumulators to the stack inside the loop (16 stack accesses per 4 steps at
   -O2). With it, and the loop unrolled by 2 (by 4, GCC's allocator adds 4
   register moves per iteration), the loop is exactly the plan: 48 FMLA and
   5 ldp/ldr per step pair, one prefetch, no stack access, no move (checked
   with objdump for gcc 12 and clang 14, generic, -mcpu=cortex-a72 and
   neoverse-n1). Out-of-order A7x/N1 cores overlap the steps in hardware. */
#define NB_STEP_FENCE() __asm__ volatile("" ::: "memory")

#define NB_ROW(r, av, lane)                                        \
    c##r##0 = vfmaq_laneq_f32(c##r##0, b0, av, lane);              \
    c##r##1 = vfmaq_laneq_f32(c##r##1, b1, av, lane);              \
    c##r##2 = vfmaq_laneq_f32(c##r##2, b2, av, lane);

#define NB_STEP(off)                                               \
    do {                                                           \
        const float32x4_t a0 = vld1q_f32(a + (off) * 8);           \
        const float32x4_t a1 = vld1q_f32(a + (off) * 8 + 4);       \
        const float32x4_t b0 = vld1q_f32(b + (off) * 12);          \
        const float32x4_t b1 = vld1q_f32(b + (off) * 12 + 4);      \
        const float32x4_t b2 = vld1q_f32(b + (off) * 12 + 8);      \
        NB_ROW(0, a0, 0) NB_ROW(1, a0, 1) NB_ROW(2, a0, 2) NB_ROW(3, a0, 3) \
        NB_ROW(4, a1, 0) NB_ROW(5, a1, 1) NB_ROW(6, a1, 2) NB_ROW(7, a1, 3) \
        NB_STEP_FENCE();                                           \
    } while (0)

void nb_f32_gemm_ukernel_8x12__neonfma(size_t m, size_t n, size_t k,
                                       const float *restrict a, const float *restrict b,
                                       float *restrict c, ptrdiff_t ldc, float alpha, float beta) {
    assert(m >= 1 && m <= 8 && n >= 1 && n <= 12 && k >= 1);
    assert(((uintptr_t)b & 15) == 0);
    const float32x4_t z = vdupq_n_f32(0.0f);
    float32x4_t c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z;
    float32x4_t c20 = z, c21 = z, c22 = z, c30 = z, c31 = z, c32 = z;
    float32x4_t c40 = z, c41 = z, c42 = z, c50 = z, c51 = z, c52 = z;
    float32x4_t c60 = z, c61 = z, c62 = z, c70 = z, c71 = z, c72 = z;

    /* C is touched once at the end: start fetching it now. */
    for (size_t r = 0; r < m; r++) __builtin_prefetch(c + (ptrdiff_t)r * ldc, 1, 3);

    /* The odd step first (k order is kept), then pairs of steps. */
    for (size_t p = k & 1; p > 0; p--) {
        NB_STEP(0);
        a += 8;
        b += 12;
    }
    for (size_t p = k >> 1; p > 0; p--) {
        __builtin_prefetch((const char *)a + NB_PF_A, 0, 3);
        NB_STEP(0);
        NB_STEP(1);
        a += 16;
        b += 24;
    }

    const float32x4_t valpha = vdupq_n_f32(alpha), vbeta = vdupq_n_f32(beta);
    const int read_c = beta != 0.0f;
    const int full = m == 8 && n == 12;
    _Alignas(16) float tile[8 * 12];
    float *out = c;
    ptrdiff_t ldo = ldc;
    if (!full) {
        out = tile;
        ldo = 12;
        memset(tile, 0, sizeof tile);
        if (read_c)
            for (size_t r = 0; r < m; r++) memcpy(tile + r * 12, c + (ptrdiff_t)r * ldc, n * sizeof(float));
    }
#define NB_OUT(r)                                                                                  \
    vst1q_f32(out + (r) * ldo, nb_neon_gemm_epilogue(c##r##0, valpha, vbeta, out + (r) * ldo, read_c));        \
    vst1q_f32(out + (r) * ldo + 4, nb_neon_gemm_epilogue(c##r##1, valpha, vbeta, out + (r) * ldo + 4, read_c)); \
    vst1q_f32(out + (r) * ldo + 8, nb_neon_gemm_epilogue(c##r##2, valpha, vbeta, out + (r) * ldo + 8, read_c));
    /* On an edge tile rows beyond m hold padding results; computing them
       keeps the code branch-free and they are never copied out. */
    NB_OUT(0) NB_OUT(1) NB_OUT(2) NB_OUT(3) NB_OUT(4) NB_OUT(5) NB_OUT(6) NB_OUT(7)
    if (!full)
        for (size_t r = 0; r < m; r++) memcpy(c + (ptrdiff_t)r * ldc, tile + r * 12, n * sizeof(float));
#undef NB_OUT
}
