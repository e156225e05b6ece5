/* Test harness shared by the CMocka suites.
 *
 * - Reproducible randomness: a xorshift generator seeded from
 *   NABLA_TEST_SEED (else the clock); the seed is printed by nbt_run() so a
 *   failure can be replayed with NABLA_TEST_SEED=<seed>.
 * - Guarded buffers: the last byte of the buffer ends at a page boundary
 *   followed by a PROT_NONE page (or the first byte starts right after one),
 *   so any over-read or over-write crashes at the faulting instruction.
 * - Oracles live in the tests (double loops) or are the reference backend.
 */
#ifndef NB_TEST_HARNESS_H
#define NB_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <nabla/nabla.h>

#include "nb_config.h"   /* NB_ISA_COUNT: the ISA loops cover every ISA nabla knows */

/* ---- randomness ---- */
uint64_t nbt_seed(void);
uint64_t nbt_next(void);                       /* 64 random bits */
int64_t  nbt_range(int64_t lo, int64_t hi);    /* uniform in [lo, hi] */
float    nbt_uniform(float lo, float hi);
void     nbt_fill_uniform(float *p, int64_t n, float lo, float hi);
void     nbt_fill_uniform_d(double *p, int64_t n, double lo, double hi);
/* Small integers in [-r, r]: sums and products of them are exact in float
   while they stay below 2^24, so results can be compared bit for bit. */
void     nbt_fill_int(float *p, int64_t n, int r);

/* ---- plain buffers ----
 * n floats from malloc (at least one, so n == 0 is not NULL), asserted
 * non-NULL; nbt_nan_floats fills them with NaN, so that an output a kernel
 * leaves unwritten shows. Released with free(). */
float *nbt_alloc_floats(int64_t n);
float *nbt_nan_floats(int64_t n);

/* ---- guarded memory ----
 * Returns a pointer to `bytes` usable bytes; with guard_before == 0 the
 * buffer ends exactly at a PROT_NONE page, otherwise it starts right after
 * one. Must be released with nbt_free_guarded(). */
void *nbt_alloc_guarded(size_t bytes, int guard_before);
void  nbt_free_guarded(void *p);

/* ---- comparisons ---- */
/* Distance in units in the last place between two finite floats (0 for
   equal values, including +0 vs -0). */
int64_t nbt_ulp_distance(float a, float b);
/* Both NaN, or equal bit patterns up to the sign of zero. */
int nbt_same_value(float a, float b);

/* An entry point's error: the status `want`, and nb_last_error() naming
   the function fn and containing `word` (the argument at fault). */
void nbt_expect_error(nb_status got, nb_status want, const char *fn, const char *word);

/* ---- skipping ----
 * CMocka 1.1.5 (Debian 12) reports a skipped test as "not ok N # SKIP" in
 * TAP, which meson counts as a failure; nbt_run() therefore writes the TAP
 * lines itself and needs to know which tests skipped. skip() is redirected
 * here so tests keep using the familiar name. */
void nbt_skip_impl(const char *file, int line);
#undef skip
#define skip() nbt_skip_impl(__FILE__, __LINE__)

/* The statement after it runs once per kernel table that list_fn (fills an
   array of NB_ISA_COUNT tables, returns how many) gives, t bound to the
   table; skip() when there is none. */
#define NBT_FOR_EACH_TABLE(t, list_fn)                                         \
    const struct nb_kernels *nbt_tabs_[NB_ISA_COUNT];                          \
    const int nbt_ntabs_ = list_fn(nbt_tabs_);                                 \
    if (nbt_ntabs_ == 0) skip();                                               \
    for (int nbt_ti_ = 0; nbt_ti_ < nbt_ntabs_; nbt_ti_++)                     \
        for (const struct nb_kernels *t = nbt_tabs_[nbt_ti_]; t; t = NULL)

/* ---- running ---- */
/* Runs each test as its own CMocka group (CMocka's readable output, on
   stdout and stderr) and writes one TAP line per test ("ok", "not ok",
   "ok ... # SKIP"), after a TAP comment with the seed. Returns the number
   of failures (the process exit status).
   NABLA_TEST_FILTER=pattern runs only the cases whose name matches (a glob,
   or a substring when it has no glob character); NABLA_TEST_LIST=1 prints
   the case names and runs nothing. */
#define nbt_run(tests) nbt_run_impl(__FILE__, tests, sizeof(tests) / sizeof((tests)[0]))
int nbt_run_impl(const char *name, const struct CMUnitTest *tests, size_t n);

#endif
