/* Portable driver of float reductions (the SIMD backends' sreduce slot).
 *
 * The layout is normalised first (nd_iter.h: size-1 dims dropped, negative
 * x strides flipped, dims sorted by x stride, composable dims merged), so
 * any strided view reaches one of two paths:
 *
 *   row path     the reduced dim with the smallest x stride is the "row"
 *                (contiguous when its stride is 1, else the kernel's scalar
 *                strided loop); the other reduced dims enumerate rows; the
 *                kept dims enumerate outputs.
 *   column path  the innermost dim is kept, has x stride 1 and at least
 *                16 elements (column sums: reduce the outer dims, stream
 *                whole rows with vertical adds into an L1-resident strip).
 *
 * Summation order (fixed by the shape, never by the thread count):
 *   row path: a row longer than B = 4096 is cut into segments of B elements;
 *   shorter rows are grouped, g = B / (32 * ceil(n / 32)) rows a segment. A
 *   segment is summed into 32 lanes (element i of a row -> lane i mod 32),
 *   the lanes are combined by a fixed 5-level tree, and the segment values
 *   of one output are combined pairwise by a binary-counter cascade.
 *   column path: segments of 128 rows are summed row after row, segment
 *   vectors are combined by the same cascade.
 *   Threads own whole outputs, or whole segments whose values land in a
 *   scratch array combined afterwards in segment order; either way the
 *   operations and their order are the same, so are the bits.
 *
 * Error bound (u = 2^-24, m = size of the reduced set, S <= m segments):
 *   a lane of a row segment receives at most B/32 = 128 elements (127
 *   roundings; the first add to +0 is exact), the lane tree adds 5, the
 *   cascade ceil(log2 S); a column segment has 127 roundings and the same
 *   cascade. Hence, by the standard recursive-summation argument,
 *       |sum - exact| <= gamma(K) * sum|x|,  K = 133 + ceil(log2 m),
 *   gamma(K) = K u / (1 - K u): linear in the block, logarithmic in m. A mean
 *   adds one rounding of the quotient (u |mean|).
 *
 * max/min are exact (no rounding), so every path gives the reference's bits
 * (NaN by class; -0 < +0).
 */
#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "internal.h"
#include "nd_iter.h"
#include "reduce_driver.h"

/* Elements of work below which a thread is not worth waking (measured with
   bench reduce/nabla on a 2-core machine: ~64K floats take ~10 us, about
   the cost of opening a parallel region). */
