/* The portable im2col + GEMM convolution driver (private), float32.
 *
 * An ISA supplies its SGEMM, im2col / col2im over a range of output pixels,
 * a fill and a row sum through a descriptor; this file (baseline flags) owns
 * the loops, the scratch buffers and the threads, so AVX2 and NEON can share
 * it like they share src/gemm_driver.c.
 *
 * Per image n and group g (cg = C/groups, kg = K/groups, L = cg R S):
 *   forward          y[n,g][:, blk] = w[g] (kg x L) im2col(x[n,g])[:, blk] (+ bias)
 *                    for column blocks blk of `col_floats / L` output pixels
 *                    (the block of the column matrix stays in L2 and is
 *                    consumed by the GEMM right away);
 *   backward-data    col[:, blk] = w[g]^T dy[n,g][:, blk]; dx[n,g] += col2im
 *                    block by block, in block order;
 *   backward-filter  dw[g] = sum over n in order of dy[n,g] im2col(x[n,g])^T
 *                    (beta = 0 for n = 0, then 1); dbias[k] = row sums in
 *                    double, n in order. Where the SGEMM reads A in place
 *                    it runs transposed, dw[g]^T = im2col(x) dy^T (same
 *                    FMA chains, same bits), and backward-data column
 *                    blocks read w[g]^T transposed once per call.
 *                    Stride 1 and 2 with >= 16 channels a group skip the
 *                    column matrix (src/conv_bwd_filter_rows.c: the image
 *                    zero padded into rows, each tap's channels read in
 *                    place as the GEMM tile's rows).
 * Few-channel layers (the stem) run forward on a direct tile where the ISA
 * has one (src/conv_direct.c).
 * A 1x1 kernel with stride 1 and no padding skips im2col / col2im: the
 * column matrix is x (dx) itself; where the ISA has a pointwise tile
 * (cd->pw) its forward and backward-data passes run in
 * src/conv_pointwise.c, on the image in place (no B packing).
 * Where the ISA has an implicit-im2col packer (below), the forward pass
 * with stride_w 1 or 2 packs the GEMM's B panels straight from the image instead
 * of writing a column block, and backward-data with stride 1 runs as that
 * forward pass on dy with the filters transposed and rotated (no col2im).
 *
 * Bits: the block sizes depend only on the shape, never on the thread
 * count, and the SGEMM gives the same bits for a column whatever N and the
 * threads (gemm_driver.h), so every result is the same for any thread count
 * and for an image alone or in a batch. Threads go either over independent
 * tasks (forward: image x group x column block; backward-data: image x
 * group; backward-filter: group) with the inner GEMMs single-threaded, or
 * into the GEMM when there are too few tasks.
 */
#ifndef NB_CONV_DRIVER_H
#define NB_CONV_DRIVER_H

#include <stdint.h>

#include <nabla/kernels.h>

#include "gemm_driver.h"
#include "ukernel.h"   /* the conv micro-kernel contract, nb_conv_desc, the row walks */

nb_status nb_conv_forward_run(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *x,
                              const float *w, const float *bias, float *y);
nb_status nb_conv_backward_data_run(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                    const float *dy, const float *w, float *dx);
nb_status nb_conv_backward_filter_run(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                      const float *x, const float *dy, float *dw, float *dbias);

#endif
