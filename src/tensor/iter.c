/* Strided N-d loops of the tensor layer (elementwise ops have no kernel in
 * the ABI; they are plain C here) and dtype-converting copies. */
#include <string.h>

#include "tensor_internal.h"

/* Merge dim d into dim d+1 when every operand steps through them as one
   (stride[d] == stride[d+1] * shape[d+1]) and drop size-1 dims, so a dense
   or dense-enough problem becomes one long row (the inner loop then runs
   over all of it). */
static int coalesce(int ndim, const int64_t *shape, int nops, const int64_t *const *strides,
                    int64_t *cs, int64_t cst[3][NB_MAX_DIMS]) {
    int n = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 1) continue;
        cs[n] = shape[d];
        for (int k = 0; k < nops; k++) cst[k][n] = strides[k][d];
        n++;
    }
    int m = 0;
    for (int d = 0; d < n; d++) {
        if (m > 0) {
            bool merge = true;
            for (int k = 0; k < nops && merge; k++) merge = cst[k][m - 1] == cst[k][d] * cs[d];
            if (merge) {
                cs[m - 1] *= cs[d];
                for (int k = 0; k < nops; k++) cst[k][m - 1] = cst[k][d];
                continue;
            }
        }
        cs[m] = cs[d];
        for (int k = 0; k < nops; k++) cst[k][m] = cst[k][d];
        m++;
    }
    return m;
}

void nb__foreach(int ndim_in, const int64_t *shape_in, int nops, char **base,
                 const int64_t *const *strides_in, const size_t *esize, nb_row_fn row, void *ctx) {
    for (int i = 0; i < ndim_in; i++)
        if (shape_in[i] == 0) return;
    int64_t shape[NB_MAX_DIMS], cst[3][NB_MAX_DIMS];
    const int ndim = coalesce(ndim_in, shape_in, nops, strides_in, shape, cst);
    const int64_t *strides[3] = {cst[0], cst[1], cst[2]};
    if (ndim == 0) {
        int64_t bs[3] = {0, 0, 0};
        row(ctx, 1, base, bs);
        return;
    }
    int64_t idx[NB_MAX_DIMS] = {0}, bs[3];
    char *p[3];
    const int last = ndim - 1;
    for (int k = 0; k < nops; k++) bs[k] = strides[k][last] * (int64_t)esize[k];
    for (;;) {
        for (int k = 0; k < nops; k++) {
            int64_t off = 0;
            for (int d = 0; d < last; d++) off += idx[d] * strides[k][d];
            p[k] = base[k] + off * (int64_t)esize[k];
        }
        row(ctx, shape[last], p, bs);
        int d = last - 1;
        for (; d >= 0; d--) {
            if (++idx[d] < shape[d]) break;
            idx[d] = 0;
        }
        if (d < 0) return;
    }
}

#define CONVERT_ROW(name, TD, TS)                                                    \
    static void name(void *ctx, int64_t n, char **p, const int64_t *s) {             \
        (void)ctx;                                                                   \
        for (int64_t i = 0; i < n; i++)                                              \
            *(TD *)(p[0] + i * s[0]) = (TD)(*(const TS *)(p[1] + i * s[1]));         \
    }
CONVERT_ROW(cvt_f32_f64, float, double)
CONVERT_ROW(cvt_f32_i64, float, int64_t)
CONVERT_ROW(cvt_f64_f32, double, float)
CONVERT_ROW(cvt_f64_i64, double, int64_t)
CONVERT_ROW(cvt_i64_f32, int64_t, float)
CONVERT_ROW(cvt_i64_f64, int64_t, double)

nb_status nb__copy_into(const char *fn, nb_tensor *dst, const nb_tensor *src) {
    (void)fn;
    int64_t n = nb_tensor_numel(dst);
    if (n == 0) return NB_OK;
    if (dst->dtype == src->dtype) {
        if (dst->ndim == 0) {
            memcpy(nb_ptr(dst), nb_ptr(src), nb_esize(dst->dtype));
            return NB_OK;
        }
        return nb_copy_strided(nb_esize(dst->dtype), dst->ndim, dst->shape, nb_ptr(src), src->strides,
                               nb_ptr(dst), dst->strides);
    }
    nb_row_fn row = NULL;
    switch (dst->dtype * 3 + src->dtype) {
    case NB_FLOAT32 * 3 + NB_FLOAT64: row = cvt_f32_f64; break;
    case NB_FLOAT32 * 3 + NB_INT64:   row = cvt_f32_i64; break;
    case NB_FLOAT64 * 3 + NB_FLOAT32: row = cvt_f64_f32; break;
    case NB_FLOAT64 * 3 + NB_INT64:   row = cvt_f64_i64; break;
    case NB_INT64 * 3 + NB_FLOAT32:   row = cvt_i64_f32; break;
    case NB_INT64 * 3 + NB_FLOAT64:   row = cvt_i64_f64; break;
    }
    char *base[2] = {nb_ptr(dst), nb_ptr(src)};
    const int64_t *st[2] = {dst->strides, src->strides};
    size_t es[2] = {nb_esize(dst->dtype), nb_esize(src->dtype)};
    nb__foreach(dst->ndim, dst->shape, 2, base, st, es, row, NULL);
    return NB_OK;
}
