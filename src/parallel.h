/* The calling thread's place in nabla's parallel regions (private): the one
 * spelling of OpenMP's thread number and team size, so that every driver
 * builds the same with and without OpenMP. How many threads a region gets
 * is decided by nb_threads_for() (src/threads.c). */
#ifndef NB_PARALLEL_H
#define NB_PARALLEL_H

#include <stdint.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Runs body(ctx, begin, end) over [0, n) in static contiguous chunks, one
   per thread: nb_threads_for(n, grain) threads (so a problem of fewer than
   2 * grain items, or a call from inside a parallel region, runs on the
   calling thread as one body(ctx, 0, n)); chunk t is
   [t ceil(n/nt), (t+1) ceil(n/nt)) clipped to n, empty chunks skipped. The
   split depends only on n and the thread count: a body whose result must
   not depend on the thread count must not depend on where chunks begin.
   body may run on several threads at once; ctx is shared, read-only. */
void nb_parallel_for(int64_t n, int64_t grain, void (*body)(void *ctx, int64_t begin, int64_t end),
                     void *ctx);

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
