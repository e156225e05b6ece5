/* The caching allocator (bufcache.h): per-thread free lists by size class,
 * a per-thread byte cap, a generation counter for nb_free_buffers(). */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include <nabla/tensor.h>

#include "bufcache.h"
#include "internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define NB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NB_ASAN 1
#endif
#endif
#ifdef NB_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
/* LeakSanitizer does not find the lists through thread-local storage: the
   cache itself is a root while its thread lives, so cached blocks are not
   reported as leaks (a tensor never released still is). */
#define ROOT(p, n) __lsan_register_root_region(p, n)
#define UNROOT(p, n) __lsan_unregister_root_region(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#define ROOT(p, n) ((void)(p), (void)(n))
#define UNROOT(p, n) ((void)(p), (void)(n))
#endif

/* Classes 0..3: 64, 128, 192, 256 B; then for each power 2^p (p >= 8) the
   four classes 2^p + k 2^(p-2), k = 1..4, up to p = MAX_POW. Larger blocks
   are not cached (class -1). */
#define MAX_POW 40
#define NCLS (4 + (MAX_POW - 8 + 1) * 4)

static int class_of(size_t n) {
    if (n <= 256) return n == 0 ? 0 : (int)((n + 63) / 64) - 1;
    const int p = 63 - __builtin_clzll((unsigned long long)(n - 1));   /* 2^p < n <= 2^(p+1) */
    if (p > MAX_POW) return -1;
    const size_t k = ((n - 1) - ((size_t)1 << p)) >> (p - 2);            /* 0..3 */
    return 4 + (p - 8) * 4 + (int)k;
}

static size_t class_size(int c) {
    if (c < 4) return (size_t)(c + 1) * 64;
    const int p = 8 + (c - 4) / 4, k = (c - 4) % 4;
    return ((size_t)1 << p) + (size_t)(k + 1) * ((size_t)1 << (p - 2));
}

typedef struct {
    void *head[NCLS];   /* free lists; a block's first word links to the next */
    size_t bytes;       /* bytes held in the lists */
    unsigned gen;       /* the generation this cache was last flushed at */
    int registered;     /* the exit destructor knows this cache */
} tcache;

static _Thread_local tcache tc;
static _Atomic unsigned generation;

/* ---- the cap ---- */

#define LIMIT_UNSET SIZE_MAX
#define LIMIT_DEFAULT ((size_t)256 << 20)
static _Atomic size_t limit = LIMIT_UNSET;

/* NABLA_CACHE_BYTES: digits with an optional K/M/G suffix; anything else
   is ignored (the default stays). */
static size_t limit_from_env(void) {
    const char *e = getenv("NABLA_CACHE_BYTES");
    if (!e || !isdigit((unsigned char)*e)) return LIMIT_DEFAULT;
    char *end;
    unsigned long long v = strtoull(e, &end, 10);
    int shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20 : *end == 'G' || *end == 'g' ? 30 : 0;
    if (shift) end++;
    if (*end != '\0' || v > (SIZE_MAX >> 1) >> shift) return LIMIT_DEFAULT;
    return (size_t)v << shift;
}

static size_t cache_limit(void) {
    size_t l = atomic_load_explicit(&limit, memory_order_relaxed);
    if (l != LIMIT_UNSET) return l;
    l = limit_from_env();
    size_t unset = LIMIT_UNSET;   /* an explicit nb_set_buffer_cache_limit wins */
    atomic_compare_exchange_strong(&limit, &unset, l);
    return atomic_load_explicit(&limit, memory_order_relaxed);
}

void nb_set_buffer_cache_limit(size_t bytes) {
    atomic_store(&limit, bytes == LIMIT_UNSET ? LIMIT_UNSET - 1 : bytes);
}

size_t nb_buffer_cache_bytes(void) { return tc.bytes; }

/* ---- flushing ---- */

static void flush(tcache *t) {
    for (int c = 0; c < NCLS; c++) {
        void *p = t->head[c];
        while (p) {
            UNPOISON((char *)p + sizeof(void *), class_size(c) - sizeof(void *));
            void *next = *(void **)p;
            nb_aligned_free(p);
            p = next;
        }
        t->head[c] = NULL;
    }
    t->bytes = 0;
    t->gen = atomic_load_explicit(&generation, memory_order_relaxed);
}

static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static int exit_key_ok;

static void at_thread_exit(void *v) {
    tcache *t = v;
    flush(t);
    UNROOT(t, sizeof *t);
    t->registered = 0;   /* a later put (another destructor) registers again */
}
static void make_key(void) { exit_key_ok = pthread_key_create(&exit_key, at_thread_exit) == 0; }

/* True when the cache may keep blocks: its thread exit will free them. */
static int registered(tcache *t) {
    if (t->registered) return 1;
    pthread_once(&exit_once, make_key);
    t->registered = exit_key_ok && pthread_setspecific(exit_key, t) == 0;
    if (t->registered) ROOT(t, sizeof *t);
    return t->registered;
}

/* Another thread's nb_free_buffers() since this cache was last flushed. */
static inline void sync_generation(tcache *t) {
    if (__builtin_expect(atomic_load_explicit(&generation, memory_order_relaxed) != t->gen, 0)) flush(t);
}

void nb_cache_release_all(void) {
    atomic_fetch_add(&generation, 1);
    flush(&tc);
}

/* ---- get / put ---- */

void *nb_cache_get(size_t bytes, int *cls) {
    const int c = class_of(bytes);
    *cls = c;
    if (c < 0) return nb_aligned_alloc(bytes);
    tcache *t = &tc;
    sync_generation(t);
    void *p = t->head[c];
    const size_t size = class_size(c);
    if (!p) return nb_aligned_alloc(size);
    UNPOISON((char *)p + sizeof(void *), size - sizeof(void *));
    t->head[c] = *(void **)p;
    t->bytes -= size;
    return p;
}

void nb_cache_put(void *p, int c) {
    if (!p) return;
    if (c < 0) { nb_aligned_free(p); return; }
    tcache *t = &tc;
    sync_generation(t);
    const size_t size = class_size(c);
    if (t->bytes + size > cache_limit() || !registered(t)) {
        nb_aligned_free(p);
        return;
    }
    *(void **)p = t->head[c];
    t->head[c] = p;
    t->bytes += size;
    /* All but the link: LeakSanitizer ignores pointers in poisoned memory
       (a poisoned link would make the rest of the list look leaked). */
    POISON((char *)p + sizeof(void *), size - sizeof(void *));
}
