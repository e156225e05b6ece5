/* Expands the micro-kernel registry of every ISA this build has (private;
 * no include guard: include it once per expansion).
 *
 * Each kernels/<isa>/ukernels.def lists its ISA's micro-kernels, one line
 * each, by kind (its function type in src/ukernel.h) and shape. Define the
 * NB_UK_* kinds you want before including this file; the others expand to
 * nothing. While an ISA's lines expand, NB_UK_ISA is its nb_isa value. All
 * NB_UK_* macros are undefined afterwards.
 *
 *   NB_UK_GEMM(fn, mr, nr)          packed mr x nr tile      (nb_gemm_ukernel_ft)
 *   NB_UK_GEMM_ADIRECT(fn, mr, nr)  the tile reading A in place
 *   NB_UK_GEMM_DIRECT(fn, mr, nr)   the tile reading A and B in place
 *   NB_UK_PACKA(fn, mr)             A packer                 (nb_gemm_pack_a_ft)
 *   NB_UK_PACKB(fn, nr)             B packer                 (nb_gemm_pack_b_ft)
 *   NB_UK_GEMM_ROWS(fn, mr)         no-pack small-M rows     (nb_gemm_rows_ft)
 *   NB_UK_GEMM_ROWS_BT(fn, mr)      the same with B^T        (nb_gemm_rows_bt_ft)
 *   NB_UK_IM2COL(fn), NB_UK_COL2IM(fn), NB_UK_PACKB_IM2COL(fn, nr)   conv pieces
 *   NB_UK_RSUM(fn), NB_UK_RPICK(fn, is_max), NB_UK_RCOL(fn, op), NB_UK_RCOL4(fn, op), NB_UK_RROWS(fn)
 *                                   reduction rows and columns (op: 0 sum, 1 max, 2 min)
 *   NB_UK_TRANSPOSE32(fn, tile), NB_UK_FILL32(fn)                    copies
 *   NB_UK_VUNARY(fn, op, unroll)    y = f(x), op an nb_unary_op
 *   NB_UK_SOFTMAX(fn, log)          one softmax / log-softmax row
 *   NB_UK_VBINARY(tag)              the 24 binary-row micro-kernels of one tag
 *                                   (NB_F32_VBINARY_OPS in src/ukernel.h)
 *   NB_UK_OPTIM(tag)                nb_f32_sgd_ukernel__<tag>, nb_f32_adam_ukernel__<tag>
 *   NB_UK_MAXPOOL(fn), NB_UK_AVGPOOL(fn)   one 2-D pooling output row (nb_f32_*pool_row_ft)
 *   NB_UK_MAXPOOL_BWD(fn)           the max-pool backward of one output row's band
 *   NB_UK_MAXPOOL2(fwd, bwd)        MaxPool2d(2) over whole planes, forward and backward
 *   NB_UK_BNORM(tag)                nb_f32_bn{sum,sqdev,gsums,affine}_ukernel__<tag>, the
 *                                   batch-norm rows (src/ukernel_bnorm.h)
 *   NB_UK_PEAK(fn, flops_per_iter)  the ISA's FMA peak probe (nb_fma_peak_ft), for
 *                                   `nabla bench` and the benchmarks' "% of peak"
 *   NB_UK_WINO_IN(fn, lanes), NB_UK_WINO_FILTER(fn), NB_UK_WINO_OUT(fn, lanes),
 *   NB_UK_WINO_BFDY(fn, lanes), NB_UK_WINO_BFOUT(fn)
 *                                   Winograd F(4x4, 3x3) transforms (lanes tiles per call)
 *   NB_UK_DWCONV_FWD(fn), NB_UK_DWCONV_BWF(fn), NB_UK_DWCONV_BWD(fn)
 *                                   depthwise forward, backward-filter, backward-data
 *                                   scatter (src/ukernel_dwconv.h)
 *   NB_UK_DWCONV_BWF_SUM(fn)        depthwise backward-filter with the row sum of dy
 *                                   (the bias gradient) in the same walk
 *   NB_UK_PWCONV(fn, mr, nr)        pointwise (1x1) mr x nr tile on the image in place
 *                                   (src/ukernel_pwconv.h)
 *   NB_UK_CONV_DIRECT_BWF(fn)       the few-channel direct backward-filter tile
 *                                   (nb_conv_direct_bwf_ft, src/ukernel_convdirect.h)
 *   NB_UK_CONV_DIRECT(fn)           the few-channel direct forward tile
 *                                   (nb_conv_direct_ft, src/ukernel_convdirect.h)
 * The plain-C micro-kernels (kernels/generic/ukernels.def, NB_UK_ISA =
 * NB_ISA_REF) expand first.
 */

