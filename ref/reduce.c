/* Reference reductions: nb_ref_sreduce, nb_ref_dreduce.
 *
 * Plain loops, the oracle of the SIMD paths. For every output element (an
 * odometer over the kept axes) the reduced set is walked in row-major order
 * of the reduced axes (a second odometer).
 *
 * Numerics (the contract of include/nabla/kernels.h, written down here):
 *   - float sum/mean: accumulated in double and rounded once, so the result
 *     is within 1/2 ulp of the float nearest the exact sum unless the double
 *     accumulation itself loses more than that (m * 2^-53 relative to sum|x|,
 *     negligible for any m below 2^29). mean = (double sum) / m, rounded once.
 *   - double sum/mean: pairwise (cascade) summation through a binary-counter
 *     stack, error <= ceil(log2 m) u sum|x| with u = 2^-53.
 *   - sum of an empty set is +0, mean of an empty set is NaN; max/min of an
 *     empty set is refused by the public entry point (NB_ERR_SHAPE) and by
 *     this backend too.
 *   - max/min: if any element of the set is NaN the result is NaN (payload
 *     unspecified: compare by class). Signed zeros are ordered -0 < +0, so
 *     max(+0, -0) = +0 and min(+0, -0) = -0 whatever their order in memory.
 *     (PyTorch leaves the tie to iteration order; fixing it makes every
 *     backend and thread count give the same bits.)
 */
#include <math.h>
#include <string.h>

#include "ref.h"

/* The kept axes (out) and the reduced axes (red), as separate lists. */
typedef struct {
    int nk, nr;
    int64_t kshape[NB_MAX_DIMS], kxs[NB_MAX_DIMS], kys[NB_MAX_DIMS];
    int64_t rshape[NB_MAX_DIMS], rxs[NB_MAX_DIMS];
    int64_t nout, m;   /* number of outputs, size of each reduced set */
} split_axes;

static void split(int ndim, const int64_t *shape, const int64_t *xs, uint64_t mask,
                  const int64_t *ys, split_axes *a) {
    a->nk = a->nr = 0;
    a->nout = a->m = 1;
    for (int i = 0; i < ndim; i++) {
        if (mask >> i & 1) {
            a->rshape[a->nr] = shape[i];
            a->rxs[a->nr++] = xs[i];
            a->m *= shape[i];
        } else {
            a->kshape[a->nk] = shape[i];
            a->kxs[a->nk] = xs[i];
            a->kys[a->nk++] = ys[i];
            a->nout *= shape[i];
        }
    }
}

/* Advance a row-major multi-index; adds the stride steps to *off (and *off2
   if non-NULL). The offsets stay those of elements that exist: a stride is
   added only when its index moves to one, and a wrap takes back exactly
   the strides added (a stride on a size-1 dim is never applied, whatever
   its value). Past the last index every offset is back at 0. */
static void step(int n, const int64_t *shape, int64_t *idx, const int64_t *s, int64_t *off,
                 const int64_t *s2, int64_t *off2) {
    for (int d = n - 1; d >= 0; d--) {
        if (idx[d] + 1 < shape[d]) {
            idx[d]++;
            *off += s[d];
            if (s2) *off2 += s2[d];
            return;
        }
        *off -= s[d] * idx[d];
        if (s2) *off2 -= s2[d] * idx[d];
        idx[d] = 0;
    }
}

/* max/min of one value pair under the rules above; max != 0 for max. */
static double pick(double r, double v, int max) {
    if (isnan(r)) return r;
    if (isnan(v)) return v;
    if (r == v) {
        if (r != 0) return r;
        /* +0 vs -0: max prefers +0, min prefers -0. */
        return (max ? !signbit(v) : signbit(v)) ? v : r;
    }
    return (max ? v > r : v < r) ? v : r;
}

/* Pairwise sum of a sequence through a binary-counter stack: pushing the
   k-th value merges the equal-sized partial sums, so each value takes part
   in at most ceil(log2 m) additions. */
typedef struct {
    double v[66];
    int64_t c[66];
    int sp;
} cascade;

static void cascade_push(cascade *q, double x) {
    q->v[q->sp] = x;
    q->c[q->sp++] = 1;
    while (q->sp >= 2 && q->c[q->sp - 1] == q->c[q->sp - 2]) {
        q->v[q->sp - 2] += q->v[q->sp - 1];
        q->c[q->sp - 2] *= 2;
        q->sp--;
    }
}

static double cascade_total(cascade *q) {
    while (q->sp >= 2) {
        q->v[q->sp - 2] += q->v[q->sp - 1];
        q->sp--;
    }
    return q->sp ? q->v[0] : 0.0;
}

#define REF_REDUCE(NAME, T, PAIRWISE)                                                         \
nb_status NAME(nb_reduce_op op, int ndim, const int64_t *shape, const T *x,                   \
               const int64_t *xs, uint64_t mask, T *y, const int64_t *ys) {                   \
    split_axes a;                                                                             \
    split(ndim, shape, xs, mask, ys, &a);                                                     \
    if (a.nout == 0) return NB_OK;                                                            \
    if (a.m == 0 && (op == NB_REDUCE_MAX || op == NB_REDUCE_MIN)) return NB_ERR_SHAPE;        \
    static const int64_t zero[NB_MAX_DIMS] = {0};                                             \
    int64_t kidx[NB_MAX_DIMS] = {0}, xo = 0, yo = 0;                                          \
    for (int64_t o = 0; o < a.nout; o++) {                                                    \
        int64_t ridx[NB_MAX_DIMS] = {0}, ro = 0;                                              \
        double r;                                                                             \
        if (op == NB_REDUCE_SUM || op == NB_REDUCE_MEAN) {                                    \
            cascade q;                                                                        \
            double s = 0.0;                                                                   \
            q.sp = 0;                                                                         \
            for (int64_t i = 0; i < a.m; i++) {                                               \
                if (PAIRWISE) cascade_push(&q, (double)x[xo + ro]);                           \
                else s += (double)x[xo + ro];                                                 \
                step(a.nr, a.rshape, ridx, a.rxs, &ro, NULL, NULL);                           \
            }                                                                                 \
            if (PAIRWISE) s = cascade_total(&q);                                              \
            r = op == NB_REDUCE_SUM ? s : (a.m ? s / (double)a.m : NAN);                      \
        } else {                                                                              \
            r = (double)x[xo];                                                                \
            for (int64_t i = 0; i < a.m; i++) {                                               \
                r = pick(r, (double)x[xo + ro], op == NB_REDUCE_MAX);                         \
                step(a.nr, a.rshape, ridx, a.rxs, &ro, NULL, NULL);                           \
            }                                                                                 \
        }                                                                                     \
        y[yo] = (T)r;                                                                         \
        /* An empty x is never read: its strides (any value) are not applied. */              \
        step(a.nk, a.kshape, kidx, a.m ? a.kxs : zero, &xo, a.kys, &yo);                      \
    }                                                                                         \
    return NB_OK;                                                                             \
}

REF_REDUCE(nb_ref_sreduce, float, 0)
REF_REDUCE(nb_ref_dreduce, double, 1)
