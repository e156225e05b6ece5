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
 *                8 elements (column sums: reduce the outer dims, stream
 *                whole rows with vertical adds into an L1-resident strip).
 *   short rows   (when the ISA has an rrows kernel) every output is one
 *                contiguous row of at most 64 elements: 8 outputs at a
 *                time through an in-register transpose, instead of a
 *                kernel call and a 32-lane tree per output.
 *
 * Summation order (fixed by the shape, never by the thread count):
 *   row path: a row longer than B = 4096 is cut into segments of B elements;
 *   shorter rows are grouped, g = B / (32 * ceil(n / 32)) rows a segment. A
 *   segment is summed into 32 lanes (element i of a row -> lane i mod 32),
 *   the lanes are combined by a fixed 5-level tree, and the segment values
 *   of one output are combined pairwise by a binary-counter cascade.
 *   column path: segments of 128 rows are summed row after row, segment
 *   vectors are combined by the same cascade.
 *   short rows: the rrows kernel's order (pairwise within 8 columns, then
 *   left to right over at most 8 such groups: <= 10 roundings).
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


#include "internal.h"
#include "parallel.h"
#include "nd_iter.h"
#include "reduce_driver.h"

/* Elements of work below which a thread is not worth waking. 2^18 floats
   (1 MiB) stream in ~50 us at ~20 GB/s, against a few us to open a parallel
   region on an idle machine, so the region costs <= ~10% at the threshold.
   NOT a clean measurement: the 2-core machine this was written on was
   oversubscribed by other jobs, where a region costs up to a scheduler
   time slice (bench reduce/nabla/sum_512K: 0.85 ms on 2 threads vs 0.075
   ms on one), which argues for a high threshold. Re-measure on a quiet
   machine with bench reduce/nabla/sum_{32K,128K,512K} vs their /t1. */
#define MIN_ELEMS_PER_THREAD ((int64_t)1 << 18)
/* Column strip: at most 16 KiB of accumulator (L1-resident) per cascade
   level, so a row of up to 4096 floats is read as one sequential run. The
   strip width never changes the arithmetic of a column (columns are
   independent), so it may depend on the thread count. */
#define COL_STRIP_MAX 4096
/* Narrower kept rows go through the row path's strided loop: measured
   (one thread) 1M x 10 column sums 29 ms row path vs 13 ms column path,
   1M x 3: 1.5 ms row path vs 9.8 ms column path. */
#define COL_MIN_INNER 8


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

/* The shared state of a row-path team: outputs (whole, or the segments of
   one output into part). */
typedef struct {
    const row_plan *p;
    const float *x, *xo;
    float *y, *part;
    nb_odo outs;
} row_run;

/* Threads own whole outputs. */
static void row_outputs_member(void *ctx, int tid, int nt) {
    const row_run *r = ctx;
    int64_t lo, hi;
    nb_parallel_share(r->p->nout, tid, nt, &lo, &hi);
    nb_odo o = r->outs;
    nb_odo_seek(&o, lo);
    for (int64_t i = lo; i < hi; i++, nb_odo_next(&o)) r->y[o.o1] = out_value_seq(r->p, r->x + o.o0);
}

/* Threads own segments of one output (combined in order afterwards). */
static int row_segments_chunk(void *ctx, int64_t lo, int64_t hi) {
    const row_run *r = ctx;
    for (int64_t s = lo; s < hi; s++) r->part[s] = seg_value(r->p, r->xo, s);
    return 0;
}

static void row_path(const row_plan *p, const float *x, float *y) {
    row_run r = {p, x, NULL, y, NULL, {0}};
    nb_odo_init(&r.outs, p->nk, p->kshape, p->kxs, p->kys);
    int nt = nb_threads_for(p->nout * p->m, MIN_ELEMS_PER_THREAD);
    if (nt > 1 && p->nout >= nt) {
        nb_parallel_team(nt, row_outputs_member, &r);
        return;
    }
    nb_odo outs = r.outs;
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
        r.xo = xo;
        r.part = part;
        nb_parallel_chunks(nt, S, 1, row_segments_chunk, &r);
        combiner c = {.v = 0.0f, .k = 0};
        c.q.sp = 0;
        for (int64_t s = 0; s < S; s++) combine(p, &c, part[s]);
        y[outs.o1] = combined(p, &c);
    }
    nb_aligned_free(part);
}

/* ---- short rows: many outputs of one short contiguous row each ---- */

#define SHORT_ROWS_CHUNK 256

