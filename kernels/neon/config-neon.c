/* The NEON configuration: every micro-kernel this folder brings, with the
 * blocking it was tuned with. The only entry point of kernels/neon/ that
 * src/ calls (src/isa_ops.c runs the portable drivers over it).
 *
 * Every float32 family is here. The float64 slots (dgemm, dconv2d_*,
 * dreduce) stay on the reference on purpose: they exist for gradient checks
 * and precise oracles, where a plain, obviously correct loop is the point.
 */
#include "conv-neon.h"
#include "reduce-neon.h"
#include "vunary-neon.h"
#include "ukernel.h"

#include <arm_neon.h>

/* GEMM. The NEON SGEMM: the portable driver (src/gemm_driver.c) with the 8x12
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
static const nb_gemm_desc sgemm_desc = {
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

/* Convolution. The NEON float32 convolution slots: the portable driver
 * (src/conv_driver.c, shared with AVX2) with the NEON SGEMM (8x12),
 * im2col / col2im, the NEON fill and a double-accumulating row sum for
 * dbias.
 *
 * Column blocks of ~128 Ki floats (512 KiB): written by im2col and read by
 * the GEMM's B packing while still in L2 (1 MiB on Neoverse-N1 class cores;
 * the AVX2 measurements showed 16 Ki..1 Mi floats within noise). At least
 * 128 output pixels per block so each block's GEMM repays packing the
 * filters. Not timed on AArch64 hardware: tuned values are the AVX2 ones.
 */
static void fill_f32(int64_t n, float v, float *dst) {
    union { float f; uint32_t u; } b = {v};
    nb_x32_fill_ukernel__neon(n, b.u, dst);
}

/* Sum in double (the bias gradient of every convolution path): 16 floats a
   step widened into eight 2-lane double accumulators, so eight add chains
   overlap (V1/V2: 4 FP pipes, FADD latency 2; the two chains this had held
   a plane's dbias to 2 floats a cycle, like the AVX2 one before it); then
   4 floats a step into the first two, the accumulators pairwise
   ((0+1)+(2+3))+((4+5)+(6+7)), the lanes, the tail. A fixed order for a
   given n, whatever the caller's blocking or threads. */
static double rowsum_f64(int64_t n, const float *x) {
    float64x2_t a[8];
    for (int j = 0; j < 8; j++) a[j] = vdupq_n_f64(0.0);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 4; j++) {
            const float32x4_t v = vld1q_f32(x + i + 4 * j);
            a[2 * j] = vaddq_f64(a[2 * j], vcvt_f64_f32(vget_low_f32(v)));
            a[2 * j + 1] = vaddq_f64(a[2 * j + 1], vcvt_high_f64_f32(v));
        }
    for (; i + 4 <= n; i += 4) {
        const float32x4_t v = vld1q_f32(x + i);
        a[0] = vaddq_f64(a[0], vcvt_f64_f32(vget_low_f32(v)));
        a[1] = vaddq_f64(a[1], vcvt_high_f64_f32(v));
    }
    const float64x2_t s = vaddq_f64(vaddq_f64(vaddq_f64(a[0], a[1]), vaddq_f64(a[2], a[3])),
                                    vaddq_f64(vaddq_f64(a[4], a[5]), vaddq_f64(a[6], a[7])));
    double acc = vgetq_lane_f64(s, 0) + vgetq_lane_f64(s, 1);
    for (; i < n; i++) acc += (double)x[i];
    return acc;
}

void nb_neon_config(nb_ukernel_config *cfg) {
    cfg->gemm = sgemm_desc;
    cfg->conv = (nb_conv_desc){
        .pack_b_im2col = nb_f32_packb_im2col_ukernel_12__neon,
        .im2col = nb_x32_im2col_ukernel__neon,
        .col2im = nb_f32_col2im_ukernel__neon,
        .fill = fill_f32,
        .rowsum = rowsum_f64,
        .col_floats = 131072,
        .min_block = 128,
        .min_mnk_per_thread = 65536,   /* the SGEMM's own threshold */
        .wino_in = nb_f32_winoin_ukernel_12__neon,
        .wino_filter = nb_f32_winofilter_ukernel__neon,
        .wino_out = nb_f32_winoout_ukernel_12__neon,
        .wino_bf_dy = nb_f32_winobfdy_ukernel_12__scalar,   /* plain C: see conv_winograd_bwd_filter.c */
        .wino_bf_out = nb_f32_winobfout_ukernel__scalar,
        .dw = {nb_f32_dwconv_fwd_ukernel__neon, nb_f32_dwconv_bwf_ukernel__neon,
               nb_f32_dwconv_bwd_ukernel__scalar, NULL},
    };
    cfg->reduce = (nb_sreduce_ukernels){
        .rsum    = nb_f32_rsum_ukernel__neon_u32,
        .rmax    = nb_f32_rmax_ukernel__neon_u32,
        .rmin    = nb_f32_rmin_ukernel__neon_u32,
        .raddcol = nb_f32_raddcol_ukernel__neon_u16,
        .rmaxcol = nb_f32_rmaxcol_ukernel__neon_u16,
        .rmincol = nb_f32_rmincol_ukernel__neon_u16,
        .raddcol4 = NULL,
        .rmaxcol4 = NULL,
        .rmincol4 = NULL,
        .rrows   = nb_f32_rrows_ukernel__neon_4x8,
    };
    cfg->copy = (nb_copy_ukernels){
        .transpose32 = nb_x32_transpose_ukernel_4x4__neon,
        .fill32      = nb_x32_fill_ukernel__neon,
    };
    cfg->unary[NB_UNARY_EXP] = nb_f32_vexp_ukernel__neon_u8;
    cfg->unary[NB_UNARY_LOG] = nb_f32_vlog_ukernel__neon_u8;
    cfg->unary[NB_UNARY_TANH] = nb_f32_vtanh_ukernel__neon_u8;
    cfg->unary[NB_UNARY_SIGMOID] = nb_f32_vsigmoid_ukernel__neon_u8;
    cfg->unary[NB_UNARY_GELU] = nb_f32_vgelu_ukernel__neon_u8;
    cfg->unary[NB_UNARY_RELU] = nb_f32_vrelu_ukernel__neon_u8;
    cfg->softmax = nb_f32_softmax_ukernel__neon;
    cfg->logsoftmax = nb_f32_logsoftmax_ukernel__neon;
    NB_F32_VBINARY_OPS(NB_F32_VBINARY_SET, NB_ISA_NEON, neon_u8)
    cfg->sgd = nb_f32_sgd_ukernel__neon_u4;
    cfg->adam = nb_f32_adam_ukernel__neon_u4;
    cfg->maxpool = nb_f32_maxpool_ukernel__neon;
    cfg->avgpool = nb_f32_avgpool_ukernel__neon;
    NB_F32_BNORM_SET(neon)
}
