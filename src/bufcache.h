/* The caching allocator of tensor storage and tensor objects (private).
 *
 * A training step frees and allocates the same sizes over and over (every
 * intermediate and every gradient, each step): through glibc that was about
 * 30 % of a small MLP step (_int_malloc, malloc_consolidate, memalign,
 * calloc). Here a freed block goes to a free list of its size class in the
 * calling thread's cache and the next request of that class on that thread
 * takes it back: no lock and no atomic read-modify-write on the way.
 *
 * - Size classes: multiples of 64 B up to 256 B, then four classes per
 *   power of two (a block is at most 25 % larger than asked for).
 * - Blocks are 64-byte aligned (nb_aligned_alloc), as the kernels expect;
 *   from 32 MiB on, 2 MiB aligned (transparent huge pages).
 * - A cap on the bytes each thread keeps: NABLA_CACHE_BYTES (read once;
 *   a number with an optional K, M or G suffix) or
 *   nb_set_buffer_cache_limit(); default 256 MiB. A block that would take
 *   a thread's cache over the cap is freed at once. 0 disables caching.
 * - nb_free_buffers() frees the calling thread's cached blocks now and
 *   tells the other threads to free theirs at their next allocation or
 *   release (a generation counter: the owner alone ever touches its
 *   lists); a thread's blocks are also freed when it exits.
 * - Under AddressSanitizer a cached block is poisoned (all but its first
 *   word, the list link): a use after the tensor's release is still
 *   reported (as use-after-poison) until the block is handed out again.
 * A miss is one nb_aligned_alloc, so allocation-failure injection still
 * reaches every first allocation of a size after nb_free_buffers(). */
#ifndef NB_BUFCACHE_H
#define NB_BUFCACHE_H

#include <stddef.h>

/* A block of at least `bytes` (64-byte aligned, contents undefined), NULL
   on out of memory. *cls receives the block's class, for nb_cache_put. */
void *nb_cache_get(size_t bytes, int *cls);
/* Gives back a block from nb_cache_get with the class it returned. */
void nb_cache_put(void *p, int cls);
/* Frees every block the calling thread keeps and makes the others free
   theirs at their next get/put (nb_free_buffers). */
void nb_cache_release_all(void);

#endif
