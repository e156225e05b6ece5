/* The float64 twins (nb_dconv2d_*): the direct definition, the adjoint
 * identities, and finite differences.
 *
 * - Against the double oracle: |got - exact| <= 2 gamma_d(L + 2) sum|terms|
 *   (u = 2^-53; one gamma for the library, one for the oracle), i.e. about
 *   1e-14 relative on these sizes.
 * - Adjoints (independent of the oracle): for y = conv(x, w) without bias,
 *   <y, dy> = <x, backward_data(dy)> = <w, backward_filter(x, dy)>; all three
 *   are sums of the same products x w dy, so they agree to 1e-12 of the sum
 *   of their magnitudes, and an index slip in any function breaks it.
 * - Finite differences: L(x, w, b) = <conv(x, w) + b, dy> is linear in each
 *   argument, so central differences with eps = 1e-6 match the gradients up
 *   to rounding (~1e-9 here; tolerance 1e-6 (1 + |g|)).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv_oracle.h"
#include "harness.h"

static double *dalloc(int64_t n) {
    double *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    assert_non_null(p);
    return p;
}

static double *drandom(int64_t n) {
    double *p = dalloc(n);
    nbt_fill_uniform_d(p, n, -1, 1);
    return p;
}

static void fill_nan(double *p, int64_t n) {
    for (int64_t i = 0; i < n; i++) p[i] = NAN;
}

static double tol_factor(int64_t terms) { return 2 * oc_gamma(terms + 2, ldexp(1.0, -53)); }

static void run_case(const nb_conv2d_desc *d, int with_bias) {
    const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d), nk = d->k;
    double *x = drandom(nx), *w = drandom(nw), *bias = drandom(nk), *dy = drandom(ny);
    double *y = dalloc(ny), *dx = dalloc(nx), *dw = dalloc(nw), *dbias = dalloc(nk);
    double *exact = dalloc(nx + nw + ny), *mag = dalloc(nx + nw + ny);
    fill_nan(y, ny); fill_nan(dx, nx); fill_nan(dw, nw); fill_nan(dbias, nk);

    assert_int_equal(nb_dconv2d_forward(d, x, w, with_bias ? bias : NULL, y), NB_OK);
    int64_t terms = oc_forward(d, x, w, with_bias ? bias : NULL, exact, mag);
    oc_check("y", d, ny, y, exact, mag, tol_factor(terms));

    assert_int_equal(nb_dconv2d_backward_data(d, dy, w, dx), NB_OK);
    terms = oc_backward_data(d, dy, w, exact, mag);
    oc_check("dx", d, nx, dx, exact, mag, tol_factor(terms));

    assert_int_equal(nb_dconv2d_backward_filter(d, x, dy, dw, with_bias ? dbias : NULL), NB_OK);
    terms = oc_backward_filter(d, x, dy, exact, mag);
    oc_check("dw", d, nw, dw, exact, mag, tol_factor(terms));
    if (with_bias) {
        terms = oc_backward_bias(d, dy, exact, mag);
        oc_check("dbias", d, nk, dbias, exact, mag, tol_factor(terms));
    }
    free(x); free(w); free(bias); free(dy); free(y); free(dx); free(dw); free(dbias);
    free(exact); free(mag);
}

static void float64_twins_match_the_direct_definition(void **state) {
    (void)state;
    for (int i = 0; i < oc_shape_count; i++) {
        run_case(&oc_shapes[i], 1);
        run_case(&oc_shapes[i], 0);
    }
    for (int i = 0; i < 30; i++) {
        nb_conv2d_desc d = oc_random_desc();
        run_case(&d, (int)nbt_range(0, 1));
    }
}

static double dot(const double *a, const double *b, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* Sum over every (n, k, p, q, c, r, s) product |x w dy| that the three inner
   products share (via the oracle: forward's mag of |x w| weighted by |dy|). */
static double trilinear_magnitude(const nb_conv2d_desc *d, const double *x, const double *w,
                                  const double *dy) {
    const int64_t ny = oc_numel_y(d);
    double *e = dalloc(ny), *m = dalloc(ny);
    oc_forward(d, x, w, NULL, e, m);
    double s = 0;
    for (int64_t i = 0; i < ny; i++) s += m[i] * fabs(dy[i]);
    free(e); free(m);
    return s;
}

static void adjoint_check(const nb_conv2d_desc *d) {
    const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d);
    double *x = drandom(nx), *w = drandom(nw), *dy = drandom(ny);
    double *y = dalloc(ny), *dx = dalloc(nx), *dw = dalloc(nw);
    assert_int_equal(nb_dconv2d_forward(d, x, w, NULL, y), NB_OK);
    assert_int_equal(nb_dconv2d_backward_data(d, dy, w, dx), NB_OK);
    assert_int_equal(nb_dconv2d_backward_filter(d, x, dy, dw, NULL), NB_OK);
    const double a = dot(y, dy, ny), b = dot(x, dx, nx), c = dot(w, dw, nw);
    const double tol = 1e-12 * trilinear_magnitude(d, x, w, dy);
    if (!(fabs(a - b) <= tol) || !(fabs(a - c) <= tol))
        fail_msg("<conv(x),dy> = %.17g, <x,bwd_data(dy)> = %.17g, <w,bwd_filter(x,dy)> = %.17g, "
                 "tol %.3g (n=%lld c=%lld h=%lld w=%lld k=%lld r=%lld s=%lld groups=%lld)",
                 a, b, c, tol, (long long)d->n, (long long)d->c, (long long)d->h, (long long)d->w,
                 (long long)d->k, (long long)d->r, (long long)d->s, (long long)d->groups);
    free(x); free(w); free(dy); free(y); free(dx); free(dw);
}