#ifndef NB_UK_GEMM
#define NB_UK_GEMM(fn, mr, nr)
#endif
#ifndef NB_UK_GEMM_ADIRECT
#define NB_UK_GEMM_ADIRECT(fn, mr, nr)
#endif
#ifndef NB_UK_GEMM_DIRECT
#define NB_UK_GEMM_DIRECT(fn, mr, nr)
#endif
#ifndef NB_UK_PACKA
#define NB_UK_PACKA(fn, mr)
#endif
#ifndef NB_UK_PACKB
#define NB_UK_PACKB(fn, nr)
#endif
#ifndef NB_UK_GEMM_ROWS
#define NB_UK_GEMM_ROWS(fn, mr)
#endif
#ifndef NB_UK_GEMM_ROWS_BT
#define NB_UK_GEMM_ROWS_BT(fn, mr)
#endif
#ifndef NB_UK_IM2COL
#define NB_UK_IM2COL(fn)
#endif
#ifndef NB_UK_COL2IM
#define NB_UK_COL2IM(fn)
#endif
#ifndef NB_UK_PACKB_IM2COL
#define NB_UK_PACKB_IM2COL(fn, nr)
#endif
#ifndef NB_UK_RSUM
#define NB_UK_RSUM(fn)
#endif
#ifndef NB_UK_RPICK
#define NB_UK_RPICK(fn, is_max)
#endif
#ifndef NB_UK_RCOL
#define NB_UK_RCOL(fn, op)
#endif
#ifndef NB_UK_RCOL4
#define NB_UK_RCOL4(fn, op)
#endif
#ifndef NB_UK_RROWS
#define NB_UK_RROWS(fn)
#endif
#ifndef NB_UK_TRANSPOSE32
#define NB_UK_TRANSPOSE32(fn, tile)
#endif
#ifndef NB_UK_FILL32
#define NB_UK_FILL32(fn)
#endif
#ifndef NB_UK_VUNARY
#define NB_UK_VUNARY(fn, op, unroll)
#endif
#ifndef NB_UK_SOFTMAX
#define NB_UK_SOFTMAX(fn, log)
#endif
#ifndef NB_UK_VBINARY
#define NB_UK_VBINARY(tag)
#endif
#ifndef NB_UK_OPTIM
#define NB_UK_OPTIM(tag)
#endif
#ifndef NB_UK_BNORM
#define NB_UK_BNORM(tag)
#endif
#ifndef NB_UK_PEAK
#define NB_UK_PEAK(fn, flops_per_iter)
#endif
#ifndef NB_UK_MAXPOOL
#define NB_UK_MAXPOOL(fn)
#endif
#ifndef NB_UK_MAXPOOL_BWD
#define NB_UK_MAXPOOL_BWD(fn)
#endif
#ifndef NB_UK_MAXPOOL2
#define NB_UK_MAXPOOL2(fwd, bwd)
#endif
#ifndef NB_UK_AVGPOOL
#define NB_UK_AVGPOOL(fn)
#endif
#ifndef NB_UK_WINO_IN
#define NB_UK_WINO_IN(fn, lanes)
#endif
#ifndef NB_UK_WINO_FILTER
#define NB_UK_WINO_FILTER(fn)
#endif
#ifndef NB_UK_WINO_OUT
#define NB_UK_WINO_OUT(fn, lanes)
#endif
#ifndef NB_UK_WINO_BFDY
#define NB_UK_WINO_BFDY(fn, lanes)
#endif
#ifndef NB_UK_WINO_BFOUT
#define NB_UK_WINO_BFOUT(fn)
#endif
#ifndef NB_UK_DWCONV_FWD
#define NB_UK_DWCONV_FWD(fn)
#endif
#ifndef NB_UK_DWCONV_BWF
#define NB_UK_DWCONV_BWF(fn)
#endif
#ifndef NB_UK_DWCONV_BWD
#define NB_UK_DWCONV_BWD(fn)
#endif
#ifndef NB_UK_DWCONV_BWF_SUM
#define NB_UK_DWCONV_BWF_SUM(fn)
#endif
#ifndef NB_UK_PWCONV
#define NB_UK_PWCONV(fn, mr, nr)
#endif
#ifndef NB_UK_CONV_DIRECT_BWF
#define NB_UK_CONV_DIRECT_BWF(fn)
#endif
#ifndef NB_UK_CONV_DIRECT
#define NB_UK_CONV_DIRECT(fn)
#endif

/* The includes of the built ISAs' registries (written by meson). */
#include "nb_ukernel_isas.h"

#undef NB_UK_GEMM
#undef NB_UK_GEMM_ADIRECT
#undef NB_UK_GEMM_DIRECT
#undef NB_UK_PACKA
#undef NB_UK_PACKB
#undef NB_UK_GEMM_ROWS
#undef NB_UK_GEMM_ROWS_BT
#undef NB_UK_IM2COL
#undef NB_UK_COL2IM
#undef NB_UK_PACKB_IM2COL
#undef NB_UK_RSUM
#undef NB_UK_RPICK
#undef NB_UK_RCOL
#undef NB_UK_RCOL4
#undef NB_UK_RROWS
#undef NB_UK_TRANSPOSE32
#undef NB_UK_FILL32
#undef NB_UK_VUNARY
#undef NB_UK_SOFTMAX
#undef NB_UK_VBINARY
#undef NB_UK_OPTIM
#undef NB_UK_BNORM
#undef NB_UK_PEAK
#undef NB_UK_MAXPOOL
#undef NB_UK_MAXPOOL_BWD
#undef NB_UK_MAXPOOL2
#undef NB_UK_AVGPOOL
#undef NB_UK_WINO_IN
#undef NB_UK_WINO_FILTER
#undef NB_UK_WINO_OUT
#undef NB_UK_WINO_BFDY
#undef NB_UK_WINO_BFOUT
#undef NB_UK_DWCONV_FWD
#undef NB_UK_DWCONV_BWF
#undef NB_UK_DWCONV_BWD
#undef NB_UK_DWCONV_BWF_SUM
#undef NB_UK_PWCONV
#undef NB_UK_CONV_DIRECT_BWF
#undef NB_UK_CONV_DIRECT
