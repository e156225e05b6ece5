/* The AVX-512 (x86-64-v4) configuration: the AVX2 configuration (every
 * x86-64-v4 CPU runs it), with the micro-kernels this folder brings in its
 * place. So far: the 14x16 GEMM tile and its A packer, the elementwise
 * functions (SLEEF avx512f, 16 lanes), the softmax rows and the depthwise
 * convolution kernels (the AVX2 ones' bits, src/ukernel_dwconv.h).
 *
 * GEMM blocking: the AVX2 tile's KC (384) and panel width (16), so the B
 * packer, the no-pack row kernels and the implicit-im2col convolution
 * packer of AVX2 serve unchanged, and every result has the AVX2 path's
 * bits (same KC blocks, same per-element FMA chains). MC = 168 = 12 row
 * panels of 14 (the A block, 252 KiB, stays in L2); NC = 4080. The AVX2
 * A-in-place tile is 6 rows high: not used with a 14-row tile.
 */
#include "ukernel.h"

void nb_avx512_config(nb_ukernel_config *cfg) {
    nb_avx2_config(cfg);
    cfg->gemm.mr = 14;
    cfg->gemm.nr = 16;
    cfg->gemm.mc = 168;
    cfg->gemm.kc = 384;
    cfg->gemm.nc = 4080;
    cfg->gemm.ukernel = nb_f32_gemm_ukernel_14x16__avx512;
    cfg->gemm.pack_a = nb_f32_packa_ukernel_14__avx512;
    cfg->gemm.ukernel_adirect = NULL;
    cfg->unary[NB_UNARY_EXP] = nb_f32_vexp_ukernel__avx512_u32;
    cfg->unary[NB_UNARY_LOG] = nb_f32_vlog_ukernel__avx512_u32;
    cfg->unary[NB_UNARY_TANH] = nb_f32_vtanh_ukernel__avx512_u32;
    cfg->unary[NB_UNARY_SIGMOID] = nb_f32_vsigmoid_ukernel__avx512_u32;
    cfg->unary[NB_UNARY_GELU] = nb_f32_vgelu_ukernel__avx512_u32;
    cfg->unary[NB_UNARY_RELU] = nb_f32_vrelu_ukernel__avx512_u32;
    cfg->softmax = nb_f32_softmax_ukernel__avx512;
    cfg->logsoftmax = nb_f32_logsoftmax_ukernel__avx512;
    cfg->conv.dw.fwd = nb_f32_dwconv_fwd_ukernel__avx512;
    cfg->conv.dw.bwf = nb_f32_dwconv_bwf_ukernel__avx512;
}
