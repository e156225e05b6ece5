/* The AVX2+FMA SGEMM: the portable driver (src/gemm_driver.c) with the 6x16
 * micro-kernel, its packing routines and the no-pack small-M kernel.
 *
 * Cache blocking for the machine this was tuned on (AMD EPYC Zen 5: 48 KiB
 * L1d, 1 MiB L2 per core, 32 MiB shared L3), BLIS's analysis:
 *   KC: the B micro-panel (KC x 16 floats = 64 KC bytes) stays in L1 while
 *       the A micro-panels (KC x 6 = 24 KC bytes) stream past it:
 *       88 KC <= ~2/3 of 48 KiB -> KC = 384 (24 KiB + 9 KiB). KC also fixes
 *       the rounding (C is updated once per KC block), so it is a constant of
 *       the ISA, never adapted to the problem.
 *   MC: the packed A block (MC x KC floats) in about a quarter of L2 beside
 *       the B panels passing through: 168 x 384 x 4 B = 252 KiB; MC a
 *       multiple of 6.
 *   NC: the packed B block (KC x NC floats) in L3 with room for the other
 *       core: 384 x 4080 x 4 B = 6 MiB of 32 MiB; NC a multiple of 16.
 * Measured (1 thread, GFLOP/s, CPU time, best of several, on a busy
 * machine): MC from 72 to 336 changes nothing beyond noise; KC = 384 was
 * 1-3% faster than 256 on 256^3..1024^3 and the im2col shape, KC = 512 no
 * better than 384. The 6x16 kernel itself runs at ~98% of a bare FMA loop,
 * so blocking only has to keep it fed.
 *
 * Small M (<= 32, B not transposed) skips packing altogether: the no-pack
 * kernel keeps 4 rows of accumulators in an L1 tile and streams B rows; it
 * beats pack-then-compute for M up to ~48 (measured: M = 8, N = K = 1024:
 * 119 vs 57 GFLOP/s; M = 32: 120 vs 100; M = 64: 116 vs 117) and runs a
 * GEMV (M = 1, 4096 x 4096) at memory bandwidth. 512 columns per call keep
 * a 384 x 512 block of B (768 KiB) in L2 for the row groups (measured
 * better than 256 or 128 columns).
 * B transposed (x W^T of a linear layer) with M <= 4 streams B's rows in
 * place too, transposing 8x8 blocks in registers (M = 1, 4096 x 4096: ~2x
 * the packed path; from M = 8 on, packing wins).
 * N <= 128 with A not transposed and K >= 256 reads A in place (adirect):
 * packing an A block pays off only when enough 16-column panels reuse it,
 * and for short K the packed kernel's smaller per-call setup wins
 * (measured: 3136x128x576 129 vs 123 GFLOP/s; 64^3 and 3000x64x64 are 3%
 * faster packed).
 */
#include "gemm_ukernels.h"

const nb_gemm_desc nb_avx2_sgemm_desc = {
    .mr = 6,
    .nr = 16,
    .mc = 168,
    .kc = 384,
    .nc = 4080,
    .ukernel = nb_f32_gemm_ukernel_6x16__avx2,
    .pack_a = nb_f32_packa_ukernel_6__avx2,
    .pack_b = nb_f32_packb_ukernel_16__avx2,
    .ukernel_adirect = nb_f32_gemm_ukernel_6x16__avx2_adirect,
    .adirect_max_n = 128,
    .adirect_min_k = 256,
    .rows = nb_f32_gemm_ukernel_4xn__avx2_nopack,
    .rows_mr = 4,
    .rows_max_m = 32,
    .rows_max_n = 512,
    .rows1_max_n = 4096,        /* the kernel's stack tile as one row */
    .rows_bt = nb_f32_gemm_ukernel_4xn__avx2_nopack_bt,
    .rows_bt_max_m = 4,
    .rows_bt_n = 32,
    /* Measured (cubes, 1 vs 2 threads, warm OpenMP pool): 2 threads lose at
       32^3, break even at ~48^3 and give 1.7x at 64^3; so a second thread
       from M*N*K >= 2 * 65536 (~51^3). */
    .min_mnk_per_thread = 65536,
};

nb_status nb_avx2_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                        float alpha, const float *A, int64_t lda,
                        const float *B, int64_t ldb,
                        float beta, float *C, int64_t ldc) {
    return nb_gemm_driver_run(&nb_avx2_sgemm_desc, trans_a, trans_b, M, N, K,
                              alpha, A, lda, B, ldb, beta, C, ldc);
}
