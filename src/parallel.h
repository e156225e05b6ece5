/* The calling thread's place in nabla's parallel regions (private): the one
 * spelling of OpenMP's thread number and team size, so that every driver
 * builds the same with and without OpenMP. How many threads a region gets
 * is decided by nb_threads_for() (src/threads.c). */
#ifndef NB_PARALLEL_H
#define NB_PARALLEL_H

#ifdef _OPENMP
#include <omp.h>
#endif

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
