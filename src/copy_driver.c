/* Portable driver of strided copies (the SIMD backends' copy_strided slot).
 *
 * The layout is normalised with dst as the key (nd_iter.h): size-1 dims
 * dropped, dims where dst runs backwards flipped on both operands, dims
 * sorted by dst stride so the innermost dim is the dst-contiguous one, and
 * composable dims merged. The innermost dim then picks a path:
 *
 *   contiguous   dst and src stride 1: memcpy of whole runs (glibc's memcpy
 *                is already AVX2 and streams large blocks).
 *   broadcast    4-byte elements, src stride 0: the fill32 kernel (splat
 *                stores).
 *   transpose    4-byte elements, src stride != 1 but another dim has src
 *                stride 1: the transpose32 kernel over those two dims, in
 *                blocks of 128 dst rows x 512 dst columns (8x8 register
 *                tiles inside). This is a 2-D transpose and any permute
 *                that moves the contiguous dim (NCHW -> NHWC). A src
 *                running backwards (stride -1) on that dim takes the
 *                generic path.
 *   generic      everything else (other element sizes included): an
 *                element loop with fixed-size moves for 1/2/4/8 bytes and
 *                memcpy otherwise.
 * Outer dims are walked by an odometer; work items (outer index x block)
 * are split into contiguous ranges over OpenMP threads when the copy is
 * large. Pure data movement: bit-exact, whatever the path and threads.
 */
#include <string.h>


#include "copy_driver.h"
#include "internal.h"
#include "parallel.h"
#include "nd_iter.h"

/* Bytes copied below which a thread is not worth waking: 1 MiB moves in
   ~50-100 us, against a few us for a parallel region on an idle machine.
   Same caveat as MIN_ELEMS_PER_THREAD in reduce_driver.c (measured on an
   oversubscribed machine: copy/nabla/contig_256K took 34 ms on 2 threads,
   0.08 ms on one); re-measure with bench copy/nabla/contig_{64K,256K} and
   transpose_{256x256,512x512} vs their /t1. */
#define MIN_BYTES_PER_THREAD ((int64_t)1 << 20)
/* Copies at least this large bypass the cache on their stores (larger than
   common last-level caches per core; measured: streaming wins clearly on a
   64 MiB transpose, and small copies are usually read again soon). */
#define NONTEMPORAL_BYTES ((int64_t)16 << 20)
#define TRANSPOSE_ROWS 128  /* dst rows per transpose work item (AVX2: two kernel strips) */
/* (at TRANSPOSE_COLS dst columns; narrower items get proportionally more rows) */
/* dst columns (= source rows) per transpose work item: 512 source rows of
   256 bytes each (128 KiB, L2-resident) are revisited by the next row block
   while their pages are still in the TLB (each source row is its own page
   when rows are long). Items walk row blocks inside a column super-block. */
#define TRANSPOSE_COLS 512

enum mode { CONTIG, FILL, TRANSPOSE, GENERIC };

typedef struct {
    const nb_copy_ukernels *uk;
    enum mode mode;
    int64_t es;
    int64_t n, dsi, ssi;          /* innermost dim */
    int64_t m, ldd, lds;          /* transpose: the src-contiguous dim */
    int64_t ni;                   /* transpose: row blocks per column super-block */
    int64_t mrows;                /* transpose: dst rows per work item */
    int nontemporal;              /* the copy is larger than the caches */
    int64_t nblk, nouter;
    int64_t chunk;                /* contiguous: bytes per work item */
    nb_odo outs;                  /* operand 0 = dst, 1 = src */
} plan;

