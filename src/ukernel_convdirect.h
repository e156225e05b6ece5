/* The direct convolution tile's contract (private; included by ukernel.h).
 *
 * A tile (src/conv_direct.c) covers rows i < m (filters) by `groups` groups
 * of 16 output pixels; lane l of group g reads, for tap t,
 * base[g][toff[t] + l] (the image, padded and split by column phase, read
 * in place); wp is the tile's packed filters, tap t's 8 rows at wp + 8 t
 * (rows >= m zero). It writes y[i ldy + 16 g + l] = the sum over t in
 * order (one FMA chain from 0), plus bias[i] (one add) when bias is not
 * NULL.
 */
#ifndef NB_UKERNEL_CONVDIRECT_H
#define NB_UKERNEL_CONVDIRECT_H

#include <stddef.h>
#include <stdint.h>

typedef void nb_conv_direct_ft(size_t m, size_t groups, size_t taps, const int32_t *toff,
                               const float *wp, const float *const *base, float *y, ptrdiff_t ldy,
                               const float *bias);
nb_conv_direct_ft nb_f32_conv_direct_ukernel_8x48__avx512;
nb_conv_direct_ft nb_f32_conv_direct_ukernel_8x48__avx2;

/* The direct backward-filter tile (src/conv_direct_bwf.c): for `taps`
 * (1..7) taps t of one image channel and kernel row, and kn (1..64)
 * filters k, over npix consecutive output pixels from column q0 of an
 * output row (Q pixels a row, continuing on the next rows):
 *   acc[t][k] = sum over the pixels j, in order (one FMA chain from 0), of
 *               x_t(j) dyt[j ldk + k],
 * where x_t at row i (from the first) and column q is xs[t][i xrow + q],
 * and dyt's rows are the block's pixels (pixel-major dy). Then
 * c[64 t + k] = acc (add == 0) or c[64 t + k] + acc (one add). */
typedef void nb_conv_direct_bwf_ft(size_t taps, size_t kn, size_t npix, size_t q0, size_t Q,
                                   const float *const *xs, ptrdiff_t xrow, const float *dyt,
                                   ptrdiff_t ldk, float *c, int add);
nb_conv_direct_bwf_ft nb_f32_conv_direct_bwf_ukernel_7x64__avx512;

#endif
