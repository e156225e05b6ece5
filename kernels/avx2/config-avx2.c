/* The AVX2 configuration: every micro-kernel this folder brings, with the
 * blocking it was tuned with. The only entry point of kernels/avx2/ that
 * src/ calls (src/isa_ops.c runs the portable drivers over it).
 *
 * Every float32 family is here. The float64 slots (dgemm, dconv2d_*,
 * dreduce) stay on the reference on purpose: they exist for gradient checks
 * and precise oracles, where a plain, obviously correct loop is the point.
 */
#include "conv-avx2.h"
#include "reduce-avx2.h"
#include "vunary-avx2.h"
#include "ukernel.h"

#include <immintrin.h>

/* GEMM. The AVX2+FMA SGEMM: the portable driver (src/gemm_driver.c) with the 6x16
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
static const nb_gemm_desc sgemm_desc = {
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

/* Convolution. The AVX2 float32 convolution slots: the portable driver (src/conv_driver.c)
 * with the AVX2 SGEMM, im2col / col2im, fill and a double-accumulating row
 * sum for dbias.
 *
 * Column blocks of ~128 Ki floats (512 KiB): a block of the column matrix is
 * written by im2col and read right away by the GEMM's B packing while still
 * in L2 (1 MiB per core on the machine the SGEMM was tuned on), and the
 * scratch stays bounded whatever the image size. At least 128 output pixels
 * per block, so each block's GEMM has enough 16-column panels to repay
 * packing its A (the filters), and stays off the no-pack small-N path
 * (N <= 96), which re-reads a large A per 16 columns.
 * Measured (1 thread, CPU time, the four bench layers): blocks of 16 Ki to
 * 1 Mi floats and the whole column matrix at once are all within +-5% (the
 * noise of this shared machine); the ~10% that im2col costs is copying, not
 * cache misses.
 */
static void fill_f32(int64_t n, float v, float *dst) {
    union { float f; uint32_t u; } b = {v};
    nb_x32_fill_ukernel__avx2(n, b.u, dst);
}

/* Sum in double (the bias gradient of every convolution path): 32 floats a
   step widened into eight 4-lane double accumulators, so eight add chains
   overlap (one chain of 4-cycle adds held a depthwise plane's dbias to 2
   floats a cycle); then 8 floats a step into the first, the accumulators
   pairwise ((0+1)+(2+3))+((4+5)+(6+7)), the lanes, the tail. A fixed order
   for a given n, whatever the caller's blocking or threads (the AVX-512
   configuration's twin, config-avx512.c, keeps it). Each 4-float half is
   its own 128-bit load into vcvtps2pd: widening is a port-5 uop and a
   vextractf128 would be a second one (port 5 set the pace, 3 uops per 8
   floats: a depthwise plane's dbias cost a third of its filter gradient). */
static double rowsum_f64(int64_t n, const float *x) {
    __m256d a[8];
    for (int j = 0; j < 8; j++) a[j] = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int j = 0; j < 8; j++) a[j] = _mm256_add_pd(a[j], _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4 * j)));
    for (; i + 8 <= n; i += 8) {
        a[0] = _mm256_add_pd(a[0], _mm256_cvtps_pd(_mm_loadu_ps(x + i)));
        a[1] = _mm256_add_pd(a[1], _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)));
    }
    const __m256d s = _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(a[0], a[1]), _mm256_add_pd(a[2], a[3])),
                                    _mm256_add_pd(_mm256_add_pd(a[4], a[5]), _mm256_add_pd(a[6], a[7])));
    double lanes[4];
    _mm256_storeu_pd(lanes, s);
    double acc = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    for (; i < n; i++) acc += (double)x[i];
    return acc;
}