static void copy_generic(const plan *p, char *d, const char *s, int64_t n) {
    const int64_t dsb = p->dsi * p->es, ssb = p->ssi * p->es;
    switch (p->es) {
    case 1: for (int64_t j = 0; j < n; j++) d[j * dsb] = s[j * ssb]; break;
    case 2: for (int64_t j = 0; j < n; j++) memcpy(d + j * dsb, s + j * ssb, 2); break;
    case 4: for (int64_t j = 0; j < n; j++) memcpy(d + j * dsb, s + j * ssb, 4); break;
    case 8: for (int64_t j = 0; j < n; j++) memcpy(d + j * dsb, s + j * ssb, 8); break;
    default: for (int64_t j = 0; j < n; j++) memcpy(d + j * dsb, s + j * ssb, (size_t)p->es); break;
    }
}

static void do_item(const plan *p, char *d, const char *s, int64_t blk) {
    switch (p->mode) {
    case CONTIG: {
        const int64_t bytes = p->n * p->es, lo = blk * p->chunk;
        const int64_t len = bytes - lo < p->chunk ? bytes - lo : p->chunk;
        memcpy(d + lo, s + lo, (size_t)len);
        break;
    }
    case FILL: {
        uint32_t v;
        memcpy(&v, s, 4);
        p->uk->fill32(p->n, v, d);
        break;
    }
    case TRANSPOSE: {
        const int64_t i0 = (blk % p->ni) * p->mrows, j0 = (blk / p->ni) * TRANSPOSE_COLS;
        const int64_t rows = p->m - i0 < p->mrows ? p->m - i0 : p->mrows;
        const int64_t cols = p->n - j0 < TRANSPOSE_COLS ? p->n - j0 : TRANSPOSE_COLS;
        p->uk->transpose32(rows, cols, s + (i0 + j0 * p->lds) * 4, p->lds,
                           d + (i0 * p->ldd + j0) * 4, p->ldd, p->nontemporal);
        break;
    }
    case GENERIC:
        copy_generic(p, d, s, p->n);
        break;
    }
}

static void run_range(const plan *p, char *dst, const char *src, int64_t lo, int64_t hi);

/* A team member's share of the blocks (run_range below). */
typedef struct {
    const plan *p;
    char *dst;
    const char *src;
    int64_t items;
} copy_run;

static void copy_member(void *ctx, int tid, int nt) {
    const copy_run *r = ctx;
    int64_t lo, hi;
    nb_parallel_share(r->items, tid, nt, &lo, &hi);
    run_range(r->p, r->dst, r->src, lo, hi);
}

static void run_range(const plan *p, char *dst, const char *src, int64_t lo, int64_t hi) {
    if (lo >= hi) return;
    nb_odo o = p->outs;
    int64_t cur = lo / p->nblk;
    nb_odo_seek(&o, cur);
    for (int64_t it = lo; it < hi; it++) {
        const int64_t oi = it / p->nblk;
        if (oi != cur) { nb_odo_next(&o); cur = oi; }
        do_item(p, dst + o.o0 * p->es, src + o.o1 * p->es, it % p->nblk);
    }
}

/* The inner-dim kind of copy, and the source dim that a 2-D transpose
   reads contiguously (-1 when none). */
static int pick_mode(plan *p, const nb_nd *v) {
    const int inner = v->ndim - 1;
    p->n = v->shape[inner];
    p->dsi = v->stride[0][inner];
    p->ssi = v->stride[1][inner];
    int tdim = -1;
    if (p->es == 4 && p->dsi == 1 && p->ssi != 1 && p->ssi != 0)
        for (int i = inner - 1; i >= 0; i--)
            if (v->stride[1][i] == 1) { tdim = i; break; }
    if (p->dsi == 1 && p->ssi == 1) p->mode = CONTIG;
    else if (p->es == 4 && p->dsi == 1 && p->ssi == 0) p->mode = FILL;
    else if (tdim >= 0) p->mode = TRANSPOSE;
    else p->mode = GENERIC;
    return tdim;
}

/* Plans a normalised copy of `total` elements (v->ndim >= 1): the mode, the
   outer odometer, the items each outer index is cut into, and the threads.
   Pure: reads only v and the plan. Returns the thread count. */
