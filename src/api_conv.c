/* Public 2-D convolution entry points (float32 and float64): validate once,
 * then dispatch.
 *
 * The checks, their order and their messages are the same for every function
 * and both precisions: the desc (NULL: NB_ERR_ARG; a field out of range or an
 * empty output: NB_ERR_SHAPE), then the sizes (an element or byte count that
 * overflows int64: NB_ERR_OVERFLOW), then the pointers (NULL for a tensor
 * with elements: NB_ERR_ARG; an output overlapping another tensor:
 * NB_ERR_ALIAS). Nothing is written before all of them pass.
 *
 * Degenerate shapes (any of n, c, h, w, k == 0) go to the reference backend,
 * which writes every output element that exists (an empty sum is 0), so the
 * SIMD backends only ever see tensors that all have elements.
 */
#include <stdio.h>

#include "api_conv.h"
#include "internal.h"
#include "kernels_table.h"

typedef nb_conv_counts conv_geom;
typedef nb_conv_tensor_arg tensor_arg;

static nb_status check_at_least(const char *fn, const char *field, int64_t v, int64_t min) {
    if (v >= min) return NB_OK;
    if (min == 0) return nb_error(NB_ERR_SHAPE, fn, "%s = %lld is negative", field, (long long)v);
    return nb_error(NB_ERR_SHAPE, fn, "%s = %lld must be >= %lld", field, (long long)v,
                    (long long)min);
}

/* P (or Q) for one spatial axis: (in + 2 pad - dilation (kernel - 1) - 1) / stride + 1. */
static nb_status out_extent(const char *fn, const char *out_name, const char *in_name,
                            const char *pad_name, const char *ker_name, const char *dil_name,
                            int64_t in, int64_t pad, int64_t ker, int64_t dil, int64_t stride,
                            int64_t *out) {
    int64_t padded, span;
    if (!nb_mul_ok(pad, 2, &padded) || !nb_add_ok(padded, in, &padded))
        return nb_error(NB_ERR_OVERFLOW, fn, "%s + 2 %s = %lld + 2 x %lld overflows int64",
                        in_name, pad_name, (long long)in, (long long)pad);
    if (!nb_mul_ok(dil, ker - 1, &span))
        return nb_error(NB_ERR_OVERFLOW, fn, "%s (%s - 1) = %lld x %lld overflows int64",
                        dil_name, ker_name, (long long)dil, (long long)(ker - 1));
    /* span + 1 is the dilated kernel's extent; comparing before dividing
       avoids C's truncation toward zero turning a negative size into 1. */
    if (span >= padded)
        return nb_error(NB_ERR_SHAPE, fn,
                        "output would be empty: %s < 1 (%s (%s - 1) = %lld is not below "
                        "%s + 2 %s = %lld; %s = %lld, %s = %lld, %s = %lld, %s = %lld)",
                        out_name, dil_name, ker_name, (long long)span, in_name, pad_name,
                        (long long)padded, in_name, (long long)in, pad_name, (long long)pad,
                        ker_name, (long long)ker, dil_name, (long long)dil);
    *out = nb_conv_out_len(in, pad, ker, dil, stride);
    return NB_OK;
}

/* Elements of a tensor of the given dims; the product of the non-zero dims
   and its size in bytes must fit int64, so every partial product a backend
   forms (h w, c h w, ...) is representable even when another dim is 0. */
static nb_status tensor_numel(const char *fn, const char *name, const char *dims,
                              const int64_t *dim, int ndim, size_t elem, int64_t *numel) {
    int64_t bound = 1, bytes;
    bool empty = false;
    for (int i = 0; i < ndim; i++) {
        if (dim[i] == 0) { empty = true; continue; }
        if (!nb_mul_ok(bound, dim[i], &bound))
            return nb_error(NB_ERR_OVERFLOW, fn, "%s: %s overflows int64", name, dims);
    }
    if (!nb_mul_ok(bound, (int64_t)elem, &bytes))
        return nb_error(NB_ERR_OVERFLOW, fn,
                        "%s: %s = %lld elements, the size in bytes overflows int64", name, dims,
                        (long long)bound);
    *numel = empty ? 0 : bound;
    return NB_OK;
}

