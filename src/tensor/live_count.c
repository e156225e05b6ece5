/* The count of live tensor objects (nb_tensor_live_count) without a locked
 * instruction per tensor: a global atomic counter cost two locked
 * read-modify-writes (about 20 cycles each) per tensor op, a tenth of a
 * 4-element add. Each thread counts into a slot of its own (an atomic
 * that only its owner writes: a relaxed load and store) and the reader
 * sums the slots. Slots live on a lock-free list and are never freed: a
 * thread that exits leaves its slot (and its count: tensors it made may
 * still be alive elsewhere) for the next new thread to adopt, so the sum
 * stays right and the list stays as long as the most threads ever alive
 * at once. Nothing here takes a lock, so a fork()ed child is safe. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "tensor_internal.h"

typedef struct live_slot {
    _Atomic int64_t n;            /* written by the owner only */
    _Atomic int used;             /* a thread owns it */
    struct live_slot *next;       /* immutable once published */
} live_slot;

static _Atomic(live_slot *) slots;
static live_slot fallback;        /* shared (atomic adds) when a thread has no slot */
static _Thread_local live_slot *mine;

static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static int exit_key_ok;

static void at_thread_exit(void *v) {
    live_slot *s = v;
    mine = NULL;
    atomic_store_explicit(&s->used, 0, memory_order_release);
}
static void make_key(void) { exit_key_ok = pthread_key_create(&exit_key, at_thread_exit) == 0; }

/* A free slot, or a new one pushed on the list; NULL without memory or an
   exit hook (the thread then counts into `fallback`). */
static live_slot *adopt(void) {
    pthread_once(&exit_once, make_key);
    if (!exit_key_ok) return NULL;
    live_slot *s = atomic_load_explicit(&slots, memory_order_acquire);
    for (; s; s = s->next) {
        int free_ = 0;
        if (atomic_compare_exchange_strong(&s->used, &free_, 1)) break;
    }
    if (!s) {
        if (!(s = calloc(1, sizeof *s))) return NULL;
        atomic_store_explicit(&s->used, 1, memory_order_relaxed);
        live_slot *head = atomic_load_explicit(&slots, memory_order_relaxed);
        do s->next = head;
        while (!atomic_compare_exchange_weak_explicit(&slots, &head, s, memory_order_release, memory_order_relaxed));
    }
    if (pthread_setspecific(exit_key, s) != 0) {
        atomic_store_explicit(&s->used, 0, memory_order_release);
        return NULL;
    }
    return s;
}

void nb__live_add(int64_t d) {
    live_slot *s = mine;
    if (__builtin_expect(!s, 0) && !(s = mine = adopt())) {
        atomic_fetch_add_explicit(&fallback.n, d, memory_order_relaxed);
        return;
    }
    atomic_store_explicit(&s->n, atomic_load_explicit(&s->n, memory_order_relaxed) + d, memory_order_relaxed);
}

int64_t nb_tensor_live_count(void) {
    int64_t sum = atomic_load(&fallback.n);
    for (live_slot *s = atomic_load_explicit(&slots, memory_order_acquire); s; s = s->next)
        sum += atomic_load_explicit(&s->n, memory_order_relaxed);
    return sum;
}