static int plan_copy(plan *p, const nb_nd *v, int64_t total) {
    const int tdim = pick_mode(p, v), inner = v->ndim - 1;
    /* Outer dims: all but the innermost (and the transpose's row dim). */
    int64_t osh[NB_MAX_DIMS], od[NB_MAX_DIMS], os[NB_MAX_DIMS];
    int no = 0;
    p->nouter = 1;
    for (int i = 0; i < inner; i++) {
        if (i == tdim) continue;
        osh[no] = v->shape[i];
        od[no] = v->stride[0][i];
        os[no++] = v->stride[1][i];
        p->nouter *= v->shape[i];
    }
    nb_odo_init(&p->outs, no, osh, od, os);
    p->nblk = 1;
    if (p->mode == TRANSPOSE) {
        p->m = v->shape[tdim];
        p->ldd = v->stride[0][tdim];
        p->lds = p->ssi;
        /* Fewer dst columns than TRANSPOSE_COLS (NCHW -> NHWC with a small
           C): more rows per item, so an item keeps the same area. Fewer,
           larger kernel calls (the AVX2 kernel ends each streaming call
           with a store fence; dropping that fence, as an experiment, gave
           ~ +4% on nchw_to_nhwc_8x128x128x128/t1 with 1024 calls of
           128x128). Measured there, 256 calls of 512x128 vs 1024: 14.4-15.1
           vs 13.8-14.5 GB/s (7 interleaved pairs, every one faster). */
        const int64_t cols = p->n < TRANSPOSE_COLS ? p->n : TRANSPOSE_COLS;
        p->mrows = TRANSPOSE_ROWS * (TRANSPOSE_COLS / cols);
        p->ni = (p->m + p->mrows - 1) / p->mrows;
        p->nblk = p->ni * ((p->n + TRANSPOSE_COLS - 1) / TRANSPOSE_COLS);
    }
    int nt = nb_threads_for(total * p->es, MIN_BYTES_PER_THREAD);
    if (p->mode == CONTIG && p->nouter < nt) {
        /* Few long runs: one piece per thread, as large as possible, so
           memcpy can pick its streaming (non-temporal) path for big blocks
           instead of many cache-sized calls. */
        p->chunk = (p->n * p->es + nt - 1) / nt;
        p->chunk = (p->chunk + 63) & ~(int64_t)63;
        p->nblk = (p->n * p->es + p->chunk - 1) / p->chunk;
    } else if (p->mode == CONTIG) {
        p->chunk = p->n * p->es;
    }
    p->nontemporal = total * p->es >= NONTEMPORAL_BYTES;
    const int64_t items = p->nouter * p->nblk;
    return nt > items ? (int)items : nt;
}

nb_status nb_copy_strided_driver(const nb_copy_ukernels *uk, size_t elem_size, int ndim,
                                 const int64_t *shape, const void *src, const int64_t *ss,
                                 void *dst, const int64_t *ds) {
    nb_nd v;
    v.ndim = ndim;
    v.mask = 0;
    int64_t total = 1;
    for (int i = 0; i < ndim; i++) {
        v.shape[i] = shape[i];
        v.stride[0][i] = ds[i];
        v.stride[1][i] = ss[i];
        total *= shape[i];
    }
    if (total == 0) return NB_OK;
    int64_t off[2];
    nb_nd_normalise(&v, 0, off);
    plan p;
    memset(&p, 0, sizeof p);
    p.uk = uk;
    p.es = (int64_t)elem_size;
    char *d = (char *)dst + off[0] * p.es;
    const char *s = (const char *)src + off[1] * p.es;
    if (v.ndim == 0) {
        memcpy(d, s, elem_size);
        return NB_OK;
    }
    const int nt = plan_copy(&p, &v, total);
    copy_run r = {&p, d, s, p.nouter * p.nblk};
    nb_parallel_team(nt, copy_member, &r);
    return NB_OK;
}
