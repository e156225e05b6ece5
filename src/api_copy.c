/* Public strided copy: validate once, then dispatch.
 *
 * Checks, in order (each failure names the function and the argument, and
 * nothing is written): elem_size >= 1 (any size; 1/2/4/8 have fast
 * paths); 0 <= ndim <= NB_MAX_DIMS; shape/strides non-NULL when ndim > 0;
 * shape[i] >= 0; the element count fits int64; then, when there is data:
 * src and dst non-NULL; dst has no stride 0 on a dim of size > 1
 * (NB_ERR_ARG); the byte extents fit int64 (NB_ERR_OVERFLOW); dst provably
 * overlapping src (NB_ERR_ALIAS).
 *
 * Overlap policy (as PyTorch's copy_):
 *   - dst and src the IDENTICAL view (same pointer, same stride on every dim
 *     of size > 1) is a no-op: NB_OK, nothing written (every element would
 *     be copied onto itself).
 *   - otherwise, byte ranges that intersect are an overlap when either view
 *     is dense (covers its range without holes, even if its own elements
 *     overlap: strides {1, 1}), or when the first, the lowest or the
 *     highest elements of the two views meet: NB_ERR_ALIAS.
 *   - two views with holes whose ranges intersect otherwise (e.g. dst = the
 *     even elements, src = the odd elements of one buffer) cannot be decided
 *     cheaply; they are allowed, and the copy is correct when they share no
 *     element. If they do share one, the result is unspecified.
 *   - dst overlapping ITSELF through strides other than 0 (e.g. shape 3x3,
 *     strides 1,1) is not detected either (PyTorch: "too hard"); which
 *     source element lands in a shared dst element is then unspecified.
 */
#include <stdio.h>

#include "internal.h"
#include "kernels_table.h"
#include "nd_iter.h"

static const char *const FN = "nb_copy_strided";

/* NB_OK with *nothing set when the call has nothing to do. */
static nb_status validate(size_t es, int ndim, const int64_t *shape, const void *src,
                          const int64_t *ss, const void *dst, const int64_t *ds, bool *nothing) {
    *nothing = true;
    if (es == 0) return nb_error(NB_ERR_ARG, FN, "elem_size is 0");
    if (es > (size_t)INT64_MAX)
        return nb_error(NB_ERR_OVERFLOW, FN, "elem_size = %zu overflows int64", es);
    if (ndim < 0 || ndim > NB_MAX_DIMS)
        return nb_error(NB_ERR_ARG, FN, "ndim = %d is outside 0..%d", ndim, NB_MAX_DIMS);
    if (ndim > 0 && shape == NULL) return nb_error(NB_ERR_ARG, FN, "shape is NULL with ndim = %d", ndim);
    if (ndim > 0 && ss == NULL) return nb_error(NB_ERR_ARG, FN, "src_strides is NULL with ndim = %d", ndim);
    if (ndim > 0 && ds == NULL) return nb_error(NB_ERR_ARG, FN, "dst_strides is NULL with ndim = %d", ndim);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            return nb_error(NB_ERR_ARG, FN, "shape[%d] = %lld is negative", i, (long long)shape[i]);
    int64_t n;
    if (!nb_numel_ok(ndim, shape, &n))
        return nb_error(NB_ERR_OVERFLOW, FN, "the element count overflows int64");
    if (n == 0) return NB_OK;
    if (src == NULL) return nb_error(NB_ERR_ARG, FN, "src is NULL for %lld elements", (long long)n);
    if (dst == NULL) return nb_error(NB_ERR_ARG, FN, "dst is NULL for %lld elements", (long long)n);
    for (int i = 0; i < ndim; i++)
        if (shape[i] > 1 && ds[i] == 0)
            return nb_error(NB_ERR_ARG, FN, "dst_strides[%d] = 0 on a dim of size %lld "
                            "(dst elements would overlap)", i, (long long)shape[i]);
    nb_view_span vs = {src, 0, 0, false}, vd = {dst, 0, 0, false};
    if (!nb_extent_ok(ndim, shape, ss, es, &vs.lo, &vs.hi))
        return nb_error(NB_ERR_OVERFLOW, FN, "the extent of src (shape with src_strides) overflows int64");
    if (!nb_extent_ok(ndim, shape, ds, es, &vd.lo, &vd.hi))
        return nb_error(NB_ERR_OVERFLOW, FN, "the extent of dst (shape with dst_strides) overflows int64");
    bool identical = src == dst;
    for (int i = 0; i < ndim && identical; i++)
        if (shape[i] > 1 && ss[i] != ds[i]) identical = false;
    if (identical) return NB_OK;
    vs.dense = nb_view_dense(ndim, shape, ss);
    vd.dense = nb_view_dense(ndim, shape, ds);
    if (nb_views_provably_overlap(&vd, &vs, es))
        return nb_error(NB_ERR_ALIAS, FN, "dst overlaps src");
    *nothing = false;
    return NB_OK;
}

/* Every argument that shapes the call (strides included), for replay. */
static void trace(size_t elem_size, int ndim, const int64_t *shape, const int64_t *ss,
                  const int64_t *ds, double t0) {
    char dims[200] = "", sst[200] = "", dst[200] = "";
    int a = 0, b = 0, c = 0;
    for (int i = 0; i < ndim && a < (int)sizeof dims - 24 && b < (int)sizeof sst - 24 &&
                    c < (int)sizeof dst - 24; i++) {
        a += snprintf(dims + a, sizeof dims - (size_t)a, "%s%lld", i ? "x" : "", (long long)shape[i]);
        b += snprintf(sst + b, sizeof sst - (size_t)b, "%s%lld", i ? "," : "", (long long)ss[i]);
        c += snprintf(dst + c, sizeof dst - (size_t)c, "%s%lld", i ? "," : "", (long long)ds[i]);
    }
    fprintf(stderr, "nabla: %s isa=%s elem=%zu shape=%s src_strides=%s dst_strides=%s threads=%d "
            "time=%.3f ms\n", FN, nb_isa_name(nb_isa_active()), elem_size, dims, sst, dst,
            nb_get_num_threads(), 1e3 * (nb_now_seconds() - t0));
}

nb_status nb_copy_strided(size_t elem_size, int ndim, const int64_t *shape, const void *src,
                          const int64_t *src_strides, void *dst, const int64_t *dst_strides) {
    bool nothing;
    nb_status s = validate(elem_size, ndim, shape, src, src_strides, dst, dst_strides, &nothing);
    if (s != NB_OK || nothing) return s;
    const bool verbose = nb_verbose_enabled();
    const double t0 = verbose ? nb_now_seconds() : 0.0;
    s = nb_kernels_active()->copy_strided(elem_size, ndim, shape, src, src_strides, dst, dst_strides);
    if (verbose) trace(elem_size, ndim, shape, src_strides, dst_strides, t0);
    if (s != NB_OK) return nb_error(s, FN, "backend failed: %s", nb_status_str(s));
    return s;
}
