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
 *                    double, n in order.
 * A 1x1 kernel with stride 1 and no padding skips im2col / col2im: the
 * column matrix is x (dx) itself.
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

typedef nb_status (*nb_conv_sgemm_fn)(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                      float alpha, const float *A, int64_t lda,
                                      const float *B, int64_t ldb,
                                      float beta, float *C, int64_t ldc);

/* col[l * ldcol + (j - j0)] = the input element that tap l = (c R + r) S + s
   of output pixel j = p Q + q reads (0 in the padding), for c < channels and
   j0 <= j < j0 + nj. x is one image and group (channels x H x W). */
typedef void (*nb_conv_im2col_fn)(const nb_conv2d_desc *d, int64_t channels, int64_t P,
                                  int64_t Q, int64_t j0, int64_t nj, const float *x,
                                  float *col, int64_t ldcol);

/* The adjoint: x[...] += col[l * ldcol + (j - j0)] for every tap that reads
   an input element, in the order c, r, s, p, q (ascending). */
typedef void (*nb_conv_col2im_fn)(const nb_conv2d_desc *d, int64_t channels, int64_t P,
                                  int64_t Q, int64_t j0, int64_t nj, const float *col,
                                  int64_t ldcol, float *x);

/* dst[0..n) = v. */
typedef void (*nb_conv_fill_fn)(int64_t n, float v, float *dst);

/* Sum of x[0..n) accumulated in double (a fixed order for a given n). */
typedef double (*nb_conv_rowsum_fn)(int64_t n, const float *x);

/* ---- implicit im2col: the forward GEMM's B panels packed from the image ----
 *
 * Forward convolutions with stride_w 1 or 2 skip the column matrix: each KC
 * block of its rows (taps) is packed straight from the image into the
 * ISA's NR-wide B micro-panels, which the GEMM micro-kernel then reads. What
 * a panel's NR output pixels read for one kernel position (r, s) is the same
 * for every channel up to the channel's offset, so the driver describes it
 * once per (panel, r, s) in a tap plan, and the ISA's packer applies the
 * plan to each channel. */
#define NB_CONV_PLAN_LANES 16   /* the widest NR of any ISA */

enum {
    NB_TAP_ZERO,     /* every lane is padding: zeros */
    NB_TAP_FULL,     /* all NR lanes read x_c[base + i step], and x_c[base +
                        step NR - 1] is inside the channel too */
    NB_TAP_CONTIG,   /* the lanes with mask read x_c[base + i step], the others are 0 */
    NB_TAP_SPLIT,    /* two runs: lanes with split read x_c[base2 + i step], the
                        other lanes with mask read x_c[base + i step] (a panel that
                        wraps to the next output row when Q != W) */
    NB_TAP_GATHER,   /* the lanes with mask read x_c[off[i]], the others are 0 */
    NB_TAP_KINDS
};

/* Lane i (< NR) of the panel reads x_c[off[i]] when mask[i] == -1 and is 0
   when mask[i] == 0 (padding, or a pixel past the block); off[i] == 0 and
   mask[i] == 0 for lanes >= NR. off and mask are filled for every kind (an
   ISA may always use them); the kind names a faster way. 224 bytes: the
   arrays stay 32-byte aligned in a 64-byte aligned plan. */
typedef struct {
    _Alignas(32) int32_t off[NB_CONV_PLAN_LANES];
    int32_t mask[NB_CONV_PLAN_LANES];
    int32_t split[NB_CONV_PLAN_LANES];   /* SPLIT: -1 on the second run's lanes */
    int32_t kind;    /* NB_TAP_* */
    int32_t base;    /* FULL, CONTIG, SPLIT: off[i] == base + i step on the (first) run */
    int32_t base2;   /* SPLIT: off[i] == base2 + i step on the second run */
    int32_t step;    /* stride_w: 1 or 2 */
    int32_t pad_[4];
} nb_conv_tap;

/* Packs rows [l0, l0 + kc) of the implicit column matrix of one image and
   group (x: channels x hw floats) for `panels` panels of NR pixels into
   dst: panel p at dst + p kc NR, row l at + (l - l0) NR, where row
   l = c RS + t (t = r S + s) reads channel c through plan[p RS + t]. dst
   is 64-byte aligned when NR is a multiple of 16 (16-byte aligned in
   general); the packer writes exactly the panels. */
typedef void (*nb_conv_pack_b_fn)(const nb_conv_tap *plan, int64_t rs, int64_t l0, int64_t kc,
                                  int64_t panels, const float *x, int64_t hw, float *dst);

typedef struct {
    nb_conv_sgemm_fn sgemm;
    /* The ISA's GEMM (micro-kernel, A packing, blocking) and its implicit
       im2col B packer; pack_b_im2col NULL: the forward pass always goes
       through an explicit column block and sgemm. */
    const nb_gemm_desc *gemm;
    nb_conv_pack_b_fn pack_b_im2col;
    nb_conv_im2col_fn im2col;
    nb_conv_col2im_fn col2im;
    nb_conv_fill_fn fill;
    nb_conv_rowsum_fn rowsum;
    int64_t col_floats;         /* target size of one column block (L2) */
    int64_t min_block;          /* fewest output pixels per block */
    int64_t min_mnk_per_thread; /* multiply-adds worth one more thread */
} nb_conv_desc;

/* ---- the row walk every ISA's im2col / col2im shares (plain C) ---- */

