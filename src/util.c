/* Size arithmetic, aligned scratch memory, clocks, environment flags and ISA names. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "nb_config.h"

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
    /* The byte span h - l + 1 elements, not only each end's byte offset:
       with a negative stride (or one of each sign) both ends can fit while
       the span between them does not. */
    int64_t bytes, span, end;
    if (!nb_mul_ok(l, (int64_t)elem_size, &bytes) || !nb_add_ok(h, 1, &end) ||
        !nb_mul_ok(end, (int64_t)elem_size, &bytes) ||
        __builtin_sub_overflow(h, l, &span) || !nb_add_ok(span, 1, &span) ||
        !nb_mul_ok(span, (int64_t)elem_size, &bytes))
        return false;
    *lo = l;
    *hi = h;
    return true;
}

/* Blocks from 32 MiB on (glibc's largest mmap threshold: it serves them
   with a fresh mmap every time, never from memory freed before) are 2 MiB
   aligned and offered to the kernel for transparent huge pages: first
   touch then costs a page fault per 2 MiB instead of per 4 KiB (a 16M-float
   tensor add: 31 -> 7.7 ms, of which the kernel zeroing the new pages is
   most of the rest). Smaller blocks stay as they are: glibc recycles them
   from its heap, with no fault and no zeroing at all, and a 2 MiB
   alignment would push them to mmap (measured: a 4M-float add 0.9 -> 1.7
   ms). A hint only: where THP is off nothing changes. */
#define HUGE_FROM ((size_t)32 << 20)
#define HUGE_ALIGN ((size_t)2 << 20)

void *nb_aligned_alloc(size_t bytes) {
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    bytes = (bytes + 63) & ~(size_t)63;
#ifdef MADV_HUGEPAGE
    if (bytes >= HUGE_FROM) {
        if (posix_memalign(&p, HUGE_ALIGN, bytes) != 0) return NULL;
        (void)madvise(p, bytes & ~(HUGE_ALIGN - 1), MADV_HUGEPAGE);
        return p;
    }
#endif
    if (posix_memalign(&p, 64, bytes) != 0) return NULL;
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

/* Pure (no dispatch state), so that shadow mode and messages can name an ISA
   without calling into dispatch. */
const char *nb_isa_name(nb_isa isa) {
    if (isa == NB_ISA_REF) return "ref";
#define NB_NAME_IF(name, value) if (isa == value) return #name;
    NB_ALL_SIMD_ISAS(NB_NAME_IF)
#undef NB_NAME_IF
    return "unknown";
}