#define MIN_ELEMS_PER_THREAD ((int64_t)1 << 16)
/* Column strip: 4 KiB of accumulator per cascade level, L1-resident. */
#define COL_STRIP 1024
#define COL_MIN_INNER 16

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}
static int thread_count(void) {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

static float pick(float r, float v, int is_max) {
    if (isnan(r)) return r;
    if (isnan(v)) return v;
    if (r == v) {
        if (r != 0) return r;
        return (is_max ? !signbit(v) : signbit(v)) ? v : r;
    }
    return (is_max ? v > r : v < r) ? v : r;
}

/* Binary-counter pairwise combination of a sequence of floats. */
typedef struct {
    float v[66];
    int64_t c[66];
    int sp;
} cascade;

static void cascade_push(cascade *q, float x) {
    q->v[q->sp] = x;
    q->c[q->sp++] = 1;
    while (q->sp >= 2 && q->c[q->sp - 1] == q->c[q->sp - 2]) {
        q->v[q->sp - 2] += q->v[q->sp - 1];
        q->c[q->sp - 2] *= 2;
        q->sp--;
    }
}

static float cascade_total(cascade *q) {
    while (q->sp >= 2) {
        q->v[q->sp - 2] += q->v[q->sp - 1];
        q->sp--;
    }
    return q->sp ? q->v[0] : 0.0f;
}

static float lanes_total(float *a) {
    for (int w = NB_RSUM_LANES / 2; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) a[i] += a[i + w];
    return a[0];
}

static float finish(nb_reduce_op op, float v, int64_t m) {
    return op == NB_REDUCE_MEAN ? (float)((double)v / (double)m) : v;
}

/* ---- row path ---- */

typedef struct {
    const nb_sreduce_ukernels *uk;
    nb_reduce_op op;
    int nk, nr;
    int64_t kshape[NB_MAX_DIMS], kxs[NB_MAX_DIMS], kys[NB_MAX_DIMS];
    int64_t rshape[NB_MAX_DIMS], rxs[NB_MAX_DIMS];
    int64_t R, n, incx, nch, g, S, m, nout;
} row_plan;

static float seg_value(const row_plan *p, const float *xo, int64_t s) {
    nb_odo rows;
    nb_odo_init(&rows, p->nr, p->rshape, p->rxs, NULL);
    int64_t r0, r1, c0 = 0, len = p->n;
    if (p->nch) {
        r0 = s / p->nch;
        r1 = r0 + 1;
        c0 = (s % p->nch) * NB_RSUM_BLOCK;
        len = p->n - c0 < NB_RSUM_BLOCK ? p->n - c0 : NB_RSUM_BLOCK;
    } else {
        r0 = s * p->g;
        r1 = r0 + p->g < p->R ? r0 + p->g : p->R;
    }
    nb_odo_seek(&rows, r0);
    const float *base = xo + c0 * p->incx;
    if (p->op == NB_REDUCE_SUM || p->op == NB_REDUCE_MEAN) {
        float acc[NB_RSUM_LANES] = {0};
        for (int64_t r = r0; r < r1; r++, nb_odo_next(&rows))
            p->uk->rsum(len, base + rows.o0, p->incx, acc);
        return lanes_total(acc);
    }
    const int is_max = p->op == NB_REDUCE_MAX;
    float v = 0;
    for (int64_t r = r0; r < r1; r++, nb_odo_next(&rows)) {
        const float t = is_max ? p->uk->rmax(len, base + rows.o0, p->incx)
                               : p->uk->rmin(len, base + rows.o0, p->incx);
        v = r == r0 ? t : pick(v, t, is_max);
    }
    return v;
}

/* Combines segment values in segment order. */
typedef struct {
    cascade q;
    float v;
    int64_t k;
} combiner;

static void combine(const row_plan *p, combiner *c, float t) {
    if (p->op == NB_REDUCE_SUM || p->op == NB_REDUCE_MEAN) cascade_push(&c->q, t);
    else c->v = c->k == 0 ? t : pick(c->v, t, p->op == NB_REDUCE_MAX);
    c->k++;
}

static float combined(const row_plan *p, combiner *c) {
    const float v = (p->op == NB_REDUCE_SUM || p->op == NB_REDUCE_MEAN) ? cascade_total(&c->q) : c->v;
    return finish(p->op, v, p->m);
}

static float out_value_seq(const row_plan *p, const float *xo) {
    combiner c = {.v = 0.0f, .k = 0};
    c.q.sp = 0;
    for (int64_t s = 0; s < p->S; s++) combine(p, &c, seg_value(p, xo, s));
    return combined(p, &c);
}

static void row_path(const row_plan *p, const float *x, float *y) {
    nb_odo outs;
    nb_odo_init(&outs, p->nk, p->kshape, p->kxs, p->kys);
    int nt = nb_threads_for(p->nout * p->m, MIN_ELEMS_PER_THREAD);
    if (nt > 1 && p->nout >= nt) {
        /* Threads own whole outputs. */
#pragma omp parallel num_threads(nt)
        {
            const int t = thread_id(), T = thread_count();
            const int64_t lo = p->nout * t / T, hi = p->nout * (t + 1) / T;
            nb_odo o = outs;
            nb_odo_seek(&o, lo);
            for (int64_t i = lo; i < hi; i++, nb_odo_next(&o))
                y[o.o1] = out_value_seq(p, x + o.o0);
        }
        return;
    }
    float *part = NULL;
    if (nt > 1 && p->S >= 2 * nt) part = nb_aligned_alloc((size_t)p->S * sizeof(float));
    /* Without scratch (small S, or no memory for it) the same order runs on
       one thread: only the speed differs. */
    for (int64_t i = 0; i < p->nout; i++, nb_odo_next(&outs)) {
        const float *xo = x + outs.o0;
        if (!part) {
            y[outs.o1] = out_value_seq(p, xo);
            continue;
        }
        const int64_t S = p->S;
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t s = 0; s < S; s++) part[s] = seg_value(p, xo, s);
        combiner c = {.v = 0.0f, .k = 0};
        c.q.sp = 0;
        for (int64_t s = 0; s < S; s++) combine(p, &c, part[s]);
        y[outs.o1] = combined(p, &c);
    }
    nb_aligned_free(part);
}

/* ---- column path ---- */