void nb_avx2_config(nb_ukernel_config *cfg) {
    cfg->gemm = sgemm_desc;
    cfg->conv = (nb_conv_desc){
        .pack_b_im2col = nb_f32_packb_im2col_ukernel_16__avx2,
        .im2col = nb_x32_im2col_ukernel__avx2,
        .col2im = nb_f32_col2im_ukernel__avx2,
        .direct = nb_f32_conv_direct_ukernel_8x48__avx2,
        .fill = fill_f32,
        .rowsum = rowsum_f64,
        .col_floats = 131072,
        .min_block = 128,
        .min_mnk_per_thread = 65536,   /* the SGEMM's own threshold */
        .wino_in = nb_f32_winoin_ukernel_16__avx2,
        .wino_filter = nb_f32_winofilter_ukernel__avx2,
        .wino_out = nb_f32_winoout_ukernel_16__avx2,
        .wino_bf_dy = nb_f32_winobfdy_ukernel_16__avx2,
        .wino_bf_out = nb_f32_winobfout_ukernel__avx2,
        .dw = {nb_f32_dwconv_fwd_ukernel__avx2, nb_f32_dwconv_bwf_ukernel__avx2,
               nb_f32_dwconv_bwd_ukernel__scalar, NULL},
    };
    /* 1x1 stride 1 forward and data-gradient passes: the 4x24 tile on the
       image in place (src/conv_pointwise.c; same KC cuts and FMA chains as
       the SGEMM, same bits). */
    cfg->conv.pw = (nb_pwconv_ukernel){nb_f32_pwconv_ukernel_4x24__avx2, 4, 24, 128};
    /* 3x3 stride-2 backward-data, broadcast orientation (conv_bwd_data_phase.c) */
    cfg->conv.bdata_s2 = (nb_conv_bdata_s2_ukernel){nb_f32_conv_bdata_s2_ukernel_8x6__avx2, 8, 6,
                                                    nb_f32_conv_bdata_s2_pack_8__avx2};
    /* The broadcast-orientation direct forward tile (src/conv_bcast.c). */
    cfg->conv.bcast = (nb_conv_bcast_ukernel){nb_f32_conv_bcast_ukernel_6x16__avx2,
                                              nb_f32_conv_bcast_pad__avx2, 6, 16, 64, 0};
    /* backward-filter, 1x1 with 17..24 filters: the 6x16 tile would leave
       a quarter of its lanes empty (src/conv_bwd_filter_narrow.c) */
    cfg->conv.bwf_narrow.fn = nb_f32_gemm_ukernel_4x24__avx2_adirect;
    cfg->conv.bwf_narrow.mr = 4;
    cfg->conv.bwf_narrow.nr = 24;
    cfg->conv.bwf_narrow.pack_b = NULL;   /* no 24-wide packer: the transpose packs */
    /* backward-filter, stride 2: x read in place by the 6x16 tile (conv_bwd_filter_rows.c) */
    cfg->conv.bwf_rows.fn = nb_f32_conv_bwf_rows_ukernel_6x16__avx2;
    cfg->conv.bwf_rows.mr = 6;
    cfg->conv.bwf_rows.nr = 16;
    cfg->reduce = (nb_sreduce_ukernels){
        .rsum    = nb_f32_rsum_ukernel__avx2_u32,
        .rmax    = nb_f32_rmax_ukernel__avx2_u32,
        .rmin    = nb_f32_rmin_ukernel__avx2_u32,
        .raddcol = nb_f32_raddcol_ukernel__avx2_u32,
        .rmaxcol = nb_f32_rmaxcol_ukernel__avx2_u32,
        .rmincol = nb_f32_rmincol_ukernel__avx2_u32,
        .raddcol4 = nb_f32_raddcol4_ukernel__avx2_u16,
        .rmaxcol4 = nb_f32_rmaxcol4_ukernel__avx2_u16,
        .rmincol4 = nb_f32_rmincol4_ukernel__avx2_u16,
        .rrows   = nb_f32_rrows_ukernel__avx2_8x8,
    };
    cfg->copy = (nb_copy_ukernels){
        .transpose32 = nb_x32_transpose_ukernel_8x8__avx2,
        .fill32      = nb_x32_fill_ukernel__avx2,
    };
    cfg->unary[NB_UNARY_EXP] = nb_f32_vexp_ukernel__avx2_u16;
    cfg->unary[NB_UNARY_LOG] = nb_f32_vlog_ukernel__avx2_u16;
    cfg->unary[NB_UNARY_TANH] = nb_f32_vtanh_ukernel__avx2_u16;
    cfg->unary[NB_UNARY_SIGMOID] = nb_f32_vsigmoid_ukernel__avx2_u16;
    cfg->unary[NB_UNARY_GELU] = nb_f32_vgelu_ukernel__avx2_u16;
    cfg->unary[NB_UNARY_RELU] = nb_f32_vrelu_ukernel__avx2_u16;
    cfg->softmax = nb_f32_softmax_ukernel__avx2;
    cfg->logsoftmax = nb_f32_logsoftmax_ukernel__avx2;
    NB_F32_VBINARY_OPS(NB_F32_VBINARY_SET, NB_ISA_AVX2, avx2_u16)
    cfg->sgd = nb_f32_sgd_ukernel__avx2_u8;
    cfg->adam = nb_f32_adam_ukernel__avx2_u8;
    cfg->maxpool = nb_f32_maxpool_ukernel__avx2;
    cfg->avgpool = nb_f32_avgpool_ukernel__avx2;
    NB_F32_BNORM_SET(avx2)
}