typedef struct {
    const row_plan *p;
    const float *x;
    float *y;
    nb_odo outs;
    int64_t rows, ldx, ldy, nch, items;
    int opk;
} short_rows_run;

static void short_rows_member(void *ctx, int tid, int nt) {
    const short_rows_run *r = ctx;
    const row_plan *p = r->p;
    int64_t lo, hi;
    nb_parallel_share(r->items, tid, nt, &lo, &hi);
    float tmp[SHORT_ROWS_CHUNK];
    nb_odo o = r->outs;
    int64_t cur = lo / r->nch;
    nb_odo_seek(&o, cur);
    for (int64_t it = lo; it < hi; it++) {
        const int64_t oi = it / r->nch;
        if (oi != cur) { nb_odo_next(&o); cur = oi; }
        const int64_t r0 = (it % r->nch) * SHORT_ROWS_CHUNK;
        const int64_t cnt = r->rows - r0 < SHORT_ROWS_CHUNK ? r->rows - r0 : SHORT_ROWS_CHUNK;
        p->uk->rrows(r->opk, cnt, p->n, r->x + o.o0 + r0 * r->ldx, r->ldx, tmp);
        for (int64_t i = 0; i < cnt; i++) r->y[o.o1 + (r0 + i) * r->ldy] = finish(p->op, tmp[i], p->m);
    }
}

static void short_rows_path(const row_plan *p, const float *x, float *y) {
    short_rows_run r = {p, x, y, {0}, 1, 0, 0, 0, 0, 0};
    int no = p->nk;
    if (p->nk > 0) {
        no = p->nk - 1;
        r.rows = p->kshape[no];
        r.ldx = p->kxs[no];
        r.ldy = p->kys[no];
    }
    r.nch = (r.rows + SHORT_ROWS_CHUNK - 1) / SHORT_ROWS_CHUNK;
    r.items = p->nout / r.rows * r.nch;
    int nt = nb_threads_for(p->nout * p->n, MIN_ELEMS_PER_THREAD);
    if (nt > r.items) nt = (int)r.items;
    r.opk = p->op == NB_REDUCE_MAX ? 1 : p->op == NB_REDUCE_MIN ? 2 : 0;
    nb_odo_init(&r.outs, no, p->kshape, p->kxs, p->kys);
    nb_parallel_team(nt, short_rows_member, &r);
}

/* ---- column path ---- */

typedef struct {
    const nb_sreduce_ukernels *uk;
    nb_reduce_op op;
    int nk, nr;
    int64_t kshape[NB_MAX_DIMS], kxs[NB_MAX_DIMS], kys[NB_MAX_DIMS];
    int64_t rshape[NB_MAX_DIMS], rxs[NB_MAX_DIMS];
    int64_t R, n, ysn, strip, nstrips, nouter, m;
    int depth;
} col_plan;

static void col_item(const col_plan *p, const float *xo, float *yo, int64_t strip, float *scratch) {
    const int64_t j0 = strip * p->strip;
    const int64_t w = p->n - j0 < p->strip ? p->n - j0 : p->strip;
    nb_odo rows;
    nb_odo_init(&rows, p->nr, p->rshape, p->rxs, NULL);
    const float *xs = xo + j0;
    float *res = scratch;
    if (p->op == NB_REDUCE_SUM || p->op == NB_REDUCE_MEAN) {
        int64_t cnt[80];
        int sp = 0;
        for (int64_t r0 = 0; r0 < p->R; r0 += NB_RSUM_COL_BLOCK) {
            float *a = scratch + (int64_t)sp * p->strip;
            memset(a, 0, (size_t)w * sizeof(float));
            const int64_t r1 = r0 + NB_RSUM_COL_BLOCK < p->R ? r0 + NB_RSUM_COL_BLOCK : p->R;
            int64_t r = r0;
            if (p->uk->raddcol4)   /* four rows a pass, same operations (ukernel.h) */
                for (; r + 4 <= r1; r += 4) {
                    const float *x4[4];
                    for (int q = 0; q < 4; q++, nb_odo_next(&rows)) x4[q] = xs + rows.o0;
                    p->uk->raddcol4(w, x4, a);
                }
            for (; r < r1; r++, nb_odo_next(&rows)) p->uk->raddcol(w, xs + rows.o0, a);
            cnt[sp++] = 1;
            while (sp >= 2 && cnt[sp - 1] == cnt[sp - 2]) {
                p->uk->raddcol(w, scratch + (int64_t)(sp - 1) * p->strip, scratch + (int64_t)(sp - 2) * p->strip);
                cnt[sp - 2] *= 2;
                sp--;
            }
        }
        while (sp >= 2) {
            p->uk->raddcol(w, scratch + (int64_t)(sp - 1) * p->strip, scratch + (int64_t)(sp - 2) * p->strip);
            sp--;
        }
    } else {
        memcpy(res, xs + rows.o0, (size_t)w * sizeof(float));
        nb_odo_next(&rows);
        void (*pick4)(int64_t, const float *const *, float *) =
            p->op == NB_REDUCE_MAX ? p->uk->rmaxcol4 : p->uk->rmincol4;
        int64_t r = 1;
        if (pick4)
            for (; r + 4 <= p->R; r += 4) {
                const float *x4[4];
                for (int q = 0; q < 4; q++, nb_odo_next(&rows)) x4[q] = xs + rows.o0;
                pick4(w, x4, res);
            }
        for (; r < p->R; r++, nb_odo_next(&rows)) {
            if (p->op == NB_REDUCE_MAX) p->uk->rmaxcol(w, xs + rows.o0, res);
            else p->uk->rmincol(w, xs + rows.o0, res);
        }
    }
    for (int64_t j = 0; j < w; j++) yo[(j0 + j) * p->ysn] = finish(p->op, res[j], p->m);
}

