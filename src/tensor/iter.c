/* Strided N-d loops of the tensor layer and dtype-converting copies: dims
 * coalesced by nb_nd_coalesce (src/nd_iter.c), rows spread over threads by
 * nb_parallel_for (src/parallel.c); the rows themselves call the active
 * ISA's elementwise micro-kernels (elementwise.c) or plain C. */
#include <string.h>

#include "tensor_internal.h"
#include "nd_iter.h"
#include "parallel.h"

/* The coalesced problem, shared read-only by the threads. */
typedef struct {
    int ndim, nops;
    int64_t shape[NB_MAX_DIMS];
    int64_t st[3][NB_MAX_DIMS];   /* byte strides */
    int64_t total;                /* elements */
    char *base[3];
    nb_row_fn row;
    void *ctx;
} plan;

/* Rows covering elements [lo, hi) of the flattened (row-major) iteration
   space: a partial first row, whole rows, a partial last row. */
static void run_range(const plan *pl, int64_t lo, int64_t hi) {
    const int last = pl->ndim - 1;
    int64_t idx[NB_MAX_DIMS], rest = lo;
    for (int d = last; d >= 0; d--) {
        idx[d] = rest % pl->shape[d];
        rest /= pl->shape[d];
    }
    int64_t bs[3];
    char *p[3];
    for (int k = 0; k < pl->nops; k++) bs[k] = pl->st[k][last];
    while (lo < hi) {
        int64_t len = pl->shape[last] - idx[last];
        if (len > hi - lo) len = hi - lo;
        for (int k = 0; k < pl->nops; k++) {
            int64_t off = 0;
            for (int d = 0; d <= last; d++) off += idx[d] * pl->st[k][d];
            p[k] = pl->base[k] + off;
        }
        pl->row(pl->ctx, len, p, bs);
        lo += len;
        idx[last] = 0;
        for (int d = last - 1; d >= 0; d--) {
            if (++idx[d] < pl->shape[d]) break;
            idx[d] = 0;
        }
    }
}

/* nb_parallel_for body: blocks [b0, b1) of 64 elements. Chunks of whole
   64-element blocks: a dense operand's chunks start on the same alignment
   as its first element, so each runs full vectors. */
static void run_blocks(void *ctx, int64_t b0, int64_t b1) {
    const plan *pl = ctx;
    const int64_t hi = b1 * 64 < pl->total ? b1 * 64 : pl->total;
    run_range(pl, b0 * 64, hi);
}

void nb__foreach_grain(int ndim_in, const int64_t *shape_in, int nops, char **base,
                       const int64_t *const *strides_in, const size_t *esize, nb_row_fn row, void *ctx,
                       int64_t min_per_thread) {
    for (int i = 0; i < ndim_in; i++)
        if (shape_in[i] == 0) return;
    plan pl;
    for (int d = 0; d < ndim_in; d++) {
        pl.shape[d] = shape_in[d];
        for (int k = 0; k < nops; k++) pl.st[k][d] = strides_in[k][d];
    }
    pl.ndim = nb_nd_coalesce(ndim_in, pl.shape, nops, pl.st, NULL);
    pl.nops = nops;
    pl.row = row;
    pl.ctx = ctx;
    for (int k = 0; k < nops; k++) {
        pl.base[k] = base[k];
        for (int d = 0; d < pl.ndim; d++) pl.st[k][d] *= (int64_t)esize[k];
    }
    if (pl.ndim == 0) {
        int64_t bs[3] = {0, 0, 0};
        row(ctx, 1, base, bs);
        return;
    }
    pl.total = 1;
    for (int d = 0; d < pl.ndim; d++) pl.total *= pl.shape[d];
    nb_parallel_for((pl.total + 63) / 64, (min_per_thread + 63) / 64, run_blocks, &pl);
}

void nb__foreach(int ndim, const int64_t *shape, int nops, char **base, const int64_t *const *strides,
                 const size_t *esize, nb_row_fn row, void *ctx) {
    nb__foreach_grain(ndim, shape, nops, base, strides, esize, row, ctx, NB_FOREACH_GRAIN);
}

/* ---- row layouts ---- */

static bool disjoint(const char *x, int64_t xbytes, const char *y, int64_t ybytes) {
    const uintptr_t a = (uintptr_t)x, b = (uintptr_t)y;
    return a + (uintptr_t)xbytes <= b || b + (uintptr_t)ybytes <= a;
}

nb_row_layout nb__row_layout(int64_t n, char *const *p, const int64_t *s, int64_t e) {
    if (s[0] != e) return NB_ROW_STRIDED;
    const int64_t bytes = n * e;
    const bool inplace = p[0] == p[1];
    if (s[1] == e && s[2] == e) {
        if (!disjoint(p[0], bytes, p[2], bytes)) return NB_ROW_STRIDED;
        if (inplace) return NB_ROW_VV_IP;
        return disjoint(p[0], bytes, p[1], bytes) ? NB_ROW_VV : NB_ROW_STRIDED;
    }
    if (s[1] == e && s[2] == 0) {
        /* The scalar is read once before the loop: it must not be an
           element the loop writes. */
        if (!disjoint(p[0], bytes, p[2], e)) return NB_ROW_STRIDED;
        if (inplace) return NB_ROW_VS_IP;
        return disjoint(p[0], bytes, p[1], bytes) ? NB_ROW_VS : NB_ROW_STRIDED;
    }
    if (s[1] == 0 && s[2] == e)
        return disjoint(p[0], bytes, p[1], e) && disjoint(p[0], bytes, p[2], bytes) ? NB_ROW_SV
                                                                                   : NB_ROW_STRIDED;
    return NB_ROW_STRIDED;
}

bool nb__row_dense2(int64_t n, char *const *p, const int64_t *s, int64_t oe, int64_t ae) {
    return s[0] == oe && s[1] == ae && disjoint(p[0], n * oe, p[1], n * ae);
}

/* ---- dtype conversion ---- */

/* Dense rows as typed restrict loops (vectorized where the ISA converts in
   vector registers, e.g. float <-> double on SSE2); anything else strided. */
#define CONVERT_ROW(name, TD, TS)                                                    \
    static void name##_dense(int64_t n, TD *restrict o, const TS *restrict a) {      \
        for (int64_t i = 0; i < n; i++) o[i] = (TD)a[i];                             \
    }                                                                                \
    static void name(void *ctx, int64_t n, char **p, const int64_t *s) {             \
        (void)ctx;                                                                   \
        if (nb__row_dense2(n, p, s, sizeof(TD), sizeof(TS))) {                       \
            name##_dense(n, (TD *)p[0], (const TS *)p[1]);                           \
            return;                                                                  \
        }                                                                            \
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