static inline int64_t nb_conv_clamp(int64_t v, int64_t lo, int64_t hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

/* For tap column s: iw(q) = q stride_w + off, off = s dilation_w - pad_w.
   [*q_lo, *q_hi) is the range of q in [0, Q] whose iw lies in [0, W). */
static inline void nb_conv_valid_q(int64_t off, int64_t stride, int64_t W, int64_t Q,
                                   int64_t *q_lo, int64_t *q_hi) {
    /* q_lo: least q with q stride + off >= 0; q_hi: least q with q stride + off >= W. */
    int64_t lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int64_t hi = W - off <= 0 ? 0 : (W - off + stride - 1) / stride;
    lo = nb_conv_clamp(lo, 0, Q);
    hi = nb_conv_clamp(hi, lo, Q);
    *q_lo = lo;
    *q_hi = hi;
}

/* An ISA's contiguous-run primitives for the walks below: zero n floats;
   o[i] = in[i stride]; x[i stride] += in[i]. */
typedef void (*nb_conv_zero_run_fn)(float *o, int64_t n);
typedef void (*nb_conv_copy_run_fn)(float *o, const float *in, int64_t n, int64_t stride);
typedef void (*nb_conv_add_run_fn)(float *x, const float *in, int64_t n, int64_t stride);

/* The im2col / col2im row walk over output pixels [j0, j0 + nj) (contracts:
   nb_conv_im2col_fn, nb_conv_col2im_fn): each column-matrix row (one tap
   c, r, s) is walked one output row p at a time; a p-row splits into left
   padding, an interior that reads one input row with stride stride_w, and
   right padding. Static inline with the run primitives as arguments, so an
   ISA file that passes its own static functions gets them inlined. col2im
   adds in the order c, r, s, p, q, one add per tap, as the reference. */
static inline void nb_conv_im2col_walk(const nb_conv2d_desc *d, int64_t channels, int64_t Q,
                                       int64_t j0, int64_t nj, const float *x, float *col,
                                       int64_t ldcol, nb_conv_zero_run_fn zero_run,
                                       nb_conv_copy_run_fn copy_run) {
    const int64_t H = d->h, W = d->w, R = d->r, S = d->s, sw = d->stride_w;
    for (int64_t c = 0; c < channels; c++)
        for (int64_t r = 0; r < R; r++)
            for (int64_t s = 0; s < S; s++) {
                float *row = col + ((c * R + r) * S + s) * ldcol;
                const int64_t off = s * d->dilation_w - d->pad_w;
                int64_t q_lo, q_hi;
                nb_conv_valid_q(off, sw, W, Q, &q_lo, &q_hi);
                int64_t j = j0, p = j0 / Q, q = j0 % Q;
                while (j < j0 + nj) {
                    const int64_t qe = Q - q < j0 + nj - j ? Q : q + (j0 + nj - j);
                    float *out = row + (j - j0);   /* pixel (p, q) */
                    const int64_t ih = p * d->stride_h - d->pad_h + r * d->dilation_h;
                    if (ih < 0 || ih >= H) {
                        zero_run(out, qe - q);
                    } else {
                        const int64_t a = nb_conv_clamp(q_lo, q, qe), b = nb_conv_clamp(q_hi, a, qe);
                        zero_run(out, a - q);
                        if (b > a)
                            copy_run(out + (a - q), x + (c * H + ih) * W + a * sw + off, b - a, sw);
                        zero_run(out + (b - q), qe - b);
                    }
                    j += qe - q;
                    p++;
                    q = 0;
                }
            }
}

static inline void nb_conv_col2im_walk(const nb_conv2d_desc *d, int64_t channels, int64_t Q,
                                       int64_t j0, int64_t nj, const float *col, int64_t ldcol,
                                       float *x, nb_conv_add_run_fn add_run) {
    const int64_t H = d->h, W = d->w, R = d->r, S = d->s, sw = d->stride_w;
    for (int64_t c = 0; c < channels; c++)
        for (int64_t r = 0; r < R; r++)
            for (int64_t s = 0; s < S; s++) {
                const float *row = col + ((c * R + r) * S + s) * ldcol;
                const int64_t off = s * d->dilation_w - d->pad_w;
                int64_t q_lo, q_hi;
                nb_conv_valid_q(off, sw, W, Q, &q_lo, &q_hi);
                int64_t j = j0, p = j0 / Q, q = j0 % Q;
                while (j < j0 + nj) {
                    const int64_t qe = Q - q < j0 + nj - j ? Q : q + (j0 + nj - j);
                    const float *in = row + (j - j0);   /* pixel (p, q) */
                    const int64_t ih = p * d->stride_h - d->pad_h + r * d->dilation_h;
                    if (ih >= 0 && ih < H) {
                        const int64_t a = nb_conv_clamp(q_lo, q, qe), b = nb_conv_clamp(q_hi, a, qe);
                        if (b > a)
                            add_run(x + (c * H + ih) * W + a * sw + off, in + (a - q), b - a, sw);
                    }
                    j += qe - q;
                    p++;
                    q = 0;
                }
            }
}

nb_status nb_conv_forward_run(const nb_conv_desc *cd, const nb_conv2d_desc *d, const float *x,
                              const float *w, const float *bias, float *y);
nb_status nb_conv_backward_data_run(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                    const float *dy, const float *w, float *dx);
nb_status nb_conv_backward_filter_run(const nb_conv_desc *cd, const nb_conv2d_desc *d,
                                      const float *x, const float *dy, float *dw, float *dbias);

#endif
