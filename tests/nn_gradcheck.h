/* A small finite-difference gradient check for the nn suites (header-only):
 * the gradient that nb_backward gives for <f(x), r> (r random) against
 * central differences of the same forward in float64. The oracle is the
 * forward itself, so a backward rule that disagrees with it fails. */
#ifndef NBT_NN_GRADCHECK_H
#define NBT_NN_GRADCHECK_H

#include <stdlib.h>

#include "tensor_util.h"

/* f(ctx, x) returns a new float64 tensor that depends on x (float64, contiguous). */
typedef nb_tensor *(*ngc_fn)(void *ctx, nb_tensor *x);

static double ngc_dot(ngc_fn f, void *ctx, nb_tensor *x, const nb_tensor *r) {
    nb_no_grad_enter();
    nb_tensor *y = f(ctx, x);
    assert_non_null(y);
    const int64_t m = nb_tensor_numel(y);
    assert_int_equal(m, nb_tensor_numel(r));
    double *v = malloc(sizeof(double) * (size_t)(m ? m : 1));
    assert_int_equal(nb_tensor_read(y, v), NB_OK);
    double s = 0;
    for (int64_t i = 0; i < m; i++) s += v[i] * ((const double *)nb_tensor_data(r))[i];
    free(v);
    nb_tensor_release(y);
    nb_no_grad_exit();
    return s;
}

/* x: a float64 leaf requiring grad. Checks every element of x's gradient:
   |analytic - numeric| <= atol + rtol |numeric|. */
static void ngc_check(ngc_fn f, void *ctx, nb_tensor *x, double atol, double rtol) {
    nb_tensor_set_grad(x, NULL);
    nb_tensor *y = f(ctx, x);
    assert_non_null(y);
    nb_tensor *r = tu_rand(NB_FLOAT64, nb_tensor_ndim(y), nb_tensor_shape(y), -1, 1);
    if (nb_backward(y, r, false) != NB_OK) fail_msg("backward: %s", nb_last_error());
    nb_tensor_release(y);
    const nb_tensor *g = nb_tensor_grad(x);
    assert_non_null(g);
    double *xv = nb_tensor_data(x);
    const double eps = 1e-6;
    for (int64_t i = 0; i < nb_tensor_numel(x); i++) {
        const double keep = xv[i];
        xv[i] = keep + eps;
        const double up = ngc_dot(f, ctx, x, r);
        xv[i] = keep - eps;
        const double down = ngc_dot(f, ctx, x, r);
        xv[i] = keep;
        const double numeric = (up - down) / (2 * eps), analytic = ((const double *)nb_tensor_data(g))[i];
        if (!(fabs(analytic - numeric) <= atol + rtol * fabs(numeric)))
            fail_msg("gradient element %lld: analytic %.10g, numeric %.10g", (long long)i, analytic, numeric);
    }
    nb_tensor_release(r);
    nb_tensor_set_grad(x, NULL);
}

#endif
