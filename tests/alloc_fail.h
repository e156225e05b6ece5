/* Allocation-failure injection for the test programs that include it (once,
 * in the file with main): malloc, calloc, realloc, posix_memalign and
 * aligned_alloc are defined here, so the program's own code (nabla is
 * linked in statically) gets these instead of the C library's. While armed,
 * each allocation made from the program's own text (nabla, not the C
 * library, the OpenMP runtime or CMocka: told apart by the return address)
 * is counted, and the k-th one fails as out of memory would. The memory
 * itself comes from glibc's __libc_* entry points; free() is defined here
 * too, only to count. While tracking (af_track_begin/af_track_end), every
 * successful allocation from the program's text adds one and every free()
 * of a non-NULL pointer from it takes one away: a call that leaks leaves a
 * positive balance (the test's own code must not allocate or free while
 * tracking).
 *
 * Not under AddressSanitizer (which replaces the allocator itself):
 * AF_AVAILABLE is 0 there and the tests that need it skip. */
#ifndef NBT_ALLOC_FAIL_H
#define NBT_ALLOC_FAIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
static int af_tracking;   /* accessed atomically */
static long af_balance;   /* allocations minus frees since af_track_begin */
/* The blocks allocated while tracking and not yet freed: a free() counts
   only when its block is one of them (a free from our text of a block made
   elsewhere, e.g. libgomp's team freed through a tail call that returns
   into our code, or a cache filled before tracking, is not ours). */
#define AF_SET 16384
static const void *af_set[AF_SET];

/* Starts counting allocations minus frees of the program's own code. */
static inline void af_track_begin(void) {
    memset((void *)af_set, 0, sizeof af_set);
    __atomic_store_n(&af_balance, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&af_tracking, 1, __ATOMIC_SEQ_CST);
}
/* Stops; returns allocations minus frees (0: nothing leaked). */
static inline long af_track_end(void) {
    __atomic_store_n(&af_tracking, 0, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&af_balance, __ATOMIC_SEQ_CST);
}

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
extern void __libc_free(void *);
static int af_lock;   /* guards af_set */
extern char __executable_start[], etext[];

static int af_ours(const void *caller) {
    return (const char *)caller >= __executable_start && (const char *)caller < etext;
}
static void af_track(const void *caller, const void *p, long d) {
#ifdef AF_DEBUG
    if (p && af_tracking && dbg_n < 64) { dbg_c[dbg_n] = caller; dbg_d[dbg_n++] = d; }
#endif
    if (!p || !__atomic_load_n(&af_tracking, __ATOMIC_SEQ_CST)) return;
    if (d > 0 && !af_ours(caller)) return;
    while (__atomic_exchange_n(&af_lock, 1, __ATOMIC_ACQUIRE)) {}
    size_t h = ((uintptr_t)p >> 4) % AF_SET;
    for (size_t i = 0; i < AF_SET; i++, h = (h + 1) % AF_SET) {
        if (d > 0 && !af_set[h]) { af_set[h] = p; af_balance++; break; }
        if (d < 0 && af_set[h] == p) {
            af_set[h] = NULL;
            af_balance--;
            /* Re-insert the run after the hole (linear probing). */
            for (size_t j = (h + 1) % AF_SET; af_set[j]; j = (j + 1) % AF_SET) {
                const void *q = af_set[j];
                af_set[j] = NULL;
                size_t g = ((uintptr_t)q >> 4) % AF_SET;
                while (af_set[g]) g = (g + 1) % AF_SET;
                af_set[g] = q;
            }
            break;
        }
        if (d < 0 && !af_set[h]) break;   /* not a block made while tracking */
    }
    __atomic_store_n(&af_lock, 0, __ATOMIC_RELEASE);
}

static int af_fails(const void *caller) {
    if (!__atomic_load_n(&af_armed, __ATOMIC_SEQ_CST)) return 0;
    if (!af_ours(caller)) return 0;
    const long k = __atomic_add_fetch(&af_count, 1, __ATOMIC_SEQ_CST);
    const long at = __atomic_load_n(&af_fail_at, __ATOMIC_SEQ_CST);
    return at == 0 || k == at;
}

void *malloc(size_t n) {
    const void *c = __builtin_return_address(0);
    if (af_fails(c)) { errno = ENOMEM; return NULL; }
    void *p = __libc_malloc(n);
    af_track(c, p, 1);
    return p;
}
void *calloc(size_t m, size_t n) {
    const void *c = __builtin_return_address(0);
    if (af_fails(c)) { errno = ENOMEM; return NULL; }
    void *p = __libc_calloc(m, n);
    af_track(c, p, 1);
    return p;
}
void *realloc(void *q, size_t n) {
    const void *c = __builtin_return_address(0);
    if (af_fails(c)) { errno = ENOMEM; return NULL; }
    void *p = __libc_realloc(q, n);
    if (!q) af_track(c, p, 1);                 /* realloc(NULL, n) is malloc */
    else if (n == 0 && !p) af_track(c, q, -1); /* realloc(q, 0) freed q */
    return p;
}
int posix_memalign(void **out, size_t align, size_t n) {
    const void *c = __builtin_return_address(0);
    if (af_fails(c)) return ENOMEM;
    void *p = __libc_memalign(align, n);
    if (!p) return ENOMEM;
    af_track(c, p, 1);
    *out = p;
    return 0;
}
void *aligned_alloc(size_t align, size_t n) {
    const void *c = __builtin_return_address(0);
    if (af_fails(c)) { errno = ENOMEM; return NULL; }
    void *p = __libc_memalign(align, n);
    af_track(c, p, 1);
    return p;
}
void free(void *p) {
    af_track(__builtin_return_address(0), p, -1);
    __libc_free(p);
}
#endif

#endif
