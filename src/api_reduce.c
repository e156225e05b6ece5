/* Public reduction entry points: validate once, then dispatch.
 *
 * Checks, in order (each failure names the function and the argument, and
 * nothing is written):
 *   op is a nb_reduce_op; 0 <= ndim <= NB_MAX_DIMS; shape/strides non-NULL
 *   when ndim > 0; shape[i] >= 0; axes_mask has no bit >= ndim; the element
 *   counts and the extents of x and y fit int64 (NB_ERR_OVERFLOW); y has no
 *   stride 0 on a kept dim of size > 1 (its elements would overlap); x and y
 *   are non-NULL when they hold data; max/min of an empty reduced set with a
 *   non-empty output is NB_ERR_SHAPE; y provably overlapping x is
 *   NB_ERR_ALIAS (nd_iter.h: byte ranges intersect and one view is dense,
 *   or their first, lowest or highest elements meet).
 * An output with no elements is valid and does nothing. As in PyTorch, y
 * overlapping itself through non-zero strides, and x and y views with holes
 * whose ranges interleave, are not detected ("too hard to tell"): the
 * result is correct when no element is shared, unspecified otherwise.
 */
#include <stdio.h>

#include "internal.h"
#include "kernels_table.h"
#include "nd_iter.h"

static nb_status validate(const char *fn, nb_reduce_op op, int ndim, const int64_t *shape,
                          const void *x, const int64_t *xs, uint64_t mask, const void *y,
                          const int64_t *ys, size_t es, int64_t *nout_out) {
    if ((int)op < (int)NB_REDUCE_SUM || (int)op > (int)NB_REDUCE_MIN)
        return nb_error(NB_ERR_ARG, fn, "op = %d is not a nb_reduce_op", (int)op);
    if (ndim < 0 || ndim > NB_MAX_DIMS)
        return nb_error(NB_ERR_ARG, fn, "ndim = %d is outside 0..%d", ndim, NB_MAX_DIMS);
    if (ndim > 0 && shape == NULL) return nb_error(NB_ERR_ARG, fn, "shape is NULL with ndim = %d", ndim);
    if (ndim > 0 && xs == NULL) return nb_error(NB_ERR_ARG, fn, "x_strides is NULL with ndim = %d", ndim);
    if (ndim > 0 && ys == NULL) return nb_error(NB_ERR_ARG, fn, "y_strides is NULL with ndim = %d", ndim);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            return nb_error(NB_ERR_ARG, fn, "shape[%d] = %lld is negative", i, (long long)shape[i]);
    if (ndim < 64 && (mask >> ndim) != 0)
        return nb_error(NB_ERR_ARG, fn, "axes_mask = 0x%llx has a bit at or above ndim = %d",
                        (unsigned long long)mask, ndim);
    int64_t yshape[NB_MAX_DIMS], ystr[NB_MAX_DIMS], nx, ny;
    bool reduced_empty = false;
    for (int i = 0; i < ndim; i++) {
        const bool red = mask >> i & 1;
        yshape[i] = red ? 1 : shape[i];
        ystr[i] = red ? 0 : ys[i];            /* ignored on reduced axes */
        if (red && shape[i] == 0) reduced_empty = true;
    }
    if (!nb_numel_ok(ndim, shape, &nx))
        return nb_error(NB_ERR_OVERFLOW, fn, "the element count of x overflows int64");
    /* y can overflow when x is empty through a reduced axis of size 0. */
    if (!nb_numel_ok(ndim, yshape, &ny))
        return nb_error(NB_ERR_OVERFLOW, fn, "the element count of y overflows int64");
    *nout_out = ny;
    for (int i = 0; i < ndim; i++)
        if (!(mask >> i & 1) && shape[i] > 1 && ys[i] == 0)
            return nb_error(NB_ERR_ARG, fn, "y_strides[%d] = 0 on a kept dim of size %lld "
                            "(y elements would overlap)", i, (long long)shape[i]);
    if (ny == 0) return NB_OK;
    if (reduced_empty && (op == NB_REDUCE_MAX || op == NB_REDUCE_MIN))
        return nb_error(NB_ERR_SHAPE, fn, "%s of an empty reduced set (a reduced axis has size 0)",
                        op == NB_REDUCE_MAX ? "max" : "min");
    if (y == NULL) return nb_error(NB_ERR_ARG, fn, "y is NULL for %lld outputs", (long long)ny);
    nb_view_span vy = {y, 0, 0, false}, vx = {x, 0, 0, false};
    if (!nb_extent_ok(ndim, yshape, ystr, es, &vy.lo, &vy.hi))
        return nb_error(NB_ERR_OVERFLOW, fn, "the extent of y (shape with y_strides) overflows int64");
    if (nx == 0) return NB_OK;
    if (x == NULL) return nb_error(NB_ERR_ARG, fn, "x is NULL for %lld elements", (long long)nx);
    if (!nb_extent_ok(ndim, shape, xs, es, &vx.lo, &vx.hi))
        return nb_error(NB_ERR_OVERFLOW, fn, "the extent of x (shape with x_strides) overflows int64");
    vx.dense = nb_view_dense(ndim, shape, xs);
    vy.dense = nb_view_dense(ndim, yshape, ystr);
    if (nb_views_provably_overlap(&vy, &vx, es))
        return nb_error(NB_ERR_ALIAS, fn, "y overlaps x");
    return NB_OK;
}

