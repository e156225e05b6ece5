/* Public elementwise and softmax entry points: validate once, then dispatch.
 *
 * Both are embarrassingly parallel (element i, or row i, depends on nothing
 * else), so the driver splits them into contiguous chunks over OpenMP
 * threads and calls the backend slot once per chunk. The result does not
 * depend on the thread count: every element/row goes through the same
 * kernel code whatever chunk it lands in (the SIMD kernels' tail paths
 * compute the same function as their main loops).
 */
#include <stdio.h>

#include "internal.h"
#include "kernels_table.h"
#include "parallel.h"

/* Below this many elements per thread, a parallel region costs more than it
   saves (an exp is a few ns per element with SIMD; a region ~ a few us). */
#define UNARY_MIN_PER_THREAD   (int64_t)(1 << 15)
#define SOFTMAX_MIN_PER_THREAD (int64_t)(1 << 14)

static const char *op_name(nb_unary_op op) {
    switch (op) {
    case NB_UNARY_EXP:     return "exp";
    case NB_UNARY_LOG:     return "log";
    case NB_UNARY_TANH:    return "tanh";
    case NB_UNARY_SIGMOID: return "sigmoid";
    case NB_UNARY_GELU:    return "gelu";
    case NB_UNARY_RELU:    return "relu";
    }
    return "?";
}

static nb_status validate_unary(nb_unary_op op, int64_t n, const float *x, const float *y) {
    const char *fn = "nb_sunary";
    if ((unsigned)op > (unsigned)NB_UNARY_RELU)
        return nb_error(NB_ERR_ARG, fn, "op = %d is not an nb_unary_op value", (int)op);
    if (n < 0) return nb_error(NB_ERR_ARG, fn, "n = %lld is negative", (long long)n);
    if (n == 0) return NB_OK;
    if (x == NULL) return nb_error(NB_ERR_ARG, fn, "x is NULL for n = %lld", (long long)n);
    if (y == NULL) return nb_error(NB_ERR_ARG, fn, "y is NULL for n = %lld", (long long)n);
    int64_t bytes;
    if (!nb_mul_ok(n, (int64_t)sizeof(float), &bytes))
        return nb_error(NB_ERR_OVERFLOW, fn, "n = %lld floats overflow int64 bytes", (long long)n);
    if (y != x && nb_ranges_overlap(x, (size_t)bytes, y, (size_t)bytes))
        return nb_error(NB_ERR_ALIAS, fn, "y overlaps x without being equal to it (only y == x, "
                        "in place, is allowed)");
    return NB_OK;
}

/* The slot over one chunk of the elements (rows, for softmax); the largest
   status of the chunks is the call's. */
typedef struct {
    const struct nb_kernels *k;
    int op_or_log;
    int64_t cols, ldx, ldy;
    const float *x;
    float *y;
} unary_run;

static int unary_chunk(void *ctx, int64_t lo, int64_t hi) {
    const unary_run *r = ctx;
    return (int)r->k->sunary((nb_unary_op)r->op_or_log, hi - lo, r->x + lo, r->y + lo);
}

static int softmax_chunk(void *ctx, int64_t lo, int64_t hi) {
    const unary_run *r = ctx;
    return (int)r->k->ssoftmax(r->op_or_log, hi - lo, r->cols, r->x + lo * r->ldx, r->ldx,
                               r->y + lo * r->ldy, r->ldy);
}

nb_status nb_sunary(nb_unary_op op, int64_t n, const float *x, float *y) {
    nb_status s = validate_unary(op, n, x, y);
    if (s != NB_OK || n == 0) return s;
    const bool verbose = nb_verbose_enabled();
    const double t0 = verbose ? nb_now_seconds() : 0.0;
    const struct nb_kernels *k = nb_kernels_active();
    const int nt = nb_threads_for(n, UNARY_MIN_PER_THREAD);
    if (nt <= 1) {
        s = k->sunary(op, n, x, y);
    } else {
        /* Chunks are multiples of 64 elements so every chunk but the last
           starts 256-byte aligned relative to x (and runs full vectors). */
        unary_run r = {k, (int)op, 0, 0, 0, x, y};
        s = (nb_status)nb_parallel_chunks(nt, n, 64, unary_chunk, &r);
    }
    if (verbose)
        fprintf(stderr, "nabla: nb_sunary isa=%s op=%s n=%lld threads=%d time=%.3f ms\n",
                nb_isa_name(k->isa), op_name(op), (long long)n, nt, 1e3 * (nb_now_seconds() - t0));
    return s;
}

