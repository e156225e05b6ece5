/* Random strided views over guarded buffers, for the reduction and copy
 * suites: permuted dims, padding between dims, negative strides, optional
 * broadcast (stride 0) dims, and a base pointer offset by 0..7 elements.
 * The buffer ends (or starts, for guard_before) at a PROT_NONE page, so an
 * access outside the view's extent crashes. */
#ifndef NBT_STRIDED_VIEW_H
#define NBT_STRIDED_VIEW_H

#include <stdint.h>
#include <string.h>

#include "harness.h"

typedef struct {
    int ndim;
    int64_t shape[NB_MAX_DIMS], strides[NB_MAX_DIMS];
    int64_t lo, hi;        /* element offsets touched, relative to base */
    size_t es;             /* element size in bytes */
    char *buf;             /* guarded allocation */
    size_t bytes;
    char *base;            /* view's element 0 */
} nbt_view;

enum { NBT_ALLOW_ZERO = 1, NBT_ALLOW_NEG = 2, NBT_ALLOW_PAD = 4 };

/* Strides for shape: a random dim order, random padding and flips. */
static inline void nbt_view_make(nbt_view *v, int ndim, const int64_t *shape, size_t es, int flags) {
    v->ndim = ndim;
    v->es = es;
    int order[NB_MAX_DIMS];
    for (int i = 0; i < ndim; i++) order[i] = i;
    for (int i = ndim - 1; i > 0; i--) {
        int j = (int)nbt_range(0, i), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    int64_t st = 1;
    for (int k = ndim - 1; k >= 0; k--) {   /* order[ndim-1] is innermost */
        const int d = order[k];
        v->shape[d] = shape[d];
        if ((flags & NBT_ALLOW_ZERO) && nbt_range(0, 5) == 0) { v->strides[d] = 0; continue; }
        if ((flags & NBT_ALLOW_PAD) && nbt_range(0, 3) == 0) st += nbt_range(1, 3);
        v->strides[d] = st;
        if ((flags & NBT_ALLOW_NEG) && nbt_range(0, 3) == 0) v->strides[d] = -st;
        st *= shape[d] > 0 ? shape[d] : 1;
    }
    v->lo = v->hi = 0;
    for (int i = 0; i < ndim; i++) {
        const int64_t s = (v->shape[i] > 0 ? v->shape[i] - 1 : 0) * v->strides[i];
        if (s < 0) v->lo += s; else v->hi += s;
    }
}

/* Allocates the guarded buffer: extent plus a 0..7-element offset. */
static inline void nbt_view_alloc(nbt_view *v) {
    const int64_t pre = nbt_range(0, 7);
    const int64_t count = v->hi - v->lo + 1 + pre;
    v->bytes = (size_t)count * v->es;
    v->buf = nbt_alloc_guarded(v->bytes, (int)nbt_range(0, 1));
    assert_non_null(v->buf);
    v->base = v->buf + (size_t)(pre - v->lo) * v->es;
}

static inline void nbt_view_free(nbt_view *v) { nbt_free_guarded(v->buf); v->buf = NULL; }

/* Offset (elements) of multi-index idx. */
static inline int64_t nbt_view_off(const nbt_view *v, const int64_t *idx) {
    int64_t o = 0;
    for (int i = 0; i < v->ndim; i++) o += idx[i] * v->strides[i];
    return o;
}

/* Decodes row-major linear index k of shape into idx. */
static inline void nbt_unravel(int ndim, const int64_t *shape, int64_t k, int64_t *idx) {
    for (int i = ndim - 1; i >= 0; i--) {
        idx[i] = k % shape[i];
        k /= shape[i];
    }
}

#endif