/* `sep`-joined int64s (shape, strides) into buf. */
static void join(char *buf, size_t len, const int64_t *v, int n, const char *sep) {
    int k = 0;
    buf[0] = 0;
    for (int i = 0; i < n && k < (int)len - 24; i++)
        k += snprintf(buf + k, len - (size_t)k, "%s%lld", i ? sep : "", (long long)v[i]);
}

/* Every argument that shapes the call (strides included), for replay. */
static void trace(const char *fn, nb_reduce_op op, int ndim, const int64_t *shape, uint64_t mask,
                  const int64_t *xs, const int64_t *ys, double t0) {
    char dims[200], xst[200], yst[200];
    join(dims, sizeof dims, shape, ndim, "x");
    join(xst, sizeof xst, xs, ndim, ",");
    join(yst, sizeof yst, ys, ndim, ",");
    fprintf(stderr, "nabla: %s isa=%s op=%d shape=%s mask=0x%llx x_strides=%s y_strides=%s threads=%d "
            "time=%.3f ms\n", fn, nb_isa_name(nb_isa_active()), (int)op, dims, (unsigned long long)mask,
            xst, yst, nb_get_num_threads(), 1e3 * (nb_now_seconds() - t0));
}

nb_status nb_sreduce(nb_reduce_op op, int ndim, const int64_t *shape, const float *x,
                     const int64_t *x_strides, uint64_t axes_mask, float *y,
                     const int64_t *y_strides) {
    int64_t ny = 0;
    nb_status s = validate("nb_sreduce", op, ndim, shape, x, x_strides, axes_mask, y, y_strides,
                           sizeof(float), &ny);
    if (s != NB_OK || ny == 0) return s;
    const bool verbose = nb_verbose_enabled();
    const double t0 = verbose ? nb_now_seconds() : 0.0;
    s = nb_kernels_active()->sreduce(op, ndim, shape, x, x_strides, axes_mask, y, y_strides);
    if (verbose) trace("nb_sreduce", op, ndim, shape, axes_mask, x_strides, y_strides, t0);
    if (s != NB_OK) return nb_error(s, "nb_sreduce", "backend failed: %s", nb_status_str(s));
    return s;
}

nb_status nb_dreduce(nb_reduce_op op, int ndim, const int64_t *shape, const double *x,
                     const int64_t *x_strides, uint64_t axes_mask, double *y,
                     const int64_t *y_strides) {
    int64_t ny = 0;
    nb_status s = validate("nb_dreduce", op, ndim, shape, x, x_strides, axes_mask, y, y_strides,
                           sizeof(double), &ny);
    if (s != NB_OK || ny == 0) return s;
    const bool verbose = nb_verbose_enabled();
    const double t0 = verbose ? nb_now_seconds() : 0.0;
    s = nb_kernels_active()->dreduce(op, ndim, shape, x, x_strides, axes_mask, y, y_strides);
    if (verbose) trace("nb_dreduce", op, ndim, shape, axes_mask, x_strides, y_strides, t0);
    if (s != NB_OK) return nb_error(s, "nb_dreduce", "backend failed: %s", nb_status_str(s));
    return s;
}
