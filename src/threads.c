/* Thread-count policy.
 *
 * nabla passes num_threads to its own parallel regions and never calls
 * omp_set_* or writes the environment. Default: NABLA_NUM_THREADS, else
 * OpenMP's default (which honours OMP_NUM_THREADS and the affinity mask).
 */
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "internal.h"

static int requested;   /* 0 = default; accessed atomically */

static int default_threads(void) {
    static int cached;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v > 0) return v;
    const char *e = getenv("NABLA_NUM_THREADS");
    v = (e && *e) ? atoi(e) : 0;
#ifdef _OPENMP
    if (v <= 0) v = omp_get_max_threads();
#endif
    if (v <= 0) v = 1;
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    return v;
}

void nb_set_num_threads(int n) { __atomic_store_n(&requested, n > 0 ? n : 0, __ATOMIC_RELAXED); }

int nb_get_num_threads(void) {
    int n = __atomic_load_n(&requested, __ATOMIC_RELAXED);
    return n > 0 ? n : default_threads();
}

int nb_threads_for(int64_t work, int64_t min_work_per_thread) {
#ifdef _OPENMP
    if (omp_in_parallel()) return 1;
#endif
    int64_t n = nb_get_num_threads();
    if (min_work_per_thread > 0) {
        int64_t by_work = work / min_work_per_thread;
        if (by_work < n) n = by_work;
    }
    return n < 1 ? 1 : (int)n;
}
