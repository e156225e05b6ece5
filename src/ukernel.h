/* The micro-kernel contract (private): what every file under kernels/
 * includes from outside its own folder, and all it may include.
 *
 * A micro-kernel is a leaf: single-threaded, no allocation, no dispatch, no
 * error reporting; it works on arguments that a portable driver in src/ has
 * already validated and blocked. This header gives, per family, the
 * function types that the drivers call through, the descriptors that bundle
 * an ISA's micro-kernels with its blocking, and the prototypes of every
 * ISA's micro-kernels (declarations only, so portable code and tests can
 * name them; calling one requires a CPU that has its ISA).
 *
 * The numerical contract of each family (the FMA order, the block
 * boundaries) is written next to its driver: src/gemm_driver.h,
 * src/conv_driver.h, src/reduce_driver.c, src/copy_driver.c.
 */
#ifndef NB_UKERNEL_H
#define NB_UKERNEL_H

#include <stddef.h>
#include <stdint.h>

#include <nabla/kernels.h>

#include "nb_config.h"

/* The benchmarks (C++) include this header too. */
#ifdef __cplusplus
#define NB_ALIGNAS(n) alignas(n)
extern "C" {
#else
#define NB_ALIGNAS(n) _Alignas(n)
#endif

#include "ukernel_gemm.h"   /* GEMM tiles, packers, row kernels, nb_gemm_desc */

/* ================= convolution pieces (src/conv_driver.h) ================= */

typedef nb_status (*nb_conv_sgemm_fn)(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                      float alpha, const float *A, int64_t lda,
                                      const float *B, int64_t ldb,
                                      float beta, float *C, int64_t ldc);

/* col[l * ldcol + (j - j0)] = the input element that tap l = (c R + r) S + s
   of output pixel j = p Q + q reads (0 in the padding), for c < channels and
   j0 <= j < j0 + nj. x is one image and group (channels x H x W). */
typedef void nb_conv_im2col_ft(const nb_conv2d_desc *d, int64_t channels, int64_t P,
                               int64_t Q, int64_t j0, int64_t nj, const float *x,
                               float *col, int64_t ldcol);
typedef nb_conv_im2col_ft *nb_conv_im2col_fn;

/* The adjoint: x[...] += col[l * ldcol + (j - j0)] for every tap that reads
   an input element, in the order c, r, s, p, q (ascending). */
typedef void nb_conv_col2im_ft(const nb_conv2d_desc *d, int64_t channels, int64_t P,
                               int64_t Q, int64_t j0, int64_t nj, const float *col,
                               int64_t ldcol, float *x);
typedef nb_conv_col2im_ft *nb_conv_col2im_fn;

/* dst[0..n) = v. */
typedef void (*nb_conv_fill_fn)(int64_t n, float v, float *dst);


/* Sum of x[0..n) accumulated in double (a fixed order for a given n). */
typedef double (*nb_conv_rowsum_fn)(int64_t n, const float *x);

#include "ukernel_implicit.h"   /* the implicit-im2col tap plans and packers */
#include "ukernel_wino.h"   /* the Winograd transforms (nb_wino_*_fn) */
#include "ukernel_dwconv.h"   /* the depthwise kernels (nb_dwconv_ukernels) */
#include "ukernel_pwconv.h"   /* the pointwise tile (nb_pwconv_ukernel) */
#include "ukernel_convdirect.h"   /* the few-channel direct tile (nb_conv_direct_ft) */
#include "ukernel_convbdata.h"   /* the 3x3 stride-2 backward-data tile (nb_conv_bdata_s2_ft) */
#include "ukernel_convbcast.h"   /* the broadcast-orientation direct tile (nb_conv_bcast_ft) */

typedef struct {
    nb_conv_sgemm_fn sgemm;
    /* The ISA's GEMM (micro-kernel, A packing, blocking) and its implicit
       im2col B packer; pack_b_im2col NULL: the forward pass always goes
       through an explicit column block and sgemm. */
    const nb_gemm_desc *gemm;
    /* The descriptor the sgemm member runs (its blocking sizes the packing
       buffers a pass reserves before writing; may differ from gemm). */
    const nb_gemm_desc *sgemm_desc;
    nb_conv_pack_b_fn pack_b_im2col;
    /* Optional: an implicit packer of sgemm_desc's NR (a multiple of the
       plan lanes, panel p reads plan panels p NR / lanes on); set, the
       implicit path runs sgemm_desc's tile instead of gemm's. */
    nb_conv_pack_b_fn pack_b_im2col_wide;
    nb_conv_direct_ft *direct;  /* optional: few-channel forward tile (conv_direct.c) */
    nb_conv_direct_bwf_ft *direct_bwf;  /* optional: its backward-filter tile (conv_direct_bwf.c) */
    nb_conv_bdata_s2_ukernel bdata_s2;  /* optional: 3x3 s2 p1 backward-data tile (conv_bwd_data_phase.c) */
    nb_conv_bcast_ukernel bcast;  /* optional: broadcast-orientation direct forward tile (conv_bcast.c) */
    nb_conv_im2col_fn im2col;
    nb_conv_col2im_fn col2im;
    nb_conv_fill_fn fill;
    nb_conv_rowsum_fn rowsum;
    int64_t col_floats;         /* target size of one column block (L2) */
    int64_t min_block;          /* fewest output pixels per block */
    int64_t min_mnk_per_thread; /* multiply-adds worth one more thread */
    /* Winograd F(4x4, 3x3) (src/conv_winograd.c): NULL wino_in, no
       Winograd. wino_in / wino_out have gemm->nr lanes. */
    nb_wino_in_fn wino_in;
    nb_wino_filter_fn wino_filter;
    nb_wino_out_fn wino_out;
    /* The tile of the fused filter-transform GEMMs (conv_winograd.c,
       gemm_fused): gemm's nr and kc, its own mr, and an element the same
       bits as gemm's tile. Filled in by src/isa_ops.c (gemm when the ISA
       has none). */
    const nb_gemm_desc *wino_gemm;
    /* Winograd backward-filter F(3x3, 4x4) (src/conv_winograd_bwd_filter.c):
       the dy transform (wino_in's lanes) and the output transform; NULL:
       none (the GEMM path). */
    nb_wino_bfdy_fn wino_bf_dy;
    nb_wino_bfout_fn wino_bf_out;
    nb_dwconv_ukernels dw;      /* depthwise (src/conv_depthwise.c); fwd NULL: none */
    nb_pwconv_ukernel pw;       /* the 1x1 tile on the image in place (conv_pointwise.c); fn NULL: none */
    /* Optional: backward-filter's tile for 1x1 layers with few filters
       (src/conv_bwd_filter_narrow.c): an A-in-place GEMM tile of mr rows
       and nr columns (B packed nr wide), narrower than the SGEMM's tile
       or a width it lacks, and its B packer (NULL: the transpose below
       packs B, one panel). fn NULL: none. bwf_narrow_alt: optional, a
       second such tile of another width (the path takes whichever of the
       two leaves fewer lanes empty). */
    struct nb_bwf_narrow_tile { nb_gemm_ukernel_adirect_fn fn; int mr, nr; nb_gemm_pack_b_fn pack_b; } bwf_narrow, bwf_narrow_alt;
    /* Optional: backward-filter's strided-rows tile (src/conv_bwd_filter_rows.c,
       stride 2): the sgemm_desc tile (its mr x nr, B packed by its pack_b)
       with A read in place from the image at a column step of astep floats
       and its k range cut into row segments: segment i runs seg[3 i + 2]
       pixels from A offset seg[3 i] (floats from a) and B offset
       seg[3 i + 1] (floats from b), in order, one FMA chain from +0 an
       element, then the SGEMM's epilogue with alpha 1 (beta 0: C = acc,
       else C + acc). Rows r >= m are never read. fn NULL: none. */
    struct nb_bwf_rows_tile {
        void (*fn)(size_t m, size_t n, size_t nseg, const int64_t *seg, const float *a, ptrdiff_t lda,
                   ptrdiff_t astep, const float *b, float *c, ptrdiff_t ldc, float beta);
        int mr, nr;
    } bwf_rows;
    /* The copy family's 2-D transpose (nb_copy_ukernels), set by dispatch;
       NULL: backward-filter runs its untransposed GEMM (conv_driver.c). */
    void (*transpose32)(int64_t m, int64_t n, const void *src, int64_t lds, void *dst, int64_t ldd,
                        int nontemporal);
} nb_conv_desc;

/* The strided-rows backward-filter tiles (nb_conv_desc.bwf_rows). */
void nb_f32_conv_bwf_rows_ukernel_14x32__avx512(size_t m, size_t n, size_t nseg, const int64_t *seg,
                                                const float *a, ptrdiff_t lda, ptrdiff_t astep,
                                                const float *b, float *c, ptrdiff_t ldc, float beta);
void nb_f32_conv_bwf_rows_ukernel_6x16__avx2(size_t m, size_t n, size_t nseg, const int64_t *seg,
                                             const float *a, ptrdiff_t lda, ptrdiff_t astep,
                                             const float *b, float *c, ptrdiff_t ldc, float beta);

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

/* =================== reductions (src/reduce_driver.c) =================== */

/* Lanes of the row-sum accumulator and the fixed block sizes: part of the
   numerical contract (results depend on them, never on the thread count). */
#define NB_RSUM_LANES      32
#define NB_RSUM_BLOCK      4096   /* elements of one row segment */
#define NB_RSUM_COL_BLOCK  128    /* rows of one column segment */

/* One step of a max (is_max) / min over scalars with the rules of
   ref/reduce.c, for the SIMD kernels' strided rows: a NaN wins (the first
   one met), and on the +0/-0 tie the bits are AND-ed (max: +0) or OR-ed
   (min: -0), as the vector kernels do lane by lane. */
static inline float nb_f32_pick(float r, float v, int is_max) {
    if (r != r) return r;
    if (v != v) return v;
    if (r == v) {
        uint32_t br, bv;
        __builtin_memcpy(&br, &r, 4);
        __builtin_memcpy(&bv, &v, 4);
        const uint32_t b = is_max ? (br & bv) : (br | bv);
        float out;
        __builtin_memcpy(&out, &b, 4);
        return out;
    }
    return (is_max ? v > r : v < r) ? v : r;
}

/* Function types of the reduce and copy micro-kernels (members below). */
typedef void  nb_f32_rsum_ft(int64_t n, const float *x, int64_t incx, float *acc);
typedef float nb_f32_rpick_ft(int64_t n, const float *x, int64_t incx);
typedef void  nb_f32_rcol_ft(int64_t n, const float *x, float *acc);
typedef void  nb_f32_rcol4_ft(int64_t n, const float *const *x, float *acc);
typedef void  nb_f32_rrows_ft(int op, int64_t rows, int64_t n, const float *x, int64_t ldx,
                              float *out);
typedef void  nb_x32_transpose_ft(int64_t m, int64_t n, const void *src, int64_t lds, void *dst,
                                  int64_t ldd, int nontemporal);
typedef void  nb_x32_fill_ft(int64_t n, uint32_t value, void *dst);

typedef struct {
    /* acc[i % 32] += x[i * incx] for 0 <= i < n: element i of the call always
       goes to lane i mod 32, whatever incx (0 and negative allowed). */
    void (*rsum)(int64_t n, const float *x, int64_t incx, float *acc);
    /* max / min of x[i * incx], 0 <= i < n, n >= 1, with the rules of
       ref/reduce.c: any NaN gives NaN; -0 < +0. */
    float (*rmax)(int64_t n, const float *x, int64_t incx);
    float (*rmin)(int64_t n, const float *x, int64_t incx);
    /* acc[j] = acc[j] + x[j], max(acc[j], x[j]), min(acc[j], x[j]) for
       0 <= j < n, both contiguous; same NaN and signed-zero rules. */
    void (*raddcol)(int64_t n, const float *x, float *acc);
    void (*rmaxcol)(int64_t n, const float *x, float *acc);
    void (*rmincol)(int64_t n, const float *x, float *acc);
    /* Optional (NULL: the one-row kernels above, row after row). Four rows
       in one pass: acc[j] = op(op(op(op(acc[j], x[0][j]), x[1][j]), x[2][j]),
       x[3][j]), the operations and order of four one-row calls (same bits),
       with one accumulator round trip instead of four and four sequential
       streams in flight instead of one. */
    void (*raddcol4)(int64_t n, const float *const *x, float *acc);
    void (*rmaxcol4)(int64_t n, const float *const *x, float *acc);
    void (*rmincol4)(int64_t n, const float *const *x, float *acc);
    /* Optional (NULL: the row path serves short rows too). out[r] = op of
       x[r * ldx + c], 0 <= c < n, 0 <= r < rows, for rows of
       1 <= n <= NB_RROWS_MAX_N elements; op 0 = sum, 1 = max, 2 = min; a
       sum takes at most 16 roundings per row. */
    void (*rrows)(int op, int64_t rows, int64_t n, const float *x, int64_t ldx, float *out);
} nb_sreduce_ukernels;

#define NB_RROWS_MAX_N 64

/* ================ strided copies (src/copy_driver.c) ================ */

typedef struct {
    /* 4-byte elements: dst[i * ldd + j] = src[j * lds + i], 0 <= i < m,
       0 <= j < n (a 2-D transpose; src rows i are contiguous). nontemporal:
       a hint that dst will not be read soon (the copy exceeds the cache). */
    void (*transpose32)(int64_t m, int64_t n, const void *src, int64_t lds, void *dst, int64_t ldd,
                        int nontemporal);
    /* 4-byte elements: dst[0..n) = value (a broadcast source). */
    void (*fill32)(int64_t n, uint32_t value, void *dst);
} nb_copy_ukernels;

/* ============ elementwise: y[i] = f(x[i]), 0 <= i < n (y == x allowed) ============ */

typedef void nb_f32_vunary_ft(size_t n, const float *x, float *y);
typedef nb_f32_vunary_ft *nb_f32_vunary_fn;

/* Softmax / log-softmax of one contiguous row of n >= 1 floats. */
typedef void nb_f32_softmax_row_ft(size_t n, const float *x, float *y);
typedef nb_f32_softmax_row_ft *nb_f32_softmax_row_fn;

/* ===== elementwise binary rows and gradient rules (src/tensor/elementwise.c) =====
 *
 * Float32 rows of n elements, three layouts per op (XNNPACK's names):
 *   v<op>    y[i] = a[i] op b[i]     (vector-vector)
 *   v<op>c   y[i] = a[i] op c        (vector-scalar)
 *   vr<op>c  y[i] = c op a[i]        (scalar-vector: the reversed operands)
 * In place: y may be a (and, for v<op>, b) exactly; no other overlap.
 * Any alignment, any n >= 0; no element outside [0, n) is read or written.
 * Every element is ONE correctly rounded IEEE operation of its two
 * operands, no contraction, no flush-to-zero: every ISA's micro-kernel
 * gives the bits of the plain-C one (kernels/generic/), NaN aside, whose
 * payload may come from either operand when both are NaN. The ops:
 *   add, sub, mul, div   a op b
 *   eq                   1.0f where a == b, else +0.0f (NaN equals nothing)
 *   relugrad             +0.0f where b <= 0, else a (a = the gradient,
 *                        b = relu's output): PyTorch's threshold_backward,
 *                        so a NaN b passes a (NaN <= 0 is false).
 *   tanhgrad             a * (1 - b * b)    (a = the gradient, b = tanh's output)
 *   sigmoidgrad          a * (b * (1 - b))  (b = sigmoid's output)
 *                        three roundings each, in this order (never an
 *                        FMA): the bits of the composition of tensor ops
 *                        these rules were before.
 * gelu's gradient goes through double-precision libm (erf, exp), which no
 * SIMD kernel can match bit for bit, so it stays a plain strided row. */
typedef enum {
    NB_VBIN_ADD, NB_VBIN_SUB, NB_VBIN_MUL, NB_VBIN_DIV, NB_VBIN_EQ, NB_VBIN_RELU_GRAD,
    NB_VBIN_TANH_GRAD, NB_VBIN_SIGMOID_GRAD,
    NB_VBIN_COUNT
} nb_vbinary_op;

typedef void (*nb_f32_vbinary_fn)(size_t n, const float *a, const float *b, float *y);
typedef void (*nb_f32_vbinaryc_fn)(size_t n, const float *a, float c, float *y);

typedef struct {
    nb_f32_vbinary_fn vv;       /* v<op>   */
    nb_f32_vbinaryc_fn vc, rc;  /* v<op>c, vr<op>c */
} nb_f32_vbinary_ukernels;

/* ============ optimiser updates (src/nn/optim.c) ============
 *
 * One step of torch.optim's SGD / Adam over n contiguous float32
 * parameters, in place, each operation rounded as written (no FMA), in the
 * order of the tensor-op composition nabla used before (hyperparameters
 * rounded to float32 once, by the caller):
 *   sgd:  d = has_wd ? g + p*wd : g
 *         has_momentum: buf = first ? d : buf*momentum + d; d = buf
 *         p = p + d*nlr                                  (nlr = -lr)
 *   adam: g = has_wd ? g + p*wd : g
 *         m = m*b1 + g*c1;  v = v*b2 + (g*g)*c2          (c = 1 - b)
 *         p = p + (m / (sqrt(v / bc2) + eps)) * step     (step = -lr/bc1)
 * p, g, buf / m, v: any alignment, no overlap between them. */
typedef struct { float wd, momentum, nlr; int has_wd, has_momentum, first; } nb_sgd_hparams;
typedef struct { float wd, b1, c1, b2, c2, bc2, eps, step; int has_wd; } nb_adam_hparams;
typedef void (*nb_f32_sgd_fn)(size_t n, float *p, const float *g, float *buf,
                              const nb_sgd_hparams *h);
typedef void (*nb_f32_adam_fn)(size_t n, float *p, const float *g, float *m, float *v,
                               const nb_adam_hparams *h);

/* ==== 2-D pooling rows, batch-norm rows: src/ukernel_pool.h, src/ukernel_bnorm.h (this contract) ==== */
#include "ukernel_pool.h"
#include "ukernel_bnorm.h"

/* ============ an ISA's configuration: every micro-kernel it brings ============
 *
 * kernels/<isa>/config-<isa>.c fills one of these (its only entry point,
 * nb_<isa>_config); src/isa_ops.c runs the portable drivers over it. Every
 * entry must be set: the drivers call them without checking. conv.sgemm
 * and conv.gemm are filled in by src/isa_ops.c (the ISA's own GEMM).
 *
 * kernels/generic/config-generic.c: nb_generic_config() fills the families
 * that have plain-C micro-kernels (vbinary, sgd, adam, pooling and batch-norm rows), no other;
 * src/isa_ops.c calls it first for every SIMD ISA, and its result alone is
 * the configuration of NB_ISA_REF (whose other operations are ref/'s). */
typedef struct nb_ukernel_config {
    nb_gemm_desc gemm;
    /* The tile the convolution's packed paths (implicit im2col, Winograd)
       run, when it is not gemm's (mr == 0: gemm's): their B panels are at
       most NB_CONV_PLAN_LANES wide. */
    nb_gemm_desc conv_gemm;
    /* The Winograd filter panels' tile (conv.wino_gemm; mr == 0: conv's
       gemm). Only mr, nr, kc and ukernel are read. */
    nb_gemm_desc wino_gemm;
    nb_conv_desc conv;
    nb_sreduce_ukernels reduce;
    nb_copy_ukernels copy;
    nb_f32_vunary_fn unary[NB_UNARY_RELU + 1];   /* indexed by nb_unary_op */
    nb_f32_softmax_row_fn softmax, logsoftmax;
    /* Elementwise families (vbinary, sgd, adam): nb_generic_config() fills them
       with the plain-C micro-kernels before the ISA's config overrides its own. */
    nb_f32_vbinary_ukernels vbinary[NB_VBIN_COUNT];   /* indexed by nb_vbinary_op */
    nb_f32_sgd_fn sgd;
    nb_f32_adam_fn adam;
    nb_f32_maxpool_row_fn maxpool;   /* pooling rows: plain-C first, like the families above */
    nb_f32_avgpool_row_fn avgpool;
    nb_f32_maxpool_bwd_row_fn maxpool_bwd;
    nb_f32_maxpool2_planes_fn maxpool2;   /* optional (NULL: the rows) */
    nb_f32_maxpool2_planes_bwd_fn maxpool2_bwd;
    nb_f32_maxpool2_planes_fits_fn maxpool2_fits;   /* the planes' shapes (NULL: none) */
    nb_f32_bnorm_ukernels bnorm;     /* batch-norm rows: likewise */
} nb_ukernel_config;

void nb_generic_config(nb_ukernel_config *cfg);
/* void nb_<isa>_config(nb_ukernel_config *) of every ISA this build has. */
#define NB_DECLARE_CONFIG(name, value) void nb_##name##_config(nb_ukernel_config *cfg);
NB_BUILT_SIMD_ISAS(NB_DECLARE_CONFIG)
#undef NB_DECLARE_CONFIG

/* The machine's FMA peak on one ISA: iters iterations of independent FMA
   chains in registers (the registry line gives the flops an iteration);
   returns a value of the chains so that none is dead code. */
typedef float nb_fma_peak_ft(int64_t iters);

/* ============ the micro-kernels of every ISA: the registry ============ */

/* Prototypes from each built ISA's kernels/<isa>/ukernels.def (see
   src/ukernel_registry.h for the entry kinds). */
#define NB_UK_GEMM(fn, mr, nr)            nb_gemm_ukernel_ft fn;
#define NB_UK_GEMM_ADIRECT(fn, mr, nr)    nb_gemm_ukernel_adirect_ft fn;
#define NB_UK_GEMM_DIRECT(fn, mr, nr)     nb_gemm_ukernel_direct_ft fn;
#define NB_UK_PACKA(fn, mr)               nb_gemm_pack_a_ft fn;
#define NB_UK_PACKB(fn, nr)               nb_gemm_pack_b_ft fn;
#define NB_UK_GEMM_ROWS(fn, mr)           nb_gemm_rows_ft fn;
#define NB_UK_GEMM_ROWS_BT(fn, mr)        nb_gemm_rows_bt_ft fn;
#define NB_UK_IM2COL(fn)                  nb_conv_im2col_ft fn;
#define NB_UK_COL2IM(fn)                  nb_conv_col2im_ft fn;
#define NB_UK_PACKB_IM2COL(fn, nr)        nb_conv_pack_b_ft fn;
#define NB_UK_RSUM(fn)                    nb_f32_rsum_ft fn;
#define NB_UK_RPICK(fn, is_max)           nb_f32_rpick_ft fn;
#define NB_UK_RCOL(fn, op)                nb_f32_rcol_ft fn;
#define NB_UK_RCOL4(fn, op)               nb_f32_rcol4_ft fn;
#define NB_UK_RROWS(fn)                   nb_f32_rrows_ft fn;
#define NB_UK_TRANSPOSE32(fn, tile)       nb_x32_transpose_ft fn;
#define NB_UK_FILL32(fn)                  nb_x32_fill_ft fn;
#define NB_UK_VUNARY(fn, op, unroll)      nb_f32_vunary_ft fn;
#define NB_UK_SOFTMAX(fn, log)            nb_f32_softmax_row_ft fn;
#define NB_UK_PEAK(fn, flops_per_iter)    nb_fma_peak_ft fn;
#define NB_UK_MAXPOOL(fn)                 nb_f32_maxpool_row_ft fn;
#define NB_UK_AVGPOOL(fn)                 nb_f32_avgpool_row_ft fn;
#define NB_UK_WINO_IN(fn, lanes)          nb_wino_in_ft fn;
#define NB_UK_WINO_FILTER(fn)             nb_wino_filter_ft fn;
#define NB_UK_WINO_OUT(fn, lanes)         nb_wino_out_ft fn;
#define NB_UK_WINO_BFDY(fn, lanes)        nb_wino_bfdy_ft fn;
#define NB_UK_WINO_BFOUT(fn)              nb_wino_bfout_ft fn;
#define NB_UK_DWCONV_FWD(fn)              nb_dwconv_fwd_ft fn;
#define NB_UK_DWCONV_BWF(fn)              nb_dwconv_bwf_ft fn;
#define NB_UK_DWCONV_BWD(fn)              nb_dwconv_bwd_ft fn;
#define NB_UK_DWCONV_BWF_SUM(fn)          nb_dwconv_bwf_sum_ft fn;
#define NB_UK_PWCONV(fn, mr, nr)          nb_pwconv_ft fn;
#include "ukernel_registry.h"

/* ============ elementwise micro-kernels of every ISA: the registry ============
 *
 * X(op, name, isa, isa_tag) names the three micro-kernels of one op on one
 * ISA, nb_f32_v<name>_ukernel__<isa_tag> (nb_f32_vbinary_fn),
 * nb_f32_v<name>c_ukernel__<isa_tag> and nb_f32_vr<name>c_ukernel__<isa_tag>
 * (nb_f32_vbinaryc_fn); their twins are the __scalar ones (kernels/generic/,
 * baseline flags). An ISA's registry (kernels/<isa>/ukernels.def) lists its
 * tag with NB_UK_VBINARY(tag); the prototypes below,
 * tests/test_ukernel_vbinary.c and bench/bench_ukernel_ew.cc come from it;
 * a file defines each function by its full name. */
#define NB_F32_VBINARY_OPS(X, isa, tag)                                     \
    X(NB_VBIN_ADD, add, isa, tag) X(NB_VBIN_SUB, sub, isa, tag)             \
    X(NB_VBIN_MUL, mul, isa, tag) X(NB_VBIN_DIV, div, isa, tag)             \
    X(NB_VBIN_EQ, eq, isa, tag) X(NB_VBIN_RELU_GRAD, relugrad, isa, tag)   \
    X(NB_VBIN_TANH_GRAD, tanhgrad, isa, tag)                                \
    X(NB_VBIN_SIGMOID_GRAD, sigmoidgrad, isa, tag)
#define NB_F32_VBINARY_DECLARE(op, name, isa, tag)                                            \
    void nb_f32_v##name##_ukernel__##tag(size_t n, const float *a, const float *b, float *y); \
    void nb_f32_v##name##c_ukernel__##tag(size_t n, const float *a, float c, float *y);       \
    void nb_f32_vr##name##c_ukernel__##tag(size_t n, const float *a, float c, float *y);

/* In an ISA's nb_<isa>_config(nb_ukernel_config *cfg):
   NB_F32_VBINARY_OPS(NB_F32_VBINARY_SET, isa, tag) sets every vbinary entry
   to that ISA's micro-kernels of the registry (so the configuration and
   the registry the tests run cannot disagree). */
#define NB_F32_VBINARY_SET(op, name, isa, tag)                                               \
    cfg->vbinary[op] = (nb_f32_vbinary_ukernels){nb_f32_v##name##_ukernel__##tag,            \
                                                 nb_f32_v##name##c_ukernel__##tag,           \
                                                 nb_f32_vr##name##c_ukernel__##tag};

/* The optimiser micro-kernels of one ISA tag: nb_f32_sgd_ukernel__<tag>, nb_f32_adam_ukernel__<tag>. */
#define NB_F32_OPTIM_DECLARE(isa, tag)                                                     \
    void nb_f32_sgd_ukernel__##tag(size_t n, float *p, const float *g, float *buf,          \
                                   const nb_sgd_hparams *h);                                 \
    void nb_f32_adam_ukernel__##tag(size_t n, float *p, const float *g, float *m, float *v, \
                                    const nb_adam_hparams *h);

/* Their prototypes, from the registries (NB_UK_VBINARY(tag), NB_UK_OPTIM(tag)
   lines of kernels/<isa>/ukernels.def, kernels/generic/ukernels.def for the
   plain-C twins). */
#define NB_UK_VBINARY(tag) NB_F32_VBINARY_OPS(NB_F32_VBINARY_DECLARE, NB_UK_ISA, tag)
#define NB_UK_OPTIM(tag) NB_F32_OPTIM_DECLARE(NB_UK_ISA, tag)
#include "ukernel_registry.h"

#ifdef __cplusplus
}
#endif

#endif
