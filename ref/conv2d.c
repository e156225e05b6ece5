/* Reference 2-D convolution (NCHW x OIHW -> NKPQ, cross-correlation as
 * PyTorch), float32 and float64: im2col + nb_ref_[sd]gemm per image and per
 * group. The arithmetic lives in the reference GEMM (double accumulator) and
 * col2im (fixed-order adds), so this file is only index bookkeeping; the
 * type-generic body is ref/conv2d_tmpl.h.
 *
 * Arguments were validated by src/api_conv.c. This backend also receives the
 * degenerate shapes (any of n, c, h, w, k == 0; then x, w or dy may be NULL)
 * and writes every output element that exists (an empty sum is 0).
 */
#include "internal.h"
#include "ref.h"

static void conv_out_shape(const nb_conv2d_desc *d, int64_t *P, int64_t *Q) {
    *P = (d->h + 2 * d->pad_h - d->dilation_h * (d->r - 1) - 1) / d->stride_h + 1;
    *Q = (d->w + 2 * d->pad_w - d->dilation_w * (d->s - 1) - 1) / d->stride_w + 1;
}

/* rows x cols elements of elem bytes, 64-byte aligned; NULL when the size
   overflows or the allocation fails (the caller reports NB_ERR_OOM). */
static void *alloc_scratch(int64_t rows, int64_t cols, size_t elem) {
    int64_t n, bytes;
    if (!nb_mul_ok(rows, cols, &n) || !nb_mul_ok(n, (int64_t)elem, &bytes)) return NULL;
    return nb_aligned_alloc((size_t)bytes);
}

#define T float
#define FN(x) nb_ref_s##x
#include "conv2d_tmpl.h"
#undef T
#undef FN

#define T double
#define FN(x) nb_ref_d##x
#include "conv2d_tmpl.h"
#undef T
#undef FN