typedef struct {
    const nb_sreduce_ukernels *uk;
    nb_reduce_op op;
    int nk, nr;
    int64_t kshape[NB_MAX_DIMS], kxs[NB_MAX_DIMS], kys[NB_MAX_DIMS];
    int64_t rshape[NB_MAX_DIMS], rxs[NB_MAX_DIMS];
    int64_t R, n, ysn, nstrips, nouter, m;
    int depth;
} col_plan;

static void col_item(const col_plan *p, const float *xo, float *yo, int64_t strip, float *scratch) {
    const int64_t j0 = strip * COL_STRIP;
    const int64_t w = p->n - j0 < COL_STRIP ? p->n - j0 : COL_STRIP;
    nb_odo rows;
    nb_odo_init(&rows, p->nr, p->rshape, p->rxs, NULL);
    const float *xs = xo + j0;
    float *res = scratch;
    if (p->op == NB_REDUCE_SUM || p->op == NB_REDUCE_MEAN) {
        int64_t cnt[80];
        int sp = 0;
        for (int64_t r0 = 0; r0 < p->R; r0 += NB_RSUM_COL_BLOCK) {
            float *a = scratch + (int64_t)sp * COL_STRIP;
            memset(a, 0, (size_t)w * sizeof(float));
            const int64_t r1 = r0 + NB_RSUM_COL_BLOCK < p->R ? r0 + NB_RSUM_COL_BLOCK : p->R;
            for (int64_t r = r0; r < r1; r++, nb_odo_next(&rows)) p->uk->raddcol(w, xs + rows.o0, a);
            cnt[sp++] = 1;
            while (sp >= 2 && cnt[sp - 1] == cnt[sp - 2]) {
                p->uk->raddcol(w, scratch + (int64_t)(sp - 1) * COL_STRIP, scratch + (int64_t)(sp - 2) * COL_STRIP);
                cnt[sp - 2] *= 2;
                sp--;
            }
        }
        while (sp >= 2) {
            p->uk->raddcol(w, scratch + (int64_t)(sp - 1) * COL_STRIP, scratch + (int64_t)(sp - 2) * COL_STRIP);
            sp--;
        }
    } else {
        memcpy(res, xs + rows.o0, (size_t)w * sizeof(float));
        nb_odo_next(&rows);
        for (int64_t r = 1; r < p->R; r++, nb_odo_next(&rows)) {
            if (p->op == NB_REDUCE_MAX) p->uk->rmaxcol(w, xs + rows.o0, res);
            else p->uk->rmincol(w, xs + rows.o0, res);
        }
    }
    for (int64_t j = 0; j < w; j++) yo[(j0 + j) * p->ysn] = finish(p->op, res[j], p->m);
}

static nb_status col_path(const col_plan *p, const float *x, float *y) {
    const int64_t items = p->nouter * p->nstrips;
    int nt = nb_threads_for(p->nouter * p->n * p->R, MIN_ELEMS_PER_THREAD);
    if (nt > items) nt = (int)items;
    const size_t per = (size_t)(p->depth + 1) * COL_STRIP;
    float *scratch = nb_aligned_alloc((size_t)nt * per * sizeof(float));
    if (!scratch) return NB_ERR_OOM;
    nb_odo outs;
    nb_odo_init(&outs, p->nk, p->kshape, p->kxs, p->kys);
#pragma omp parallel num_threads(nt)
    {
        const int t = thread_id(), T = thread_count();
        const int64_t lo = items * t / T, hi = items * (t + 1) / T;
        nb_odo o = outs;
        int64_t cur = lo / p->nstrips;
        nb_odo_seek(&o, cur);
        for (int64_t it = lo; it < hi; it++) {
            const int64_t oi = it / p->nstrips;
            if (oi != cur) { nb_odo_next(&o); cur = oi; }
            col_item(p, x + o.o0, y + o.o1, it % p->nstrips, scratch + (size_t)t * per);
        }
    }
    nb_aligned_free(scratch);
    return NB_OK;
}

/* ---- entry ---- */

static void fill_empty(nb_reduce_op op, int ndim, const int64_t *shape, uint64_t mask, float *y,
                       const int64_t *ys) {
    int64_t ksh[NB_MAX_DIMS], kys[NB_MAX_DIMS], n = 1;
    int nk = 0;
    for (int i = 0; i < ndim; i++)
        if (!(mask >> i & 1)) { ksh[nk] = shape[i]; kys[nk++] = ys[i]; n *= shape[i]; }
    nb_odo o;
    nb_odo_init(&o, nk, ksh, kys, NULL);
    const float v = op == NB_REDUCE_SUM ? 0.0f : NAN;
    for (int64_t i = 0; i < n; i++, nb_odo_next(&o)) y[o.o0] = v;
}