static nb_status validate_desc(const char *fn, const nb_conv2d_desc *d, size_t elem, conv_geom *g) {
    if (d == NULL) return nb_error(NB_ERR_ARG, fn, "desc is NULL");
    nb_status s;
    if ((s = check_at_least(fn, "n", d->n, 0)) || (s = check_at_least(fn, "c", d->c, 0)) ||
        (s = check_at_least(fn, "h", d->h, 0)) || (s = check_at_least(fn, "w", d->w, 0)) ||
        (s = check_at_least(fn, "k", d->k, 0)) || (s = check_at_least(fn, "r", d->r, 1)) ||
        (s = check_at_least(fn, "s", d->s, 1)) ||
        (s = check_at_least(fn, "stride_h", d->stride_h, 1)) ||
        (s = check_at_least(fn, "stride_w", d->stride_w, 1)) ||
        (s = check_at_least(fn, "pad_h", d->pad_h, 0)) ||
        (s = check_at_least(fn, "pad_w", d->pad_w, 0)) ||
        (s = check_at_least(fn, "dilation_h", d->dilation_h, 1)) ||
        (s = check_at_least(fn, "dilation_w", d->dilation_w, 1)) ||
        (s = check_at_least(fn, "groups", d->groups, 1)))
        return s;
    if (d->c % d->groups != 0)
        return nb_error(NB_ERR_SHAPE, fn, "groups = %lld does not divide c = %lld",
                        (long long)d->groups, (long long)d->c);
    if (d->k % d->groups != 0)
        return nb_error(NB_ERR_SHAPE, fn, "groups = %lld does not divide k = %lld",
                        (long long)d->groups, (long long)d->k);
    if ((s = out_extent(fn, "P", "h", "pad_h", "r", "dilation_h", d->h, d->pad_h, d->r,
                        d->dilation_h, d->stride_h, &g->P)) ||
        (s = out_extent(fn, "Q", "w", "pad_w", "s", "dilation_w", d->w, d->pad_w, d->s,
                        d->dilation_w, d->stride_w, &g->Q)))
        return s;
    const int64_t xd[] = {d->n, d->c, d->h, d->w};
    const int64_t wd[] = {d->k, d->c / d->groups, d->r, d->s};
    const int64_t yd[] = {d->n, d->k, g->P, g->Q};
    if ((s = tensor_numel(fn, "x", "n x c x h x w", xd, 4, elem, &g->nx)) ||
        (s = tensor_numel(fn, "w", "k x c/groups x r x s", wd, 4, elem, &g->nw)) ||
        (s = tensor_numel(fn, "y", "n x k x P x Q", yd, 4, elem, &g->ny)))
        return s;
    return NB_OK;
}

static nb_status check_tensors(const char *fn, const tensor_arg *t, int count, size_t elem) {
    for (int i = 0; i < count; i++)
        if (t[i].p == NULL && t[i].numel > 0 && !t[i].may_be_null)
            return nb_error(NB_ERR_ARG, fn, "%s is NULL for a tensor of %lld elements",
                            t[i].name, (long long)t[i].numel);
    /* Each output against every input, and against the outputs before it. */
    for (int i = 0; i < count; i++) {
        if (!t[i].is_output) continue;
        for (int j = 0; j < count; j++) {
            if (j == i || (t[j].is_output && j > i)) continue;
            if (nb_ranges_overlap(t[i].p, (size_t)t[i].numel * elem, t[j].p, (size_t)t[j].numel * elem))
                return nb_error(NB_ERR_ALIAS, fn, "%s overlaps %s", t[i].name, t[j].name);
        }
    }
    return NB_OK;
}

/* The reference table takes the degenerate shapes (see the file comment). */
static const struct nb_kernels *table_for(const nb_conv2d_desc *d) {
    const bool full = d->n > 0 && d->c > 0 && d->h > 0 && d->w > 0 && d->k > 0;
    return full ? nb_kernels_active() : &nb_kernels_ref;
}

/* bias: the call had a bias (forward) or a dbias (backward filter). */
static void trace(const char *fn, const struct nb_kernels *t, const nb_conv2d_desc *d, int bias,
                  double t0) {
    fprintf(stderr,
            "nabla: %s isa=%s n=%lld c=%lld h=%lld w=%lld k=%lld r=%lld s=%lld stride=%lldx%lld "
            "pad=%lldx%lld dilation=%lldx%lld groups=%lld bias=%d time=%.3f ms\n",
            fn, nb_isa_name(t->isa), (long long)d->n, (long long)d->c, (long long)d->h,
            (long long)d->w, (long long)d->k, (long long)d->r, (long long)d->s,
            (long long)d->stride_h, (long long)d->stride_w, (long long)d->pad_h,
            (long long)d->pad_w, (long long)d->dilation_h, (long long)d->dilation_w,
            (long long)d->groups, bias, 1e3 * (nb_now_seconds() - t0));
}

/* A backend fails only for want of working memory (its arguments were
   validated here): say so, naming the entry point. */
static nb_status backend_status(const char *fn, nb_status s) {
    if (s == NB_OK) return s;
    return nb_error(s, fn, "%s", s == NB_ERR_OOM ? "out of memory for the working buffers"
                                                  : "the backend failed");
}

/* Element counts only (elem = 1): the byte sizes depend on the dtype the
   caller will use, and the tensor functions check them. */
nb_status nb_conv2d_out_shape(const nb_conv2d_desc *d, int64_t *p, int64_t *q) {
    static const char fn[] = "nb_conv2d_out_shape";
    conv_geom g;
    nb_status s = validate_desc(fn, d, 1, &g);
    if (s != NB_OK) return s;
    if (p == NULL) return nb_error(NB_ERR_ARG, fn, "p is NULL");
    if (q == NULL) return nb_error(NB_ERR_ARG, fn, "q is NULL");
    *p = g.P;
    *q = g.Q;
    return NB_OK;
}

/* The six entry points share one body per direction: validate, check the
   tensors, run the slot of the precision's element size. */
typedef enum { CONV_FWD, CONV_BWD_DATA, CONV_BWD_FILTER } conv_dir;

