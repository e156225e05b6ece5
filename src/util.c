/* Size arithmetic, aligned scratch memory, clocks and environment flags. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

bool nb_numel_ok(int ndim, const int64_t *shape, int64_t *numel) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (!nb_mul_ok(n, shape[i], &n)) return false;
    *numel = n;
    return true;
}

bool nb_extent_ok(int ndim, const int64_t *shape, const int64_t *strides,
                  size_t elem_size, int64_t *lo, int64_t *hi) {
    int64_t l = 0, h = 0, step;
    for (int i = 0; i < ndim; i++) {
        if (!nb_mul_ok(shape[i] - 1, strides[i], &step)) return false;
        if (step < 0) { if (!nb_add_ok(l, step, &l)) return false; }
        else          { if (!nb_add_ok(h, step, &h)) return false; }
    }
    int64_t bytes;
    if (!nb_mul_ok(l, (int64_t)elem_size, &bytes) || !nb_mul_ok(h + 1, (int64_t)elem_size, &bytes))
        return false;
    *lo = l;
    *hi = h;
    return true;
}

void *nb_aligned_alloc(size_t bytes) {
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    if (posix_memalign(&p, 64, (bytes + 63) & ~(size_t)63) != 0) return NULL;
    return p;
}

void nb_aligned_free(void *p) { free(p); }

double nb_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

bool nb_verbose_enabled(void) {
    /* Read once: the library never re-reads or writes the environment. */
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        const char *e = getenv("NABLA_VERBOSE");
        v = (e && *e && strcmp(e, "0") != 0) ? 1 : 0;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v == 1;
}
