/* Shadow mode, NABLA_CHECK=1 (private): see check.c. */
#ifndef NB_CHECK_H
#define NB_CHECK_H

#include <stdbool.h>

#include "kernels_table.h"

/* The dispatch-table slots (src/kernels.def) that shadow mode wraps:
   X(slot, counter). check.c defines chk_<slot> for each; the enum of
   counters, their names and the table overrides all come from this list.
   The float64 slots are not wrapped: they are the oracle's precision. */
#define NB_CHECKED_SLOTS(X)                                  \
    X(sgemm, NB_CHECK_SGEMM)                                 \
    X(sconv2d_forward, NB_CHECK_CONV_FWD)                    \
    X(sconv2d_backward_data, NB_CHECK_CONV_BWD_DATA)         \
    X(sconv2d_backward_filter, NB_CHECK_CONV_BWD_FILTER)     \
    X(sreduce, NB_CHECK_REDUCE)                              \
    X(copy_strided, NB_CHECK_COPY)                           \
    X(sunary, NB_CHECK_UNARY)                                \
    X(ssoftmax, NB_CHECK_SOFTMAX)

typedef enum {
#define NB_CHECK_ENUM(slot, counter) counter,
    NB_CHECKED_SLOTS(NB_CHECK_ENUM)
#undef NB_CHECK_ENUM
    NB_CHECK_SLOTS
} nb_check_slot;

/* The table whose slots the wrappers run before the reference. */
typedef const struct nb_kernels *(*nb_checked_table_fn)(void);

/* Overrides the float32 slots of t (a copy of the reference table) with
   wrappers that run table()'s slot, then the reference, and compare.
   Slots it does not know stay on the reference. Registers the exit summary. */
void nb_check_fill(struct nb_kernels *t, nb_checked_table_fn table);

/* The one exception to the GEMM and convolution bounds (kernels.h,
   "Overflow"): got may be +-Inf or NaN, whatever the reference gives, when
   the magnitude of the dot product (mag: sum of |a_k b_k| over `terms`
   terms, before alpha, or the bound's |alpha| sum + |beta c|, whichever is
   larger) is finite (finite inputs) and above FLT_MAX / (1 + gamma(terms)):
   a float intermediate of the SIMD paths may overflow there. */
bool nb_check_overflow_exempt(float got, double mag, double terms);

/* The pieces of the bounds above, for `nabla diff` (tools/diff.c), which
   checks the same families the same way outside shadow mode:
   gamma(n) = n u / (1 - n u); the worst |got - want| / bound over n floats
   (NaN must match NaN, a zero bound means exact, +inf on a mismatch; mag
   and terms as in nb_check_overflow_exempt, mag NULL without dot
   products), its element in *where; and the per-element bounds of the
   elementwise families against the reference output. */
static inline double nb_check_gamma(double n) {
    const double u = 1.0 / 16777216.0;   /* 2^-24 */
    return n * u / (1.0 - n * u);
}
double nb_check_worst_ratio(const float *got, const float *want, const double *bound,
                            const double *mag, double terms, int64_t n, int64_t *where);
double nb_check_unary_bound(float x, float ref);
double nb_check_softmax_bound(int log, int64_t cols, float ref);

/* The Winograd F(4x4, 3x3) bound (src/check_wino.c): for a shape Winograd
   may run (3x3, stride 1, dilation 1, groups 1; backward-data pad <= 2),
   fills wmag (sized like y forward, dx backward-data) from the absolute
   values of the inputs (x or dy, w, bias or NULL) and returns gamma(C' + 24)
   (C' = c forward, k backward-data): |result - exact| <= that times wmag.
   bwd 2: backward-filter (ain = |x|, aw = |dy|, wmag sized like dw, any
   padding), returning gamma(N T + 21) for the N T 4x4 tiles of dy.
   Returns 0 for other shapes (wmag untouched), -1 out of memory. */
double nb_check_winograd_mag(const nb_conv2d_desc *d, int bwd, const double *ain,
                             const double *aw, const double *ab, double *wmag);

/* Counters of one family so far (for tests and `nabla selftest`). */
void nb_check_stats(nb_check_slot s, long *calls, long *violations, double *worst);

#endif