typedef struct {
    const col_plan *p;
    const float *x;
    float *y, *scratch;
    size_t per;   /* floats of scratch per member */
    int64_t items;
    nb_odo outs;
} col_run;

static void col_member(void *ctx, int tid, int nt) {
    const col_run *r = ctx;
    const col_plan *p = r->p;
    int64_t lo, hi;
    nb_parallel_share(r->items, tid, nt, &lo, &hi);
    nb_odo o = r->outs;
    int64_t cur = lo / p->nstrips;
    nb_odo_seek(&o, cur);
    for (int64_t it = lo; it < hi; it++) {
        const int64_t oi = it / p->nstrips;
        if (oi != cur) { nb_odo_next(&o); cur = oi; }
        col_item(p, r->x + o.o0, r->y + o.o1, it % p->nstrips, r->scratch + (size_t)tid * r->per);
    }
}

static nb_status col_path(col_plan *p, const float *x, float *y) {
    int nt = nb_threads_for(p->nouter * p->n * p->R, MIN_ELEMS_PER_THREAD);
    p->strip = p->n < COL_STRIP_MAX ? p->n : COL_STRIP_MAX;
    if (p->nouter < nt) {
        /* Too few outer outputs for the threads: narrower strips. */
        const int64_t per_thread = (p->n * p->nouter + nt - 1) / nt;
        int64_t w = (per_thread + 15) / 16 * 16;
        if (w < 256) w = 256;
        if (w < p->strip) p->strip = w;
    }
    p->nstrips = (p->n + p->strip - 1) / p->strip;
    const int64_t items = p->nouter * p->nstrips;
    if (nt > items) nt = (int)items;
    const size_t per = (size_t)(p->depth + 1) * (size_t)p->strip;
    float *scratch = nb_aligned_alloc((size_t)nt * per * sizeof(float));
    if (!scratch) return NB_ERR_OOM;
    col_run r = {p, x, y, scratch, per, items, {0}};
    nb_odo_init(&r.outs, p->nk, p->kshape, p->kxs, p->kys);
    nb_parallel_team(nt, col_member, &r);
    nb_aligned_free(scratch);
    return NB_OK;
}

/* ---- entry ---- */

static void fill_empty(nb_reduce_op op, int ndim, const int64_t *shape, uint64_t mask, float *y,
                       const int64_t *ys) {
    int64_t ksh[NB_MAX_DIMS], kys[NB_MAX_DIMS], n = 1;
    int nk = 0;
    /* Size-1 dims are left out (their stride, which may be anything, is
       never applied), and the walk stops at its last element: stepping past
       it could form an offset beyond int64 (UB). */
    for (int i = 0; i < ndim; i++)
        if (!(mask >> i & 1) && shape[i] != 1) { ksh[nk] = shape[i]; kys[nk++] = ys[i]; n *= shape[i]; }
    nb_odo o;
    nb_odo_init(&o, nk, ksh, kys, NULL);
    const float v = op == NB_REDUCE_SUM ? 0.0f : NAN;
    for (int64_t i = 0; i < n; i++) {
        y[o.o0] = v;
        if (i + 1 < n) nb_odo_next(&o);
    }
}

/* The dims of v but [skip0, skip1) into the reduced ones (shape, x stride)
   and the kept ones (shape, x and y strides), in order; returns the number
   of reduced elements they span. */
