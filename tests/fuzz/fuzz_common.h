/* Shared by the libFuzzer targets (tests/fuzz/): reading arguments from the
 * fuzzer's bytes, buffers sized exactly from what a call claims (so
 * AddressSanitizer reports any access outside them), and the footprint of
 * a strided view. Everything is static: each target is one program. */
#ifndef NB_FUZZ_COMMON_H
#define NB_FUZZ_COMMON_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nabla/nabla.h>

/* ---- reading the input ---- */

typedef struct { const uint8_t *p; size_t n; } fz_in;

static unsigned fz_u8(fz_in *r) {   /* 0 once the input is used up */
    if (r->n == 0) return 0;
    r->n--;
    return *r->p++;
}
/* A size: mostly 0..7, sometimes up to 40 (past the micro-kernel tiles). */
static inline int64_t fz_size(fz_in *r) {
    const unsigned v = fz_u8(r);
    return v < 224 ? v % 8 : 8 + v % 33;
}
/* A stride: small of either sign, 0, or extreme (legal on a size-1 dim). */
static inline int64_t fz_stride(fz_in *r) {
    static const int64_t table[] = {1, 1, 1, 2, 3, -1, -2, 0, 5, -7, 13, 64, INT64_MAX, INT64_MIN,
                                    INT64_MAX / 2, -(INT64_C(1) << 40)};
    const unsigned v = fz_u8(r);
    return v < 128 ? table[v % 16] : (int64_t)(v % 9) - 4;
}
/* A float: the special values often, else a small random one. */
static inline float fz_float(fz_in *r) {
    static const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, NAN, INFINITY, -INFINITY, FLT_MAX,
                                    -FLT_MAX, 1e-40f, -1e-45f, FLT_MIN, 3e38f, 1e20f, -65504.0f};
    const unsigned v = fz_u8(r);
    if (v < 48) return special[v % 16];
    return (float)((int)fz_u8(r) - 128) / 16.0f;
}
/* A float that is finite and not huge (where the bounds are the plain ones). */
static inline float fz_tame(fz_in *r) { return (float)((int)fz_u8(r) - 128) / 32.0f; }

/* ---- buffers ---- */

#define FZ_MAX_ELEMS (1 << 18)

/* The elements a view of ndim dims may touch: [lo, hi] relative to its
   base, as offsets. Returns 0 on an empty view, -1 when an offset
   overflows int64, 1 otherwise. */
static inline int fz_extent(int ndim, const int64_t *shape, const int64_t *strides, int64_t *lo, int64_t *hi) {
    *lo = *hi = 0;
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0) return 0;
    for (int i = 0; i < ndim; i++) {
        int64_t d;
        if (__builtin_mul_overflow(shape[i] - 1, strides[i], &d)) return -1;
        if (d > 0 ? __builtin_add_overflow(*hi, d, hi) : __builtin_add_overflow(*lo, d, lo)) return -1;
    }
    return 1;
}

/* Exactly `bytes` bytes (malloc(0) is given 1, so even an empty buffer
   cannot be read as a float), filled from the input. */
static unsigned char *fz_bytes(fz_in *r, size_t bytes) {
    unsigned char *p = malloc(bytes ? bytes : 1);
    if (!p) abort();
    for (size_t i = 0; i < bytes; i++) p[i] = (unsigned char)(0xA5 ^ i);
    (void)r;
    return p;
}
static float *fz_floats(fz_in *r, int64_t n, int tame) {
    float *p = (float *)fz_bytes(r, (size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) p[i] = tame ? fz_tame(r) : fz_float(r);
    return p;
}

/* Marks (mark[o] += 1) the elements of a view at base offset `base`. */
static inline void fz_mark(int ndim, const int64_t *shape, const int64_t *strides, int64_t base, unsigned char *mark) {
    int64_t idx[NB_MAX_DIMS + 1] = {0};
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0) return;
    for (;;) {
        int64_t o = base;
        for (int i = 0; i < ndim; i++) o += idx[i] * strides[i];
        if (mark[o] < 255) mark[o]++;
        int d = ndim - 1;
        while (d >= 0 && ++idx[d] == shape[d]) idx[d--] = 0;
        if (d < 0) return;
    }
}

#define FZ_FAIL(...) do { fprintf(stderr, "fuzz: " __VA_ARGS__); fputc('\n', stderr); abort(); } while (0)

#endif
