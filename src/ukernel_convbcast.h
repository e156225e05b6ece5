/* The broadcast-orientation direct convolution tile's contract (private;
 * included by ukernel.h; driver: src/conv_bcast.c).
 *
 * A tile covers mp (<= the tile's MP) consecutive output pixels i of one
 * output row by kn (<= the tile's NF) filters k. The taps are walked as
 * rows t < rows (t = c R + r: input channel c, kernel row r, in order),
 * and in each row the S kernel columns s in order. rowp[t] is the input
 * row tap row t reads (NULL: a padded row, all zeros); pixel i reads, at
 * kernel column s, rowp[t][col0 + i sw + s dw] (sw 1 or 2). wp holds tap (t S + s)'s NF filter values
 * at wp + (t S + s) NF (lanes past kn are zero).
 *
 * Every column of [col0, col0 + span) of a non-NULL row is read (all MP
 * pixels, even past mp; span = (MP - 1) sw + (S - 1) dw + 1 <= max_span):
 * the caller passes rows that hold it, the image's own rows where the
 * tile lies inside them, else rows padded by the pad function:
 *   dst[t ld + j] = rowp[t][col0 + j] for j < span where 0 <= col0 + j < W
 *   and rowp[t] is not NULL, else 0 (j < span rounded up to 16; ld a
 *   multiple of 16), so that the tile then reads dst's rows at column 0
 *   and multiplies the padding's zeros as the reference does.
 *
 * skip_null: a NULL row's taps are skipped instead of multiplied by
 * zero; the caller sets it only when every packed filter value is finite
 * (then a zero tap adds +-0 and changes nothing but a zero's sign).
 *
 * pf (or NULL): rows pointers (NULL entries skipped); the tile prefetches
 * (T0) pf[t] + pf_off at tap row t, one line per row spread over its
 * taps (the driver's next task's image rows: no burst of misses).
 *
 * It writes y[k ldy + i] (k < kn, i < mp) = the sum over the taps in
 * order (one FMA chain from 0), plus bias[k] (one add) when bias is not
 * NULL: the same bits for any MP, NF, tile position or thread.
 */
#ifndef NB_UKERNEL_CONVBCAST_H
#define NB_UKERNEL_CONVBCAST_H

#include <stddef.h>
#include <stdint.h>

typedef void nb_conv_bcast_ft(size_t kn, size_t mp, size_t rows, size_t S,
                              const float *const *rowp, ptrdiff_t col0, size_t sw, size_t dw,
                              int skip_null, const float *wp, float *y, ptrdiff_t ldy,
                              const float *bias, const float *const *pf, ptrdiff_t pf_off);
typedef void nb_conv_bcast_pad_ft(size_t rows, const float *const *rowp, ptrdiff_t col0,
                                  size_t span, size_t W, float *dst, size_t ld);

typedef struct {
    nb_conv_bcast_ft *fn;   /* NULL: none */
    nb_conv_bcast_pad_ft *pad;
    int mp, nf, max_span;
} nb_conv_bcast_ukernel;

nb_conv_bcast_ft nb_f32_conv_bcast_ukernel_14x32__avx512;
nb_conv_bcast_pad_ft nb_f32_conv_bcast_pad__avx512;
nb_conv_bcast_ft nb_f32_conv_bcast_ukernel_6x16__avx2;
nb_conv_bcast_pad_ft nb_f32_conv_bcast_pad__avx2;

#endif