/* rows x cols stored with leading dimension ld: span in elements. */
static nb_status check_rows(const char *fn, const char *name, const char *ldname, const float *p,
                            int64_t rows, int64_t cols, int64_t ld, int64_t *span) {
    if (ld < cols)
        return nb_error(NB_ERR_ARG, fn, "%s = %lld is smaller than cols = %lld",
                        ldname, (long long)ld, (long long)cols);
    *span = 0;
    if (rows == 0 || cols == 0) return NB_OK;
    if (p == NULL)
        return nb_error(NB_ERR_ARG, fn, "%s is NULL for a %lld x %lld matrix",
                        name, (long long)rows, (long long)cols);
    int64_t s, bytes;
    if (!nb_mul_ok(rows - 1, ld, &s) || !nb_add_ok(s, cols, &s) ||
        !nb_mul_ok(s, (int64_t)sizeof(float), &bytes))
        return nb_error(NB_ERR_OVERFLOW, fn, "%s: %lld rows with %s = %lld overflow int64",
                        name, (long long)rows, ldname, (long long)ld);
    *span = s;
    return NB_OK;
}

static nb_status validate_softmax(int64_t rows, int64_t cols, const float *x, int64_t ldx,
                                  const float *y, int64_t ldy) {
    const char *fn = "nb_ssoftmax";
    if (rows < 0) return nb_error(NB_ERR_ARG, fn, "rows = %lld is negative", (long long)rows);
    if (cols < 0) return nb_error(NB_ERR_ARG, fn, "cols = %lld is negative", (long long)cols);
    int64_t span_x, span_y;
    nb_status s;
    if ((s = check_rows(fn, "x", "ldx", x, rows, cols, ldx, &span_x))) return s;
    if ((s = check_rows(fn, "y", "ldy", y, rows, cols, ldy, &span_y))) return s;
    if (y == x && ldy == ldx) return NB_OK;   /* in place */
    if (nb_ranges_overlap(x, (size_t)span_x * sizeof(float), y, (size_t)span_y * sizeof(float)))
        return nb_error(NB_ERR_ALIAS, fn, "y overlaps x without being x itself with ldy == ldx "
                        "(only exact in-place is allowed)");
    return NB_OK;
}

nb_status nb_ssoftmax(int log, int64_t rows, int64_t cols,
                      const float *x, int64_t ldx, float *y, int64_t ldy) {
    nb_status s = validate_softmax(rows, cols, x, ldx, y, ldy);
    if (s != NB_OK || rows == 0 || cols == 0) return s;
    const bool verbose = nb_verbose_enabled();
    const double t0 = verbose ? nb_now_seconds() : 0.0;
    const struct nb_kernels *k = nb_kernels_active();
    int64_t work;
    if (!nb_mul_ok(rows, cols, &work)) work = INT64_MAX;
    int nt = nb_threads_for(work, SOFTMAX_MIN_PER_THREAD);
    if (nt > rows) nt = (int)rows;
    if (nt <= 1) {
        s = k->ssoftmax(log, rows, cols, x, ldx, y, ldy);
    } else {
        unary_run r = {k, log, cols, ldx, ldy, x, y};
        s = (nb_status)nb_parallel_chunks(nt, rows, 1, softmax_chunk, &r);
    }
    if (verbose)
        fprintf(stderr, "nabla: nb_ssoftmax isa=%s log=%d rows=%lld cols=%lld ldx=%lld ldy=%lld "
                "threads=%d time=%.3f ms\n", nb_isa_name(k->isa), log != 0, (long long)rows,
                (long long)cols, (long long)ldx, (long long)ldy, nt, 1e3 * (nb_now_seconds() - t0));
    return s;
}
