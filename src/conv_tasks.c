/* The convolution passes' task runner and its working memory (shared by
 * src/conv_driver.c and src/conv_implicit.c, which both call down into this
 * file and never into each other's).
 */
#include <stdint.h>

#include "conv_internal.h"
#include "gemm_driver.h"
#include "internal.h"
#include "parallel.h"
#include "scratch.h"

/* Threads for `tasks` independent tasks of n k P Q L multiply-adds in all:
   1 when they should rather run one after the other with threaded GEMMs
   (too few tasks to balance). */
int nb_conv_task_threads(const nb_conv_desc *cd, int64_t tasks, const nb_conv2d_desc *d,
                        const nb_conv_geom *g) {
    /* n k P Q (the elements of y) fits int64; times L it may not: saturate,
       it only sizes the team. */
    int64_t mnk;
    if (!nb_mul_ok(d->n * d->k * g->PQ, g->L, &mnk)) mnk = INT64_MAX;
    const int nt = nb_threads_for(mnk, cd->min_mnk_per_thread);
    if (nt <= 1 || tasks < nt) return 1;
    if (tasks % nt == 0 || tasks >= 4 * (int64_t)nt) return nt;
    return 1;
}

/* count buffers of rows x cols floats, back to back, from this thread's
   scratch slot (scratch.h; release with nb_scratch_done(p, *owned)); NULL
   on overflow/OOM. */
float *nb_conv_scratch_floats(int slot, int64_t count, int64_t rows, int64_t cols, int *owned) {
    int64_t n, bytes;
    *owned = 0;
    if (!nb_mul_ok(rows, cols, &n) || !nb_mul_ok(n, count, &n) ||
        !nb_mul_ok(n, (int64_t)sizeof(float), &bytes))
        return NULL;
    return nb_scratch(slot, (size_t)bytes, owned);
}

/* The first failure of a set of tasks (they are independent: the others
   still run, as each writes only its own outputs). */
static void keep_first(nb_status *all, nb_status s) {
    if (s == NB_OK) return;
    /* A compare-and-swap, not a named omp critical (which would export a
       symbol from the shared library). */
    nb_status ok = NB_OK;
    __atomic_compare_exchange_n(all, &ok, s, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static nb_status reserve_gemm(const nb_conv_desc *cd, const nb_conv_gemm_shape *gemm) {
    return gemm ? nb_gemm_driver_reserve(cd->sgemm_desc ? cd->sgemm_desc : cd->gemm, gemm->ta, gemm->tb, gemm->M, gemm->N, gemm->K)
                : NB_OK;
}

typedef struct {
    const nb_conv_desc *cd;
    const nb_conv_gemm_shape *gemm;
    nb_conv_task_fn fn;
    const void *ctx;
    float *col;
    int64_t col_floats, tasks;
    int reserve_failed;   /* accessed atomically */
    nb_status st;         /* the first failure; keep_first */
    int balanced;         /* tasks handed out by nb_conv_grab from next */
    nb_conv_pre_fn pre;   /* each member's share of the set-up, before the barrier */
    int64_t next;         /* accessed atomically */
} tasks_run;

int nb_conv_grab(int64_t *next, int64_t n, int nt, int64_t *lo, int64_t *hi) {
    int64_t cur = __atomic_load_n(next, __ATOMIC_RELAXED);
    for (;;) {
        if (cur >= n) return 0;
        int64_t take = (n - cur) / (2 * (int64_t)nt);
        if (take < 1) take = 1;
        if (__atomic_compare_exchange_n(next, &cur, cur + take, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
            *lo = cur;
            *hi = cur + take;
            return 1;
        }
    }
}

static void tasks_member(void *p, int tid, int nt) {
    tasks_run *r = p;
    if (reserve_gemm(r->cd, r->gemm) != NB_OK) __atomic_store_n(&r->reserve_failed, 1, __ATOMIC_RELAXED);
    if (r->pre) r->pre(r->ctx, tid, nt);
    /* Every member reads the flag after every member has set it, so all of
       them take the same branch. */
    nb_parallel_barrier(nt);
    if (!__atomic_load_n(&r->reserve_failed, __ATOMIC_RELAXED)) {
        int64_t lo, hi;
        float *col = r->col ? r->col + tid * r->col_floats : NULL;
        if (r->balanced) {
            while (nb_conv_grab(&r->next, r->tasks, nt, &lo, &hi))
                for (int64_t t = lo; t < hi; t++) keep_first(&r->st, r->fn(r->ctx, t, col));
        } else {
            nb_parallel_share(r->tasks, tid, nt, &lo, &hi);
            for (int64_t t = lo; t < hi; t++) keep_first(&r->st, r->fn(r->ctx, t, col));
        }
    }
    if (r->gemm) nb_scratch_trim(NB_SCRATCH_GEMM);
}

/* Runs tasks 0..tasks-1 of a pass over nt threads (each with its own
   rows x cols column block) or in order on this one; the first failure is
   returned (the others still run: each task writes only its own outputs).
   The column blocks are allocated here, unless need_col is 0 (pointwise
   convolutions read x directly), and every thread reserves the packing
   buffer of its tasks' SGEMMs (sized for a GEMM on one thread inside the
   team, for a threaded one when the tasks run in order), all before any
   task runs: out of memory is then NB_ERR_OOM with nothing written. */
static nb_status run_tasks(const nb_conv_desc *cd, int nt, int64_t tasks, int64_t rows,
                           int64_t cols, int need_col, const nb_conv_gemm_shape *gemm,
                           nb_conv_task_fn fn, const void *ctx, int balanced, nb_conv_pre_fn pre) {
    float *col = NULL;
    int owned = 0;
    if (need_col && !(col = nb_conv_scratch_floats(NB_SCRATCH_CONV_TASKS, nt, rows, cols, &owned)))
        return NB_ERR_OOM;
    tasks_run r = {cd, gemm, fn, ctx, col, rows * cols, tasks, 0, NB_OK, balanced, pre, 0};
    nb_status st = NB_OK;
    if (nt > 1) {
        nb_parallel_team(nt, tasks_member, &r);
        st = r.reserve_failed ? NB_ERR_OOM : r.st;
    } else if ((st = reserve_gemm(cd, gemm)) == NB_OK) {
        if (pre) pre(ctx, 0, 1);
        for (int64_t t = 0; t < tasks && st == NB_OK; t++) st = fn(ctx, t, col);
        if (gemm) nb_scratch_trim(NB_SCRATCH_GEMM);
    }
    nb_scratch_done(col, owned);
    return st;
}


nb_status nb_conv_run_tasks(const nb_conv_desc *cd, int nt, int64_t tasks, int64_t rows,
                            int64_t cols, int need_col, const nb_conv_gemm_shape *gemm,
                            nb_conv_task_fn fn, const void *ctx) {
    return run_tasks(cd, nt, tasks, rows, cols, need_col, gemm, fn, ctx, 0, NULL);
}

nb_status nb_conv_run_tasks_ex(const nb_conv_desc *cd, int nt, int64_t tasks, int64_t rows,
                               int64_t cols, int need_col, const nb_conv_gemm_shape *gemm,
                               nb_conv_task_fn fn, const void *ctx, int balanced,
                               nb_conv_pre_fn pre) {
    return run_tasks(cd, nt, tasks, rows, cols, need_col, gemm, fn, ctx, balanced, pre);
}
