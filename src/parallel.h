/* The calling thread's place in nabla's parallel regions (private): the one
 * spelling of OpenMP's thread number and team size, so that every driver
 * builds the same with and without OpenMP, and the team runner every
 * threaded loop uses (parallel.c holds the only OpenMP pragmas). How many threads a region gets
 * is decided by nb_threads_for() (src/threads.c). */
#ifndef NB_PARALLEL_H
#define NB_PARALLEL_H

#include <stdint.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* A member of a team: tid in 0 .. nt-1, nt the team's size (which may be
   smaller than asked for: split work by nt, not by the request). */
typedef void (*nb_team_body)(void *ctx, int tid, int nt);

/* Runs body on a team of nt threads (nt <= 1: once on the calling thread,
   tid 0, nt 1). Every threaded loop of nabla goes through this file. */
void nb_parallel_team(int nt, nb_team_body body, void *ctx);

/* Inside a team body: waits for the whole team. nt is the body's nt (a
   team of one has nothing to wait for, and must not touch a caller's
   region). */
void nb_parallel_barrier(int nt);

/* Runs body(ctx, begin, end) over [0, n) cut into nt contiguous chunks of
   ceil(n / nt) rounded up to a multiple of quantum (the last one shorter,
   empty ones skipped), one per thread; returns the largest value any
   body returned (0 when none). nt <= 1: one body(ctx, 0, n). */
int nb_parallel_chunks(int nt, int64_t n, int64_t quantum,
                       int (*body)(void *ctx, int64_t begin, int64_t end), void *ctx);

/* nb_parallel_chunks on nb_threads_for(n, grain) threads (so a problem of
   fewer than 2 * grain items, or a call from inside a parallel region, runs
   on the calling thread as one body(ctx, 0, n)). The split depends only on
   n and the thread count: a body whose result must not depend on the
   thread count must not depend on where chunks begin. body may run on
   several threads at once; ctx is shared, read-only. */
void nb_parallel_for(int64_t n, int64_t grain, void (*body)(void *ctx, int64_t begin, int64_t end),
                     void *ctx);

/* [lo, hi) of member tid of nt in a split of n items into nearly equal
   parts: the split the drivers' team bodies use. */
static inline void nb_parallel_share(int64_t n, int tid, int nt, int64_t *lo, int64_t *hi) {
    *lo = n * tid / nt;
    *hi = n * (tid + 1) / nt;
}

/* 0 .. nb_parallel_team_size() - 1 inside a region; 0 outside. */
static inline int nb_parallel_thread_num(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* The threads of the innermost region; 1 outside. */
static inline int nb_parallel_team_size(void) {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

#endif
