/* Portable N-d iteration helpers: see nd_iter.h. */
#include "nd_iter.h"

#include "internal.h"

void nb_nd_normalise(nb_nd *v, int key, int64_t off[2]) {
    off[0] = off[1] = 0;
    /* Drop size-1 dims: they never move a pointer. */
    int n = 0;
    uint64_t mask = 0;
    for (int i = 0; i < v->ndim; i++) {
        if (v->shape[i] == 1) continue;
        v->shape[n] = v->shape[i];
        v->stride[0][n] = v->stride[0][i];
        v->stride[1][n] = v->stride[1][i];
        mask |= (uint64_t)(v->mask >> i & 1) << n;
        n++;
    }
    v->ndim = n;
    v->mask = mask;
    /* Flip dims where the key operand runs backwards. */
    for (int i = 0; i < n; i++)
        if (v->stride[key][i] < 0)
            for (int k = 0; k < 2; k++) {
                off[k] += (v->shape[i] - 1) * v->stride[k][i];
                v->stride[k][i] = -v->stride[k][i];
            }
    /* Stable insertion sort by the key stride, descending: the innermost dim
       gets the smallest stride. Stable, so equal strides keep their order. */
    for (int i = 1; i < n; i++) {
        int64_t sh = v->shape[i], s0 = v->stride[0][i], s1 = v->stride[1][i];
        uint64_t m = v->mask >> i & 1;
        int64_t k = v->stride[key][i];
        int j = i - 1;
        while (j >= 0 && v->stride[key][j] < k) {
            v->shape[j + 1] = v->shape[j];
            v->stride[0][j + 1] = v->stride[0][j];
            v->stride[1][j + 1] = v->stride[1][j];
            v->mask = (v->mask & ~((uint64_t)1 << (j + 1))) | ((v->mask >> j & 1) << (j + 1));
            j--;
        }
        v->shape[j + 1] = sh;
        v->stride[0][j + 1] = s0;
        v->stride[1][j + 1] = s1;
        v->mask = (v->mask & ~((uint64_t)1 << (j + 1))) | (m << (j + 1));
    }
    /* Merge dim i into dim i+1 (inner) when both operands compose. */
    int w = 0;
    for (int i = 0; i < n; i++) {
        if (w > 0) {
            const int o = w - 1;   /* previous (outer) kept dim */
            const bool same_kind = (v->mask >> o & 1) == (v->mask >> i & 1);
            if (same_kind && v->stride[0][o] == v->stride[0][i] * v->shape[i] &&
                v->stride[1][o] == v->stride[1][i] * v->shape[i]) {
                v->shape[o] *= v->shape[i];
                v->stride[0][o] = v->stride[0][i];
                v->stride[1][o] = v->stride[1][i];
                continue;
            }
        }
        v->shape[w] = v->shape[i];
        v->stride[0][w] = v->stride[0][i];
        v->stride[1][w] = v->stride[1][i];
        v->mask = (v->mask & ~((uint64_t)1 << w)) | ((v->mask >> i & 1) << w);
        w++;
    }
    v->ndim = w;
    v->mask &= w >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << w) - 1);
}

void nb_odo_init(nb_odo *o, int n, const int64_t *shape, const int64_t *s0, const int64_t *s1) {
    o->n = n;
    for (int i = 0; i < n; i++) {
        o->shape[i] = shape[i];
        o->s0[i] = s0[i];
        o->s1[i] = s1 ? s1[i] : 0;
        o->idx[i] = 0;
    }
    o->o0 = o->o1 = 0;
}

void nb_odo_seek(nb_odo *o, int64_t linear) {
    o->o0 = o->o1 = 0;
    for (int d = o->n - 1; d >= 0; d--) {
        o->idx[d] = linear % o->shape[d];
        linear /= o->shape[d];
        o->o0 += o->idx[d] * o->s0[d];
        o->o1 += o->idx[d] * o->s1[d];
    }
}

bool nb_view_dense(int ndim, const int64_t *shape, const int64_t *strides) {
    int64_t sh[NB_MAX_DIMS], st[NB_MAX_DIMS];
    int n = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 1 || strides[i] == 0) continue;
        const int64_t a = strides[i] < 0 ? -strides[i] : strides[i];
        int j = n++;
        while (j > 0 && st[j - 1] > a) { st[j] = st[j - 1]; sh[j] = sh[j - 1]; j--; }
        st[j] = a;
        sh[j] = shape[i];
    }
    /* Relative to the lowest offset, the offsets are the sums of k_i |s_i|
       (0 <= k_i < n_i). By induction over the dims in ascending |stride|:
       dims 0..i-1 cover [0, span) without holes; dim i adds copies of that
       set shifted by k |s_i|, which leave no hole iff |s_i| <= span. When
       |s_i| > span, offset `span` (inside the range) is a hole: the smaller
       dims reach at most span - 1 and any term of a larger one exceeds it.
       Elements may coincide (strides 1, 1): dense is about holes only. */
    int64_t span = 1, ext;
    for (int i = 0; i < n; i++) {
        if (st[i] > span) return false;
        if (!nb_mul_ok(sh[i] - 1, st[i], &ext) || !nb_add_ok(span, ext, &span)) return false;
    }
    return true;
}

/* Elements of es bytes at p and q share a byte. */
static bool elements_meet(const char *p, const char *q, int64_t es) {
    return p < q ? q - p < es : p - q < es;
}

bool nb_views_provably_overlap(const nb_view_span *a, const nb_view_span *b, size_t elem_size) {
    const int64_t es = (int64_t)elem_size;
    const char *pa = (const char *)a->base + a->lo * es;
    const char *pb = (const char *)b->base + b->lo * es;
    const size_t la = (size_t)(a->hi - a->lo + 1) * elem_size;
    const size_t lb = (size_t)(b->hi - b->lo + 1) * elem_size;
    if (!nb_ranges_overlap(pa, la, pb, lb)) return false;
    if (a->dense || b->dense) return true;
    /* Both have holes: proven when an element known to exist in both
       meets: the first one (base), or the lowest or highest one of each. */
    const char *ea = pa + la - es, *eb = pb + lb - es;
    return elements_meet(a->base, b->base, es) || elements_meet(pa, pb, es) ||
           elements_meet(pa, eb, es) || elements_meet(ea, pb, es) || elements_meet(ea, eb, es);
}
