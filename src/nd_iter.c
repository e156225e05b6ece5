/* Portable N-d iteration helpers: see nd_iter.h. */
#include "nd_iter.h"

#include "internal.h"

int nb_nd_coalesce(int ndim, int64_t *shape, int nops, int64_t (*stride)[NB_MAX_DIMS],
                   uint64_t *mask) {
    const uint64_t m_in = mask ? *mask : 0;
    uint64_t m_out = 0;
    int w = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 1) continue;   /* never moves a pointer */
        const uint64_t kind = m_in >> i & 1;
        if (w > 0 && (m_out >> (w - 1) & 1) == kind) {
            const int o = w - 1;   /* previous (outer) kept dim */
            bool merge = true;
            for (int k = 0; k < nops && merge; k++) merge = stride[k][o] == stride[k][i] * shape[i];
            if (merge) {
                shape[o] *= shape[i];
                for (int k = 0; k < nops; k++) stride[k][o] = stride[k][i];
                continue;
            }
        }
        shape[w] = shape[i];
        for (int k = 0; k < nops; k++) stride[k][w] = stride[k][i];
        m_out |= kind << w;
        w++;
    }
    if (mask) *mask = m_out;
    return w;
}

void nb_nd_normalise(nb_nd *v, int key, int64_t off[2]) {
    off[0] = off[1] = 0;
    const int n = v->ndim;
    /* Flip dims where the key operand runs backwards. A size-1 dim is left
       alone (it is dropped below, and its stride may be any int64, even
       one whose negation overflows). */
    for (int i = 0; i < n; i++)
        if (v->shape[i] > 1 && v->stride[key][i] < 0)
            for (int k = 0; k < 2; k++) {
                off[k] += (v->shape[i] - 1) * v->stride[k][i];
                v->stride[k][i] = -v->stride[k][i];
            }
    /* Stable insertion sort by the key stride, descending: the innermost dim
       gets the smallest stride. Stable, so equal strides keep their order
       (and dropping the size-1 dims afterwards leaves the order a sort
       without them would give). */
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
    v->mask &= n >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1);
    v->ndim = nb_nd_coalesce(n, v->shape, 2, v->stride, &v->mask);
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
