/* Per-thread scratch buffers kept between calls (private).
 *
 * Kernels that need working memory (GEMM packing buffers, packed filters,
 * column blocks) take it from a slot of the calling thread instead of
 * malloc/free per call: a fresh multi-megabyte block comes from mmap and
 * costs a page fault per 4 KiB page on first touch, measured ~5% of a
 * 128-channel 28x28 convolution. Each slot is one layer of the call stack
 * (the convolution driver holds its slots while the GEMM uses its own), so
 * a slot is never handed out twice at once on a thread. Buffers live until
 * the thread exits or calls nb_free_buffers(); larger than
 * NB_SCRATCH_MAX_CACHED they are not kept.
 */
#ifndef NB_SCRATCH_H
#define NB_SCRATCH_H

#include <stddef.h>

enum {
    NB_SCRATCH_GEMM,           /* gemm_driver.c: packed A and B blocks */
    NB_SCRATCH_CONV_FILTERS,   /* conv_driver.c: filters packed for the implicit path */
    NB_SCRATCH_CONV_TASKS,     /* conv_driver.c: column blocks, plans, B panels */
    NB_SCRATCH_CONV_WT,        /* conv_driver.c: transposed filters (backward-data) */
    NB_SCRATCH_SLOTS
};

#define NB_SCRATCH_MAX_CACHED ((size_t)16 << 20)

/* A 64-byte aligned buffer of at least `bytes` for this thread's slot: the
   slot's cached buffer (its contents are garbage) or, when *owned is set on
   return, one the caller frees with nb_scratch_done. NULL on OOM. */
void *nb_scratch(int slot, size_t bytes, int *owned);
void nb_scratch_done(void *p, int owned);

/* Makes this thread's slot hold at least `bytes` (any size, so that the
   nb_scratch calls of a pass that must not fail half way find it there);
   0 on OOM, the slot then unchanged. nb_scratch_trim drops a slot's buffer
   when it is larger than NB_SCRATCH_MAX_CACHED (after such a pass). */
int nb_scratch_reserve(int slot, size_t bytes);
void nb_scratch_trim(int slot);

#endif