static void backward_functions_are_the_adjoints_of_forward(void **state) {
    (void)state;
    for (int i = 0; i < oc_shape_count; i++) adjoint_check(&oc_shapes[i]);
    for (int i = 0; i < 30; i++) {
        nb_conv2d_desc d = oc_random_desc();
        adjoint_check(&d);
    }
}

/* L = <conv(x, w) + b, dy>. */
static double loss(const nb_conv2d_desc *d, const double *x, const double *w, const double *b,
                   const double *dy, double *y) {
    assert_int_equal(nb_dconv2d_forward(d, x, w, b, y), NB_OK);
    return dot(y, dy, oc_numel_y(d));
}

/* Central differences of L with respect to each element of v. */
static void check_by_finite_differences(const char *what, const nb_conv2d_desc *d, double *v,
                                        int64_t count, const double *grad, const double *x,
                                        const double *w, const double *b, const double *dy) {
    const double eps = 1e-6;
    double *y = dalloc(oc_numel_y(d));
    for (int64_t i = 0; i < count; i++) {
        const double saved = v[i];
        v[i] = saved + eps;
        const double lp = loss(d, x, w, b, dy, y);
        v[i] = saved - eps;
        const double lm = loss(d, x, w, b, dy, y);
        v[i] = saved;
        const double fd = (lp - lm) / (2 * eps);
        if (!(fabs(fd - grad[i]) <= 1e-6 * (1 + fabs(grad[i]))))
            fail_msg("d L / d %s[%lld]: finite difference %.12g, backward %.12g", what,
                     (long long)i, fd, grad[i]);
    }
    free(y);
}

static void gradients_match_finite_differences(void **state) {
    (void)state;
    const nb_conv2d_desc shapes[] = {
        oc_desc(2, 3, 5, 4, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1),
        oc_desc(1, 4, 6, 5, 4, 3, 2, 2, 1, 2, 0, 1, 2, 2),    /* groups, stride, dilation */
        oc_desc(1, 3, 4, 4, 3, 3, 3, 1, 1, 1, 1, 2, 2, 3),    /* depthwise, dilation 2 */
    };
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        const nb_conv2d_desc *d = &shapes[t];
        const int64_t nx = oc_numel_x(d), nw = oc_numel_w(d), ny = oc_numel_y(d), nk = d->k;
        double *x = drandom(nx), *w = drandom(nw), *b = drandom(nk), *dy = drandom(ny);
        double *dx = dalloc(nx), *dw = dalloc(nw), *db = dalloc(nk);
        assert_int_equal(nb_dconv2d_backward_data(d, dy, w, dx), NB_OK);
        assert_int_equal(nb_dconv2d_backward_filter(d, x, dy, dw, db), NB_OK);
        check_by_finite_differences("x", d, x, nx, dx, x, w, b, dy);
        check_by_finite_differences("w", d, w, nw, dw, x, w, b, dy);
        check_by_finite_differences("bias", d, b, nk, db, x, w, b, dy);
        free(x); free(w); free(b); free(dy); free(dx); free(dw); free(db);
    }
}

/* The float64 and float32 paths compute the same function: on data exactly
   representable in float (small integers) they agree bit for bit. */
static void float64_and_float32_agree_on_exact_data(void **state) {
    (void)state;
    const nb_conv2d_desc d = oc_shapes[9];
    const int64_t nx = oc_numel_x(&d), nw = oc_numel_w(&d), ny = oc_numel_y(&d);
    float *xf = malloc((size_t)nx * 4), *wf = malloc((size_t)nw * 4), *yf = malloc((size_t)ny * 4);
    double *xd = dalloc(nx), *wd = dalloc(nw), *yd = dalloc(ny);
    nbt_fill_int(xf, nx, 3);
    nbt_fill_int(wf, nw, 3);
    for (int64_t i = 0; i < nx; i++) xd[i] = xf[i];
    for (int64_t i = 0; i < nw; i++) wd[i] = wf[i];
    assert_int_equal(nb_sconv2d_forward(&d, xf, wf, NULL, yf), NB_OK);
    assert_int_equal(nb_dconv2d_forward(&d, xd, wd, NULL, yd), NB_OK);
    for (int64_t i = 0; i < ny; i++) assert_true((double)yf[i] == yd[i]);
    free(xf); free(wf); free(yf); free(xd); free(wd); free(yd);
}

static void float64_empty_tensors_follow_the_float_rules(void **state) {
    (void)state;
    const nb_conv2d_desc d = oc_desc(0, 2, 3, 3, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    double dw[2 * 2 * 9], db[2];
    fill_nan(dw, 36); fill_nan(db, 2);
    assert_int_equal(nb_dconv2d_forward(&d, NULL, dw, NULL, NULL), NB_OK);
    assert_int_equal(nb_dconv2d_backward_filter(&d, NULL, NULL, dw, db), NB_OK);
    for (int i = 0; i < 36; i++) assert_true(dw[i] == 0.0);
    assert_true(db[0] == 0.0 && db[1] == 0.0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(float64_twins_match_the_direct_definition),
        cmocka_unit_test(backward_functions_are_the_adjoints_of_forward),
        cmocka_unit_test(gradients_match_finite_differences),
        cmocka_unit_test(float64_and_float32_agree_on_exact_data),
        cmocka_unit_test(float64_empty_tensors_follow_the_float_rules),
    };
    return nbt_run(tests);
}
