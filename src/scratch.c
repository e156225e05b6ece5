/* Per-thread scratch buffers (scratch.h): a pthread key per process, an
 * array of NB_SCRATCH_SLOTS buffers per thread, freed by the key's
 * destructor when the thread exits. */
#include <pthread.h>

#include <nabla/kernels.h>

#include "bufcache.h"
#include "internal.h"
#include "scratch.h"

typedef struct {
    void *p[NB_SCRATCH_SLOTS];
    size_t bytes[NB_SCRATCH_SLOTS];
} slots;

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int key_ok;

static void destroy(void *v) {
    slots *s = v;
    for (int i = 0; i < NB_SCRATCH_SLOTS; i++) nb_aligned_free(s->p[i]);
    nb_aligned_free(s);
}
static void init(void) { key_ok = pthread_key_create(&key, destroy) == 0; }

static slots *thread_slots(void) {
    pthread_once(&once, init);
    if (!key_ok) return NULL;
    slots *s = pthread_getspecific(key);
    if (s) return s;
    s = nb_aligned_alloc(sizeof *s);
    if (!s) return NULL;
    for (int i = 0; i < NB_SCRATCH_SLOTS; i++) {
        s->p[i] = NULL;
        s->bytes[i] = 0;
    }
    if (pthread_setspecific(key, s) != 0) {
        nb_aligned_free(s);
        return NULL;
    }
    return s;
}

void *nb_scratch(int slot, size_t bytes, int *owned) {
    *owned = 0;
    slots *s = thread_slots();
    if (s && s->bytes[slot] >= bytes) return s->p[slot];   /* cached or reserved */
    void *p = nb_aligned_alloc(bytes);
    if (!p) return NULL;
    if (!s || bytes > NB_SCRATCH_MAX_CACHED) {
        *owned = 1;
        return p;
    }
    nb_aligned_free(s->p[slot]);
    s->p[slot] = p;
    s->bytes[slot] = bytes;
    return p;
}

int nb_scratch_reserve(int slot, size_t bytes) {
    slots *s = thread_slots();
    if (!s) return 0;
    if (s->bytes[slot] >= bytes) return 1;
    void *p = nb_aligned_alloc(bytes);
    if (!p) return 0;
    nb_aligned_free(s->p[slot]);
    s->p[slot] = p;
    s->bytes[slot] = bytes;
    return 1;
}

void nb_scratch_trim(int slot) {
    pthread_once(&once, init);
    slots *s = key_ok ? pthread_getspecific(key) : NULL;
    if (!s || s->bytes[slot] <= NB_SCRATCH_MAX_CACHED) return;
    nb_aligned_free(s->p[slot]);
    s->p[slot] = NULL;
    s->bytes[slot] = 0;
}

void nb_scratch_done(void *p, int owned) {
    if (owned) nb_aligned_free(p);
}

void nb_free_buffers(void) {
    nb_cache_release_all();   /* tensor storage and tensor objects (bufcache.h) */
    pthread_once(&once, init);
    if (!key_ok) return;
    slots *s = pthread_getspecific(key);
    if (!s) return;
    for (int i = 0; i < NB_SCRATCH_SLOTS; i++) {
        nb_aligned_free(s->p[i]);
        s->p[i] = NULL;
        s->bytes[i] = 0;
    }
}
