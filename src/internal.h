/* Private helpers shared by the library's portable sources. */
#ifndef NB_INTERNAL_H
#define NB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nabla/kernels.h>

#if defined(__GNUC__)
#  define NB_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#  define NB_PRINTF(f, a)
#endif

/* Record "fn: message" as this thread's last error and return s. Every
   public function reports failures through this, naming itself and the
   argument. */
nb_status nb_error(nb_status s, const char *fn, const char *fmt, ...) NB_PRINTF(3, 4);
/* After a call that fn made failed: puts "fn: " before the message unless
   it already starts with fn, so the message names the function the user
   called ("nb_zero_: nb_fill_: a is NULL"); keeps and returns the status. */
nb_status nb_error_context(const char *fn);

/* ---- overflow-checked arithmetic on sizes ---- */

/* *out = a * b; false on int64 overflow. */
static inline bool nb_mul_ok(int64_t a, int64_t b, int64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool nb_add_ok(int64_t a, int64_t b, int64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

/* ---- convolution geometry: the one formula (ref/ keeps its own, as the oracle) ---- */

/* Output length along one spatial axis of a validated desc:
   (in + 2 pad - dilation (kernel - 1) - 1) / stride + 1. */
static inline int64_t nb_conv_out_len(int64_t in, int64_t pad, int64_t ker, int64_t dil,
                                      int64_t stride) {
    return (in + 2 * pad - dil * (ker - 1) - 1) / stride + 1;
}
static inline void nb_conv_out_dims(const nb_conv2d_desc *d, int64_t *P, int64_t *Q) {
    *P = nb_conv_out_len(d->h, d->pad_h, d->r, d->dilation_h, d->stride_h);
    *Q = nb_conv_out_len(d->w, d->pad_w, d->s, d->dilation_w, d->stride_w);
}

/* Number of elements of shape[0..ndim); false on overflow. */
bool nb_numel_ok(int ndim, const int64_t *shape, int64_t *numel);

/* For a strided view with every dim of size >= 1: the lowest and highest
   element offsets it touches (relative to its base pointer). False when an
   offset overflows int64, or when the byte offsets (times elem_size) or the
   byte span (hi - lo + 1) * elem_size do. */
bool nb_extent_ok(int ndim, const int64_t *shape, const int64_t *strides,
                  size_t elem_size, int64_t *lo, int64_t *hi);

/* Byte ranges [a, a+alen) and [b, b+blen) intersect. */
static inline bool nb_ranges_overlap(const void *a, size_t alen, const void *b, size_t blen) {
    uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
    return alen > 0 && blen > 0 && pa < pb + blen && pb < pa + alen;
}

/* ---- run-time configuration read once from the environment ---- */

bool nb_verbose_enabled(void);     /* NABLA_VERBOSE set and not "0" */
double nb_now_seconds(void);       /* monotonic clock, for NABLA_VERBOSE */

/* Threads for one parallel region of `work` units of work, where a unit is
   worth at least `min_work_per_thread` to spread. 1 inside an OpenMP
   parallel region (the caller owns the threads). */
int nb_threads_for(int64_t work, int64_t min_work_per_thread);

/* 64-byte aligned allocation for scratch buffers; NULL on failure. */
void *nb_aligned_alloc(size_t bytes);
void nb_aligned_free(void *p);

#endif