nb_status nb_sreduce_driver(const nb_sreduce_ukernels *uk, nb_reduce_op op, int ndim,
                            const int64_t *shape, const float *x, const int64_t *xs,
                            uint64_t mask, float *y, const int64_t *ys) {
    int64_t m = 1, nout = 1;
    for (int i = 0; i < ndim; i++) {
        if (mask >> i & 1) m *= shape[i];
        else nout *= shape[i];
    }
    if (nout == 0) return NB_OK;
    if (m == 0) {
        if (op == NB_REDUCE_MAX || op == NB_REDUCE_MIN) return NB_ERR_SHAPE;
        fill_empty(op, ndim, shape, mask, y, ys);
        return NB_OK;
    }
    nb_nd v;
    v.ndim = ndim;
    v.mask = mask;
    for (int i = 0; i < ndim; i++) {
        v.shape[i] = shape[i];
        v.stride[0][i] = xs[i];
        v.stride[1][i] = (mask >> i & 1) ? 0 : ys[i];
    }
    int64_t off[2];
    nb_nd_normalise(&v, 0, off);
    x += off[0];
    y += off[1];
    const int nd = v.ndim;
    const int inner = nd - 1;
    const bool inner_kept = nd > 0 && !(v.mask >> inner & 1);
    const bool any_reduced = v.mask != 0;

    if (inner_kept && any_reduced && v.stride[0][inner] == 1 && v.shape[inner] >= COL_MIN_INNER) {
        col_plan p;
        memset(&p, 0, sizeof p);
        p.uk = uk;
        p.op = op;
        p.m = m;
        p.R = 1;
        for (int i = 0; i < inner; i++) {
            if (v.mask >> i & 1) {
                p.rshape[p.nr] = v.shape[i];
                p.rxs[p.nr++] = v.stride[0][i];
                p.R *= v.shape[i];
            } else {
                p.kshape[p.nk] = v.shape[i];
                p.kxs[p.nk] = v.stride[0][i];
                p.kys[p.nk++] = v.stride[1][i];
            }
        }
        p.nouter = nout / v.shape[inner];
        p.n = v.shape[inner];
        p.ysn = v.stride[1][inner];
        p.nstrips = (p.n + COL_STRIP - 1) / COL_STRIP;
        const int64_t nseg = (p.R + NB_RSUM_COL_BLOCK - 1) / NB_RSUM_COL_BLOCK;
        p.depth = 2;
        while (((int64_t)1 << (p.depth - 2)) < nseg) p.depth++;
        return col_path(&p, x, y);
    }

    row_plan p;
    memset(&p, 0, sizeof p);
    p.uk = uk;
    p.op = op;
    p.m = m;
    p.nout = nout;
    int rowdim = -1;
    for (int i = nd - 1; i >= 0; i--)
        if (v.mask >> i & 1) { rowdim = i; break; }
    p.R = 1;
    for (int i = 0; i < nd; i++) {
        if (i == rowdim) continue;
        if (v.mask >> i & 1) {
            p.rshape[p.nr] = v.shape[i];
            p.rxs[p.nr++] = v.stride[0][i];
            p.R *= v.shape[i];
        } else {
            p.kshape[p.nk] = v.shape[i];
            p.kxs[p.nk] = v.stride[0][i];
            p.kys[p.nk++] = v.stride[1][i];
        }
    }
    /* No reduced dim left (all had size 1): one-element "rows". */
    p.n = rowdim >= 0 ? v.shape[rowdim] : 1;
    p.incx = rowdim >= 0 ? v.stride[0][rowdim] : 1;
    if (p.n > NB_RSUM_BLOCK) {
        p.nch = (p.n + NB_RSUM_BLOCK - 1) / NB_RSUM_BLOCK;
        p.g = 1;
        p.S = p.R * p.nch;
    } else {
        const int64_t padded = (p.n + NB_RSUM_LANES - 1) / NB_RSUM_LANES * NB_RSUM_LANES;
        p.nch = 0;
        p.g = NB_RSUM_BLOCK / padded;
        p.S = (p.R + p.g - 1) / p.g;
    }
    row_path(&p, x, y);
    return NB_OK;
}
