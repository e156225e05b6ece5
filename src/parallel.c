/* The parallel-for helper (src/parallel.h): the one threaded loop of the
 * tensor layer. Static contiguous chunks: each thread gets one range, so a
 * body that walks memory in order streams it, and the split is a pure
 * function of (n, thread count). */
#include "parallel.h"

#include "internal.h"

void nb_parallel_for(int64_t n, int64_t grain, void (*body)(void *ctx, int64_t begin, int64_t end),
                     void *ctx) {
    if (n <= 0) return;
    const int nt = nb_threads_for(n, grain);
    if (nt <= 1) {
        body(ctx, 0, n);
        return;
    }
    const int64_t chunk = (n + nt - 1) / nt;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int t = 0; t < nt; t++) {
        const int64_t lo = (int64_t)t * chunk;
        const int64_t hi = lo + chunk < n ? lo + chunk : n;
        if (lo < hi) body(ctx, lo, hi);
    }
}
