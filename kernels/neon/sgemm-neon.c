/* The NEON SGEMM: the portable driver (src/gemm_driver.c) with the 8x12
 * FMA micro-kernel, its packing routines and the no-pack small-M kernel.
 *
 * Cache blocking for a typical Neoverse-N1 / Cortex-A76..A78 core (64 KiB
 * 4-way L1d, 1 MiB private 8-way L2, a few MiB of shared L3 or system cache
 * per cluster), BLIS's analysis (Low et al., "Analytical modeling is enough
 * for high-performance BLIS"):
 *   KC: the B micro-panel (KC x 12 floats = 48 KC bytes) stays in L1 while
 *       the A micro-panels (KC x 8 floats = 32 KC bytes) stream past it, the
 *       next one prefetched while the current one is used: 48 KC + 2 x 32 KC
 *       = 112 KC bytes. KC = 256 -> 28 KiB, under half of a 64 KiB L1, so
 *       the 4-way set conflicts of three streams plus the C tile cannot evict
 *       B; it also still fits a 32 KiB L1 (Cortex-A72/A73). The model's
 *       upper limit for 64 KiB (one way, 16 KiB, for an A micro-panel) would
 *       be KC = 512, with no slack. KC also fixes the rounding (C is updated
 *       once per KC block), so it is a constant of the ISA, never adapted to
 *       the problem; at 256 the C round trip per block is 384 bytes per
 *       20 KiB of panels streamed (< 2 %).
 *   MC: the packed A block (MC x KC floats = MC KiB) in a quarter of L2,
 *       beside the B micro-panels coming in from the B block and the C tiles:
 *       MC = 256 (256 KiB); each B micro-panel is then reused by MC / 8 = 32
 *       micro-kernel calls once it is in L1. MC is a multiple of 8.
 *   NC: the packed B block (KC x NC floats = NC KiB) in the shared L3 / SLC,
 *       which all threads read when they split rows: NC = 3072 (3 MiB); NC is
 *       a multiple of 12.
 * None of this could be measured here (the NEON path is only run under
 * qemu-aarch64, which says nothing about speed): revisit on hardware with
 * bench/bench_gemm.cc, as was done for AVX2. The same holds for the thread
 * threshold, taken from AVX2 (a core with half the FMA width runs each
 * problem about twice as long, so the threshold errs on the side of fewer
 * threads).
 */
#include "gemm_ukernels.h"

const nb_gemm_desc nb_neon_sgemm_desc = {
    .mr = 8,
    .nr = 12,
    .mc = 256,
    .kc = 256,
    .nc = 3072,
    .ukernel = nb_f32_gemm_ukernel_8x12__neonfma,
    .pack_a = nb_f32_packa_ukernel_8__neon,
    .pack_b = nb_f32_packb_ukernel_12__neon,
    /* No A-in-place tile and no B^T row path yet (NULL: the driver packs). */
    .rows = nb_f32_gemm_ukernel_4xn__neonfma_nopack,
    .rows_mr = 4,
    .rows_max_m = 4,            /* unmeasured: AVX2 measured its crossover at 32 */
    .rows_max_n = 1024,         /* the kernel's stack tile holds 4 x 1024 floats */
    .min_mnk_per_thread = 64 * 64 * 64,
};

nb_status nb_neon_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                        float alpha, const float *A, int64_t lda,
                        const float *B, int64_t ldb,
                        float beta, float *C, int64_t ldc) {
    return nb_gemm_driver_run(&nb_neon_sgemm_desc, trans_a, trans_b, M, N, K,
                              alpha, A, lda, B, ldb, beta, C, ldc);
}