static int64_t split_dims(const nb_nd *v, int skip0, int skip1, int64_t *rshape, int64_t *rxs,
                          int *nr, int64_t *kshape, int64_t *kxs, int64_t *kys, int *nk) {
    int64_t R = 1;
    for (int i = 0; i < v->ndim; i++) {
        if (i >= skip0 && i < skip1) continue;
        if (v->mask >> i & 1) {
            rshape[*nr] = v->shape[i];
            rxs[(*nr)++] = v->stride[0][i];
            R *= v->shape[i];
        } else {
            kshape[*nk] = v->shape[i];
            kxs[*nk] = v->stride[0][i];
            kys[(*nk)++] = v->stride[1][i];
        }
    }
    return R;
}

/* Plans the column path (the innermost kept dim is contiguous in x: whole
   rows of outputs accumulate at once). Pure. */
static void plan_cols(col_plan *p, const nb_sreduce_ukernels *uk, nb_reduce_op op, const nb_nd *v,
                      int64_t m, int64_t nout) {
    const int inner = v->ndim - 1;
    memset(p, 0, sizeof *p);
    p->uk = uk;
    p->op = op;
    p->m = m;
    p->R = split_dims(v, inner, v->ndim, p->rshape, p->rxs, &p->nr, p->kshape, p->kxs, p->kys, &p->nk);
    p->nouter = nout / v->shape[inner];
    p->n = v->shape[inner];
    p->ysn = v->stride[1][inner];
    const int64_t nseg = (p->R + NB_RSUM_COL_BLOCK - 1) / NB_RSUM_COL_BLOCK;
    p->depth = 2;
    while (((int64_t)1 << (p->depth - 2)) < nseg) p->depth++;
}

/* Plans the row path: the innermost reduced dim is the row the row
   micro-kernels walk; the fixed blocks (NB_RSUM_BLOCK) set the summation
   order. Pure. */
static void plan_rows(row_plan *p, const nb_sreduce_ukernels *uk, nb_reduce_op op, const nb_nd *v,
                      int64_t m, int64_t nout) {
    memset(p, 0, sizeof *p);
    p->uk = uk;
    p->op = op;
    p->m = m;
    p->nout = nout;
    int rowdim = -1;
    for (int i = v->ndim - 1; i >= 0; i--)
        if (v->mask >> i & 1) { rowdim = i; break; }
    p->R = split_dims(v, rowdim, rowdim + 1, p->rshape, p->rxs, &p->nr, p->kshape, p->kxs, p->kys,
                      &p->nk);
    p->n = v->shape[rowdim];
    p->incx = v->stride[0][rowdim];
    if (p->n > NB_RSUM_BLOCK) {
        p->nch = (p->n + NB_RSUM_BLOCK - 1) / NB_RSUM_BLOCK;
        p->g = 1;
        p->S = p->R * p->nch;
    } else {
        const int64_t padded = (p->n + NB_RSUM_LANES - 1) / NB_RSUM_LANES * NB_RSUM_LANES;
        p->nch = 0;
        p->g = NB_RSUM_BLOCK / padded;
        p->S = (p->R + p->g - 1) / p->g;
    }
}

/* Every reduced axis had size 1: each output is its one element (+0.0f
   turns -0 into +0, as the sum of {-0} starting from +0). */
static void copy_singletons(nb_reduce_op op, const nb_nd *v, int64_t nout, const float *x, float *y) {
    nb_odo o;
    nb_odo_init(&o, v->ndim, v->shape, v->stride[0], v->stride[1]);
    const bool add = op == NB_REDUCE_SUM || op == NB_REDUCE_MEAN;
    for (int64_t i = 0; i < nout; i++, nb_odo_next(&o)) y[o.o1] = add ? x[o.o0] + 0.0f : x[o.o0];
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
    const int inner = v.ndim - 1;
    const bool inner_kept = v.ndim > 0 && !(v.mask >> inner & 1);
    if (v.mask == 0) {
        copy_singletons(op, &v, nout, x, y);
        return NB_OK;
    }
    if (inner_kept && v.stride[0][inner] == 1 && v.shape[inner] >= COL_MIN_INNER) {
        col_plan p;
        plan_cols(&p, uk, op, &v, m, nout);
        return col_path(&p, x, y);
    }
    row_plan p;
    plan_rows(&p, uk, op, &v, m, nout);
    if (uk->rrows && p.nr == 0 && p.incx == 1 && p.n <= NB_RROWS_MAX_N) short_rows_path(&p, x, y);
    else row_path(&p, x, y);
    return NB_OK;
}
