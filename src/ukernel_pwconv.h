/* The pointwise-convolution micro-kernel contract (private; included by
 * src/ukernel.h, so kernels/ reach it through the one header they may
 * include). The driver is src/conv_pointwise.c.
 *
 * A pointwise (1x1, stride 1, no padding) convolution of one image and
 * group is the GEMM out (M x HW) = W (M x K) in (K x HW), with the image's
 * channel rows in place: no B packing. The kernel computes one tile of m <=
 * MR output rows by n <= NR pixels:
 *   w    packed filters: k groups of MR floats, group p holds W[0:MR, p]
 *        (rows >= m are padding, never stored; the driver zero-fills them);
 *   x    the tile's first input pixel of channel 0; channel p at x + p ldx
 *        (any alignment, any ldx >= n);
 *   y    the tile's first output pixel of row 0; row r at y + r ldy.
 * Numerics (the SGEMM's contract, gemm_driver.h, with alpha 1, so the path
 * keeps the bits of the GEMM paths it replaces):
 *   acc = +0; for p in 0..k-1 in order: acc = fma(w[p MR + r], x[p ldx + j], acc)
 *   y[r, j] = acc                 (bias NULL, no NB_PW_ACCUMULATE)
 *   y[r, j] = bias[r] + acc       (bias non-NULL: fma(1, bias, acc))
 *   y[r, j] = y[r, j] + acc       (NB_PW_ACCUMULATE: a later KC block)
 * k >= 1; the driver cuts K at the SGEMM's KC boundaries. Only the m x n
 * tile of y is read or written; x is read only in its k x n block.
 * n > NR (a run of tiles in one call) only with xcopy and pf NULL: the
 * kernel then runs the tiles of NR pixels left to right (x and y advance
 * NR floats a tile), each exactly as one call of it, the last n - NR
 * floor((n - 1) / NR) pixels wide.
 *   xcopy  NULL, or where the kernel also stores the k x n block of x it
 *          reads, channel p at xcopy + p NR (NR the tile's width; lanes
 *          n..NR-1 of a row may be written too): the driver's first row
 *          tile copies the block there and the others read the copy
 *          (ldx = NR), contiguous, instead of K rows HW apart, which fall
 *          into a few L1 sets (src/conv_pointwise.c). Same values, same bits.
 *   pf     NULL, or the tile's share of a later block to prefetch
 *          (nb_pw_prefetch); with it, NB_PW_PREFETCH may be ignored.
 */
#ifndef NB_UKERNEL_PWCONV_H
#define NB_UKERNEL_PWCONV_H

#include <stddef.h>

/* A share of a later block of the image for the tile to prefetch, spread
   over its channel steps: at every step p with p % every == 0 the tile may
   prefetch the NR floats at rows + (p / every) ld. A hint (never
   dereferenced, no effect on the result); kernels may ignore it. */
typedef struct {
    const float *rows;
    ptrdiff_t ld;
    size_t every;   /* >= 1 */
} nb_pw_prefetch;

typedef void nb_pwconv_ft(size_t m, size_t n, size_t k, const float *w, const float *x,
                          ptrdiff_t ldx, float *y, ptrdiff_t ldy, const float *bias,
                          int flags, float *xcopy, const nb_pw_prefetch *pf);

/* flags of a call: */
enum {
    NB_PW_ACCUMULATE = 1,   /* y = y + acc (a later KC block) */
    NB_PW_STREAM = 2,       /* the stores may bypass the caches (non-temporal): the
                               outputs are far larger than the caches */
    NB_PW_PREFETCH = 4      /* the first row tile over this block of the image: the
                               kernel may prefetch the next tiles' channel rows (the
                               other row tiles then find them in L1/L2); a hint, no
                               effect on the result */
};
typedef nb_pwconv_ft *nb_pwconv_fn;

/* An ISA's pointwise tile; fn NULL: the ISA has none (the SGEMM runs 1x1). */
typedef struct {
    nb_pwconv_fn fn;
    int mr, nr;
    int copy_min_k;   /* the shortest sum (K) whose block the first row tile copies for
                         the others, inputs in L2/L3 (src/conv_pointwise.c, pw_run) */
} nb_pwconv_ukernel;

#endif
