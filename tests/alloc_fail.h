/* Allocation-failure injection for the test programs that include it (once,
 * in the file with main): malloc, calloc, realloc, posix_memalign and
 * aligned_alloc are defined here, so the program's own code (nabla is
 * linked in statically) gets these instead of the C library's. While armed,
 * each allocation made from the program's own text (nabla, not the C
 * library, the OpenMP runtime or CMocka: told apart by the return address)
 * is counted, and the k-th one fails as out of memory would. The memory
 * itself comes from glibc's __libc_* entry points, so free() stays glibc's.
 *
 * Not under AddressSanitizer (which replaces the allocator itself):
 * AF_AVAILABLE is 0 there and the tests that need it skip. */
#ifndef NBT_ALLOC_FAIL_H
#define NBT_ALLOC_FAIL_H

#include <errno.h>
#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define AF_AVAILABLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AF_AVAILABLE 0
#endif
#endif
#if !defined(AF_AVAILABLE) && defined(__GLIBC__)
#define AF_AVAILABLE 1
#endif
#ifndef AF_AVAILABLE
#define AF_AVAILABLE 0
#endif

static int af_armed;      /* accessed atomically */
static long af_fail_at;   /* 1-based; 0: every counted allocation fails */
static long af_count;     /* counted allocations since af_arm */

/* Counts and fails allocations made from now on (k == 0: all of them). */
static void af_arm(long k) {
    __atomic_store_n(&af_count, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&af_fail_at, k, __ATOMIC_SEQ_CST);
    __atomic_store_n(&af_armed, 1, __ATOMIC_SEQ_CST);
}
/* Stops; returns the number of allocations counted while armed. */
static long af_disarm(void) {
    __atomic_store_n(&af_armed, 0, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&af_count, __ATOMIC_SEQ_CST);
}

#if AF_AVAILABLE
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern char __executable_start[], etext[];

static int af_fails(const void *caller) {
    if (!__atomic_load_n(&af_armed, __ATOMIC_SEQ_CST)) return 0;
    if ((const char *)caller < __executable_start || (const char *)caller >= etext) return 0;
    const long k = __atomic_add_fetch(&af_count, 1, __ATOMIC_SEQ_CST);
    const long at = __atomic_load_n(&af_fail_at, __ATOMIC_SEQ_CST);
    return at == 0 || k == at;
}

void *malloc(size_t n) {
    if (af_fails(__builtin_return_address(0))) { errno = ENOMEM; return NULL; }
    return __libc_malloc(n);
}
void *calloc(size_t m, size_t n) {
    if (af_fails(__builtin_return_address(0))) { errno = ENOMEM; return NULL; }
    return __libc_calloc(m, n);
}
void *realloc(void *p, size_t n) {
    if (af_fails(__builtin_return_address(0))) { errno = ENOMEM; return NULL; }
    return __libc_realloc(p, n);
}
int posix_memalign(void **out, size_t align, size_t n) {
    if (af_fails(__builtin_return_address(0))) return ENOMEM;
    void *p = __libc_memalign(align, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
void *aligned_alloc(size_t align, size_t n) {
    if (af_fails(__builtin_return_address(0))) { errno = ENOMEM; return NULL; }
    return __libc_memalign(align, n);
}
#endif

#endif
