/* The broadcast-orientation direct convolution tile's contract (private;
 * included by ukernel.h; driver: src/conv_bcast.c).
 *
 * A tile covers mp (<= the tile's MP) consecutive output pixels i of one
 * output row by kn (<= the tile's NF) filters k. The taps are walked as
 * rows t = c R + r (input channel c < C, kernel row r < R, in order), and
 * in each row the S kernel columns s in order. Tap row t reads the input
 * row row0[r] + c ldc (row0[r] NULL: a padded row, all zeros, for every
 * c); pixel i reads, at kernel column s, that row's column
 * col0 + i sw + s dw (sw 1 or 2). wp holds tap (t S + s)'s NF filter
 * values at wp + (t S + s) NF (lanes past kn are zero). The rows are
 * described by R pointers and a stride, not a table of C R pointers: the
 * driver built that table per task (1.7 % of the c128 layer's time).
 *
 * col0 >= -lead_pad (0 or 1). Every column of [col0, col0 + span) of a non-NULL row is
 * read (all MP pixels, even past mp; span = (MP - 1) sw + (S - 1) dw + 1
 * <= max_span) but column -1: with col0 -1 the tile takes pixel 0's first
 * tap (the only one there) as a zero, multiplied, never read (a pad 1
 * layer's first tile reads the image, no copy: the copies took ~1.9 % of
 * the c128 layer's time). The caller passes rows that hold the span, the image's own rows where the
 * tile lies inside them, else rows padded by the pad function:
 *   dst[(c R + r) ld + j] = row0[r][c ldc + col0 + j] for j < span where
 *   0 <= col0 + j < W, else 0 (j < span rounded up to 16; ld a multiple
 *   of 16); rows with row0[r] NULL are not written. The tile then reads
 *   dst's rows (row0'[r] = dst + r ld or NULL, ldc' = R ld) at column 0
 *   and multiplies the padding's zeros as the reference does.
 *
 * skip_null: a NULL row's taps are skipped instead of multiplied by
 * zero; the caller sets it only when every packed filter value is finite
 * (then a zero tap adds +-0 and changes nothing but a zero's sign).
 *
 * pf (or NULL): R row pointers (NULL entries skipped) and their channel
 * stride pf_ldc; the tile prefetches (T0) pf[r] + c pf_ldc + pf_off at
 * tap row t = c R + r, one line per row spread over its taps (the
 * driver's next task's image rows: no burst of misses).
 *
 * It writes y[k ldy + i] (k < kn, i < mp) = the sum over the taps in
 * order (one FMA chain from 0), plus bias[k] (one add) when bias is not
 * NULL: the same bits for any MP, NF, tile position or thread.
 */
#ifndef NB_UKERNEL_CONVBCAST_H
#define NB_UKERNEL_CONVBCAST_H

#include <stddef.h>
#include <stdint.h>

typedef void nb_conv_bcast_ft(size_t kn, size_t mp, size_t C, size_t R, size_t S,
                              const float *const *row0, ptrdiff_t ldc, ptrdiff_t col0, size_t sw,
                              size_t dw, int skip_null, const float *wp, float *y, ptrdiff_t ldy,
                              const float *bias, const float *const *pf, ptrdiff_t pf_ldc,
                              ptrdiff_t pf_off);
typedef void nb_conv_bcast_pad_ft(size_t C, size_t R, const float *const *row0, ptrdiff_t ldc,
                                  ptrdiff_t col0, size_t span, size_t W, float *dst, size_t ld);

typedef struct {
    nb_conv_bcast_ft *fn;   /* NULL: none */
    nb_conv_bcast_pad_ft *pad;
    int mp, nf, max_span;
    int lead_pad;           /* 1: the tile takes col0 -1 (pixel 0's first tap a zero) */
} nb_conv_bcast_ukernel;

nb_conv_bcast_ft nb_f32_conv_bcast_ukernel_14x32__avx512;
nb_conv_bcast_pad_ft nb_f32_conv_bcast_pad__avx512;
nb_conv_bcast_ft nb_f32_conv_bcast_ukernel_6x16__avx2;
nb_conv_bcast_pad_ft nb_f32_conv_bcast_pad__avx2;

#endif
