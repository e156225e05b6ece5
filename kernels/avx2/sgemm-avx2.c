/* The AVX2+FMA SGEMM: the portable driver (src/gemm_driver.c) with the 6x16
 * micro-kernel, its packing routines and the no-pack small-M kernel.
 *
 * Cache blocking for the machine this was tuned on (AMD EPYC Zen 5: 48 KiB
 * L1d, 1 MiB L2 per core, 32 MiB shared L3), BLIS's analysis:
 *   KC: the B micro-panel (KC x 16 floats = 64 KC bytes) stays in L1 while
 *       the A micro-panels (KC x 6 = 24 KC bytes) stream past it:
 *       88 KC <= ~half of 48 KiB -> KC = 256 (16 KiB + 6 KiB). KC also fixes
 *       the rounding (C is updated once per KC block), so it is a constant of
 *       the ISA, never adapted to the problem.
 *   MC: the packed A block (MC x KC floats) in about half of L2 beside the B
 *       panels that pass through: MC x 1 KiB <= 512 KiB; MC a multiple of 6.
 *   NC: the packed B block (KC x NC floats) in L3 with room for the other
 *       core: 256 x 4080 x 4 B = 4 MiB; NC a multiple of 16.
 * The values were then checked by measurement (bench/bench_gemm.cc): on
 * this machine MC in 72..336 and KC in 192..512 all land within 3% (the
 * 6x16 kernel runs at ~97% of the FMA throughput, and the B panel / A block
 * fit comfortably), so the BLIS-style values were kept.
 *
 * Small M (<= 32, B not transposed) skips packing altogether: the no-pack
 * kernel keeps 4 rows of accumulators in an L1 tile and streams B rows; it
 * beats pack-then-compute for M up to ~48 (measured: M = 8, N = K = 1024:
 * 119 vs 57 GFLOP/s; M = 32: 120 vs 100; M = 64: 116 vs 117) and runs a
 * GEMV (M = 1, 4096 x 4096) at memory bandwidth. 512 columns per call keep
 * a 256 x 512 block of B (512 KiB) in L2 for the row groups.
 * B transposed (x W^T of a linear layer) with M <= 4 streams B's rows in
 * place too, transposing 8x8 blocks in registers (M = 1, 4096 x 4096: ~2x
 * the packed path; from M = 8 on, packing wins).
 * N <= 96 with A not transposed reads A in place (adirect): packing an A
 * block pays off only when enough 16-column panels reuse it.
 */
#include "gemm_ukernels.h"

const nb_gemm_desc nb_avx2_sgemm_desc = {
    .mr = 6,
    .nr = 16,
    .mc = 168,
    .kc = 256,
    .nc = 4080,
    .ukernel = nb_f32_gemm_ukernel_6x16__avx2,
    .pack_a = nb_f32_packa_ukernel_6__avx2,
    .pack_b = nb_f32_packb_ukernel_16__avx2,
    .ukernel_adirect = nb_f32_gemm_ukernel_6x16__avx2_adirect,
    .adirect_max_n = 96,
    .rows = nb_f32_gemm_ukernel_4xn__avx2_nopack,
    .rows_mr = 4,
    .rows_max_m = 32,
    .rows_max_n = 512,
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
