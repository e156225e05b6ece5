/* Thread-count policy.
 *
 * nabla passes num_threads to its own parallel regions and never calls
 * omp_set_* or writes the environment. Default: NABLA_NUM_THREADS, else
 * OpenMP's default (which honours OMP_NUM_THREADS and the affinity mask).
 * In a child made by fork(): 1 (below).
 */
#include <pthread.h>
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "internal.h"

static int requested;   /* 0 = default; accessed atomically */

/* fork(): the child has only the thread that called fork, and the OpenMP
   runtime's pool (libgomp's at least) still believes its workers exist, so
   the child's first parallel region would wait for them forever. A forked
   child therefore runs single-threaded for good, as PyTorch does for its
   data-loader workers: num_threads(1) regions never wake the pool. The
   handler is registered when the library is loaded, so it also covers a
   fork before nabla's first call (the pool may be the host's). */
static int forked_child;   /* accessed atomically */

static void in_forked_child(void) { __atomic_store_n(&forked_child, 1, __ATOMIC_RELAXED); }

__attribute__((constructor)) static void register_fork_handler(void) {
    (void)pthread_atfork(NULL, NULL, in_forked_child);
}

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
    if (__atomic_load_n(&forked_child, __ATOMIC_RELAXED)) return 1;
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
