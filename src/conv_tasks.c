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
    return gemm ? nb_gemm_driver_reserve(cd->gemm, gemm->ta, gemm->tb, gemm->M, gemm->N, gemm->K)
                : NB_OK;
}

/* Runs tasks 0..tasks-1 of a pass over nt threads (each with its own
   rows x cols column block) or in order on this one; the first failure is
   returned (the others still run: each task writes only its own outputs).
   The column blocks are allocated here, unless need_col is 0 (pointwise
   convolutions read x directly), and every thread reserves the packing
   buffer of its tasks' SGEMMs (sized for a GEMM on one thread inside the
   team, for a threaded one when the tasks run in order), all before any
   task runs: out of memory is then NB_ERR_OOM with nothing written. */
nb_status nb_conv_run_tasks(const nb_conv_desc *cd, int nt, int64_t tasks, int64_t rows,
                            int64_t cols, int need_col, const nb_conv_gemm_shape *gemm,
                            nb_conv_task_fn fn, const void *ctx) {
    float *col = NULL;
    int owned = 0;
    if (need_col && !(col = nb_conv_scratch_floats(NB_SCRATCH_CONV_TASKS, nt, rows, cols, &owned)))
        return NB_ERR_OOM;
    nb_status st = NB_OK;
    if (nt > 1) {
        int reserve_failed = 0;
#pragma omp parallel num_threads(nt)
        {
            if (reserve_gemm(cd, gemm) != NB_OK) __atomic_store_n(&reserve_failed, 1, __ATOMIC_RELAXED);
            /* Every thread reads the flag after every thread has set it, so
               all of them take the same branch to the worksharing loop. */
#pragma omp barrier
            if (!__atomic_load_n(&reserve_failed, __ATOMIC_RELAXED)) {
#pragma omp for schedule(static)
                for (int64_t t = 0; t < tasks; t++)
                    keep_first(&st, fn(ctx, t, col ? col + nb_parallel_thread_num() * rows * cols : NULL));
            }
            if (gemm) nb_scratch_trim(NB_SCRATCH_GEMM);
        }
        if (reserve_failed) st = NB_ERR_OOM;
    } else if ((st = reserve_gemm(cd, gemm)) == NB_OK) {
        for (int64_t t = 0; t < tasks && st == NB_OK; t++) st = fn(ctx, t, col);
        if (gemm) nb_scratch_trim(NB_SCRATCH_GEMM);
    }
    nb_scratch_done(col, owned);
    return st;
}