static nb_status conv_call(const char *fn, conv_dir dir, size_t es, const nb_conv2d_desc *d,
                           const void *in, const void *w, const void *in2, void *out, void *out2) {
    conv_geom g;
    nb_status s = validate_desc(fn, d, es, &g);
    if (s != NB_OK) return s;
    /* in, w, in2, out, out2 per direction:
       forward        x, w, bias, y, -
       backward-data  dy, w, -, dx, -
       backward-filter x, -, dy, dw, dbias */
    if (dir == CONV_FWD) {
        const tensor_arg t[] = {{"y", out, g.ny, 1, 0}, {"x", in, g.nx, 0, 0},
                                {"w", w, g.nw, 0, 0}, {"bias", in2, d->k, 0, 1}};
        if ((s = check_tensors(fn, t, 4, es)) != NB_OK || g.ny == 0) return s;
    } else if (dir == CONV_BWD_DATA) {
        const tensor_arg t[] = {{"dx", out, g.nx, 1, 0}, {"dy", in, g.ny, 0, 0},
                                {"w", w, g.nw, 0, 0}};
        if ((s = check_tensors(fn, t, 3, es)) != NB_OK || g.nx == 0) return s;
    } else {
        const tensor_arg t[] = {{"dw", out, g.nw, 1, 0}, {"dbias", out2, d->k, 1, 1},
                                {"x", in, g.nx, 0, 0}, {"dy", in2, g.ny, 0, 0}};
        if ((s = check_tensors(fn, t, 4, es)) != NB_OK) return s;
        if (g.nw == 0 && (out2 == NULL || d->k == 0)) return NB_OK;
    }
    const bool verbose = nb_verbose_enabled();
    const double t0 = verbose ? nb_now_seconds() : 0.0;
    const struct nb_kernels *kt = table_for(d);
    const bool f32 = es == sizeof(float);
    switch (dir) {
    case CONV_FWD:
        s = f32 ? kt->sconv2d_forward(d, in, w, in2, out) : kt->dconv2d_forward(d, in, w, in2, out);
        break;
    case CONV_BWD_DATA:
        s = f32 ? kt->sconv2d_backward_data(d, in, w, out) : kt->dconv2d_backward_data(d, in, w, out);
        break;
    case CONV_BWD_FILTER:
        s = f32 ? kt->sconv2d_backward_filter(d, in, in2, out, out2)
                : kt->dconv2d_backward_filter(d, in, in2, out, out2);
        break;
    }
    s = backend_status(fn, s);
    if (verbose) trace(fn, kt, d, dir == CONV_FWD ? in2 != NULL : out2 != NULL, t0);
    return s;
}

nb_status nb_sconv2d_forward(const nb_conv2d_desc *d, const float *x, const float *w,
                             const float *bias, float *y) {
    return conv_call("nb_sconv2d_forward", CONV_FWD, sizeof(float), d, x, w, bias, y, NULL);
}
nb_status nb_dconv2d_forward(const nb_conv2d_desc *d, const double *x, const double *w,
                             const double *bias, double *y) {
    return conv_call("nb_dconv2d_forward", CONV_FWD, sizeof(double), d, x, w, bias, y, NULL);
}
nb_status nb_sconv2d_backward_data(const nb_conv2d_desc *d, const float *dy, const float *w,
                                   float *dx) {
    return conv_call("nb_sconv2d_backward_data", CONV_BWD_DATA, sizeof(float), d, dy, w, NULL, dx,
                     NULL);
}
nb_status nb_dconv2d_backward_data(const nb_conv2d_desc *d, const double *dy, const double *w,
                                   double *dx) {
    return conv_call("nb_dconv2d_backward_data", CONV_BWD_DATA, sizeof(double), d, dy, w, NULL, dx,
                     NULL);
}
nb_status nb_sconv2d_backward_filter(const nb_conv2d_desc *d, const float *x, const float *dy,
                                     float *dw, float *dbias) {
    return conv_call("nb_sconv2d_backward_filter", CONV_BWD_FILTER, sizeof(float), d, x, NULL, dy,
                     dw, dbias);
}
nb_status nb_dconv2d_backward_filter(const nb_conv2d_desc *d, const double *x, const double *dy,
                                     double *dw, double *dbias) {
    return conv_call("nb_dconv2d_backward_filter", CONV_BWD_FILTER, sizeof(double), d, x, NULL,
                     dy, dw, dbias);
}

/* The checks and the dispatch above, for src/api_conv_packed.c. */
nb_status nb_conv_api_validate(const char *fn, const nb_conv2d_desc *d, size_t elem,
                               nb_conv_counts *g) {
    return validate_desc(fn, d, elem, g);
}
nb_status nb_conv_api_check_tensors(const char *fn, const nb_conv_tensor_arg *t, int count,
                                    size_t elem) {
    return check_tensors(fn, t, count, elem);
}
const struct nb_kernels *nb_conv_api_table(const nb_conv2d_desc *d) { return table_for(d); }
nb_status nb_conv_api_status(const char *fn, nb_status s) { return backend_status(fn, s); }
