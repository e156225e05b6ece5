/* Ties in every op whose result or gradient picks elements (issue 16, row
 * 4), against PyTorch's documented choice, written here from that rule:
 *   - F.max_pool2d backward: the gradient of a window goes to its maximum
 *     found scanning the window row by row, updating on "v > max or v is
 *     NaN" (aten/src/ATen/native/cpu/MaxPoolKernel.cpp): the FIRST of tied
 *     maxima, the LAST of several NaNs, the first element when every value
 *     is -inf; windows that overlap pick independently and add up;
 *   - torch.amax / amin (nb_max / nb_min) backward: the gradient split
 *     evenly between the tied extrema, grad / count * mask
 *     (FunctionsManual.cpp scale_grad_by_count): -0 and +0 tie; a slice
 *     whose result is NaN gets NaN everywhere (its mask is empty);
 *   - torch.argmax: the index of the first maximum; NaN is the maximum and
 *     the first NaN wins.
 * nabla has no min pooling and no argmin.
 */
#include <math.h>
#include <string.h>

#include "tensor_util.h"

#define F32 NB_FLOAT32
#define F64 NB_FLOAT64

static int64_t live0;
static int setup(void **s) { (void)s; live0 = nb_tensor_live_count(); return 0; }
static int teardown(void **s) { (void)s; assert_int_equal(nb_tensor_live_count(), live0); return 0; }
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

enum { MAXE = 512 };

/* Every element of t, row-major, as double. */
static void values(const nb_tensor *t, double *out) {
    const int64_t n = nb_tensor_numel(t);
    assert_true(n <= MAXE);
    char raw[MAXE * 8];
    assert_int_equal(nb_tensor_read(t, raw), NB_OK);
    for (int64_t i = 0; i < n; i++) {
        if (nb_tensor_dtype(t) == F32) { float v; memcpy(&v, raw + 4 * i, 4); out[i] = v; }
        else if (nb_tensor_dtype(t) == F64) memcpy(&out[i], raw + 8 * i, 8);
        else { int64_t v; memcpy(&v, raw + 8 * i, 8); out[i] = (double)v; }
    }
}

/* A tensor of dtype dt holding v; a leaf requiring grad when grad is set. */
static nb_tensor *tensor(const double *v, nb_dtype dt, int ndim, const int64_t *shape, bool grad) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    assert_true(n <= MAXE);
    float f[MAXE];
    int64_t k[MAXE];
    for (int64_t i = 0; i < n; i++) { f[i] = (float)v[i]; k[i] = (int64_t)v[i]; }
    const void *data = dt == F32 ? (const void *)f : dt == F64 ? (const void *)v : (const void *)k;
    nb_tensor *t = nb_tensor_new(data, dt, ndim, shape);
    assert_non_null(t);
    if (grad) assert_int_equal(nb_tensor_requires_grad_(t, true), NB_OK);
    return t;
}

static int same(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

/* ---- max_pool2d ---- */

typedef struct { int64_t n, c, h, w, kh, kw, sh, sw, ph, pw; } pool;

/* PyTorch's rule: y and dx (for upstream g) of max_pool2d. Returns P*Q. */
static void pool_oracle(const pool *p, const double *x, const double *g, double *y, double *dx,
                        int64_t *P, int64_t *Q) {
    *P = (p->h + 2 * p->ph - p->kh) / p->sh + 1;
    *Q = (p->w + 2 * p->pw - p->kw) / p->sw + 1;
    for (int64_t i = 0; i < p->n * p->c * p->h * p->w; i++) dx[i] = 0;
    int64_t o = 0;
    for (int64_t nc = 0; nc < p->n * p->c; nc++)
        for (int64_t a = 0; a < *P; a++)
            for (int64_t b = 0; b < *Q; b++, o++) {
                int64_t best = -1;
                double m = -INFINITY;
                for (int64_t i = 0; i < p->kh; i++)
                    for (int64_t j = 0; j < p->kw; j++) {
                        const int64_t r = a * p->sh - p->ph + i, s = b * p->sw - p->pw + j;
                        if (r < 0 || r >= p->h || s < 0 || s >= p->w) continue;
                        const int64_t k = (nc * p->h + r) * p->w + s;
                        if (best < 0) best = k;   /* PyTorch's initial index */
                        if (x[k] > m || isnan(x[k])) { m = x[k]; best = k; }
                    }
                y[o] = x[best];
                dx[best] += g[o];
            }
}

/* Runs max_pool2d forward and backward on x and compares with the oracle. */
static void pool_check(const char *what, const pool *p, nb_dtype dt, const double *x,
                       const double *gv) {
    const int64_t shape[4] = {p->n, p->c, p->h, p->w};
    double y[MAXE], dx[MAXE], got[MAXE], g[MAXE];
    int64_t P, Q;
    for (int i = 0; i < MAXE; i++) g[i] = gv ? gv[i] : 1.0;
    pool_oracle(p, x, g, y, dx, &P, &Q);
    nb_tensor *xt = tensor(x, dt, 4, shape, true);
    nb_tensor *yt = nb_max_pool2d(xt, p->kh, p->kw, p->sh, p->sw, p->ph, p->pw);
    assert_non_null(yt);
    ASSERT_SHAPE(yt, p->n, p->c, P, Q);
    values(yt, got);
    for (int64_t i = 0; i < p->n * p->c * P * Q; i++)
        if (!same(got[i], y[i])) fail_msg("%s: y[%lld] = %g, want %g", what, (long long)i, got[i], y[i]);
    nb_tensor *gt = tensor(g, dt, 4, SHAPE(p->n, p->c, P, Q), false);
    assert_int_equal(nb_backward(yt, gt, false), NB_OK);
    values(nb_tensor_grad(xt), got);
    for (int64_t i = 0; i < p->n * p->c * p->h * p->w; i++)
        if (!same(got[i], dx[i]))
            fail_msg("%s (%s, %lldx%lld, kernel %lldx%lld stride %lldx%lld pad %lldx%lld): "
                     "x.grad[%lld] = %g, want %g", what, nb_dtype_name(dt), (long long)p->h,
                     (long long)p->w, (long long)p->kh, (long long)p->kw, (long long)p->sh,
                     (long long)p->sw, (long long)p->ph, (long long)p->pw, (long long)i, got[i], dx[i]);
    nb_tensor_release(xt); nb_tensor_release(yt); nb_tensor_release(gt);
}

/* The issue's input: [[1, 1], [0, 0]] -> x.grad = [1, 0, 0, 0]. */
static void issue16_max_pool2d_tie_sends_the_gradient_to_the_first_maximum(void **s) {
    (void)s;
    for (int d = 0; d < 2; d++) {
        const nb_dtype dt = d ? F64 : F32;
        nb_tensor *x = tensor((double[]){1, 1, 0, 0}, dt, 4, SHAPE(1, 1, 2, 2), true);
        nb_tensor *y = nb_max_pool2d(x, 2, 2, 0, 0, 0, 0);
        assert_non_null(y);
        assert_int_equal(nb_backward(y, NULL, false), NB_OK);
        double g[4];
        values(nb_tensor_grad(x), g);
        if (!(g[0] == 1 && g[1] == 0 && g[2] == 0 && g[3] == 0))
            fail_msg("%s: x.grad = [%g, %g, %g, %g], want [1, 0, 0, 0]", nb_dtype_name(dt),
                     g[0], g[1], g[2], g[3]);
        nb_tensor_release(x); nb_tensor_release(y);
    }
}

/* Every set of tied maxima in one 2x2 and one 3x3 window (the rest lower). */
static void max_pool2d_every_tie_pattern_of_a_window(void **s) {
    (void)s;
    int64_t cases = 0;
    for (int k = 2; k <= 3; k++)
        for (int d = 0; d < 2; d++)
            for (int mask = 1; mask < 1 << (k * k); mask++) {
                double x[9];
                for (int i = 0; i < k * k; i++) x[i] = mask >> i & 1 ? 5.0 : (double)(i % 3) - 1;
                const pool p = {1, 1, k, k, k, k, k, k, 0, 0};
                pool_check("tie pattern", &p, d ? F64 : F32, x, NULL);
                cases++;
            }
    print_message("# %lld cases\n", (long long)cases);
}

/* Random geometries (overlapping windows, padding) over values in {0, 1, 2}
   (ties everywhere), some -inf, and random upstream gradients. */
static void max_pool2d_ties_in_random_geometries(void **s) {
    (void)s;
    int64_t cases = 0;
    for (int it = 0; it < 400; it++) {
        pool p;
        p.n = nbt_range(1, 2); p.c = nbt_range(1, 2);
        p.kh = nbt_range(1, 3); p.kw = nbt_range(1, 3);
        p.ph = nbt_range(0, p.kh / 2); p.pw = nbt_range(0, p.kw / 2);
        p.h = nbt_range(1, 6); p.w = nbt_range(1, 6);
        if (p.h + 2 * p.ph < p.kh) p.h = p.kh;
        if (p.w + 2 * p.pw < p.kw) p.w = p.kw;
        p.sh = nbt_range(1, 3); p.sw = nbt_range(1, 3);
        double x[MAXE], g[MAXE];
        const int64_t n = p.n * p.c * p.h * p.w;
        for (int64_t i = 0; i < n; i++) x[i] = nbt_range(0, 9) == 0 ? -INFINITY : (double)nbt_range(0, 2);
        for (int i = 0; i < MAXE; i++) g[i] = (double)nbt_range(1, 5);
        pool_check("random geometry", &p, it % 2 ? F64 : F32, x, g);
        cases++;
    }
    print_message("# %lld cases\n", (long long)cases);
}

/* NaN: the last NaN of a window takes the gradient (PyTorch updates on
   isnan(v)); a window of -inf: its first element. */
static void max_pool2d_nan_and_minus_inf_windows_follow_pytorch(void **s) {
    (void)s;
    static const double rows[][4] = {
        {1, 1, 0, 0}, {0, 1, 1, 0}, {0, 0, 1, 1}, {NAN, NAN, 0, 0}, {0, NAN, 5, NAN},
        {NAN, 7, 7, 7}, {7, NAN, 7, 0}, {-INFINITY, -INFINITY, -INFINITY, -INFINITY},
        {-INFINITY, -0.0, 0.0, -INFINITY}, {0.0, -0.0, 0, 0}};
    int64_t cases = 0;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (int d = 0; d < 2; d++) {
            const pool p = {1, 1, 2, 2, 2, 2, 2, 2, 0, 0};
            pool_check("special window", &p, d ? F64 : F32, rows[r], NULL);
            /* The same values as a 1x4 row, windows 1x2 at stride 1. */
            const pool q = {1, 1, 1, 4, 1, 2, 1, 1, 0, 0};
            pool_check("special row", &q, d ? F64 : F32, rows[r], NULL);
            cases += 2;
        }
    print_message("# %lld cases\n", (long long)cases);
}

/* ---- amax / amin ---- */

/* y and dx of amax (is_max) or amin over the dims in mask, PyTorch's rule. */
static void amax_oracle(int is_max, int ndim, const int64_t *shape, unsigned mask, const double *x,
                        const double *g, double *dx) {
    int64_t n = 1, oshape[3];
    for (int i = 0; i < ndim; i++) { n *= shape[i]; oshape[i] = mask >> i & 1 ? 1 : shape[i]; }
    double ext[MAXE];
    int64_t cnt[MAXE], out[MAXE];
    for (int64_t i = 0; i < MAXE; i++) { ext[i] = is_max ? -INFINITY : INFINITY; cnt[i] = 0; }
    for (int64_t e = 0; e < n; e++) {   /* output slot of element e */
        int64_t rem = e, o = 0, mul = 1;
        for (int d = ndim - 1; d >= 0; d--) {
            const int64_t idx = rem % shape[d];
            rem /= shape[d];
            o += (mask >> d & 1 ? 0 : idx) * mul;
            mul *= oshape[d];
        }
        out[e] = o;
        if (isnan(x[e]) || isnan(ext[o])) ext[o] = NAN;
        else if (is_max ? x[e] > ext[o] : x[e] < ext[o]) ext[o] = x[e];
    }
    for (int64_t e = 0; e < n; e++) cnt[out[e]] += x[e] == ext[out[e]];
    for (int64_t e = 0; e < n; e++)
        dx[e] = (g[out[e]] / (double)cnt[out[e]]) * (x[e] == ext[out[e]] ? 1.0 : 0.0);
}

static void amax_check(int is_max, nb_dtype dt, int ndim, const int64_t *shape, int ndims,
                       const int *dims, bool keepdim, const double *x, const double *gv) {
    unsigned mask = 0;
    for (int i = 0; i < ndims; i++) mask |= 1u << (dims[i] < 0 ? dims[i] + ndim : dims[i]);
    if (ndims == 0) mask = (1u << ndim) - 1;
    double want[MAXE], got[MAXE];
    amax_oracle(is_max, ndim, shape, mask, x, gv, want);
    nb_tensor *xt = tensor(x, dt, ndim, shape, true);
    nb_tensor *y = is_max ? nb_max(xt, ndims, dims, keepdim) : nb_min(xt, ndims, dims, keepdim);
    assert_non_null(y);
    /* Upstream gradient laid out like y (keepdim or not: same order). */
    const int64_t ny = nb_tensor_numel(y);
    double gy[MAXE];
    for (int64_t i = 0; i < ny; i++) gy[i] = gv[i];
    nb_tensor *g = tensor(gy, dt, nb_tensor_ndim(y), nb_tensor_shape(y), false);
    assert_int_equal(nb_backward(y, g, false), NB_OK);
    values(nb_tensor_grad(xt), got);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    for (int64_t e = 0; e < n; e++) {
        const double tol = 1e-6 * fabs(want[e]);
        if (!(same(got[e], want[e]) || fabs(got[e] - want[e]) <= tol))
            fail_msg("%s %s over mask 0x%x%s: x.grad[%lld] = %.9g, want %.9g (x = %g)",
                     is_max ? "nb_max" : "nb_min", nb_dtype_name(dt), mask,
                     keepdim ? " keepdim" : "", (long long)e, got[e], want[e], x[e]);
    }
    nb_tensor_release(xt); nb_tensor_release(y); nb_tensor_release(g);
}

static void amax_amin_split_the_gradient_evenly_between_ties(void **s) {
    (void)s;
    static const int64_t shapes[][3] = {{7, 1, 1}, {3, 4, 1}, {2, 3, 4}};
    static const int nds[] = {1, 2, 3};
    static const int dimsets[][3] = {{0}, {1}, {-1}, {0, 2}, {1, 2}, {0, 1}};
    static const int dimn[] = {1, 1, 1, 2, 2, 2};
    int64_t cases = 0;
    for (int sh = 0; sh < 3; sh++)
        for (int ds = -1; ds < 6; ds++)
            for (int rep = 0; rep < 4; rep++) {
                const int nd = nds[sh], k = ds < 0 ? 0 : dimn[ds];
                int ok = 1;
                for (int i = 0; i < k; i++) ok &= dimsets[ds][i] < nd && dimsets[ds][i] >= -nd;
                if (!ok) continue;
                double x[MAXE], g[MAXE];
                for (int i = 0; i < MAXE; i++) {
                    x[i] = (double)nbt_range(0, 2);
                    if (nbt_range(0, 7) == 0) x[i] = nbt_range(0, 1) ? -0.0 : 0.0;
                    g[i] = (double)nbt_range(1, 6);
                }
                for (int is_max = 0; is_max < 2; is_max++)
                    for (int d = 0; d < 2; d++) {
                        amax_check(is_max, d ? F64 : F32, nd, shapes[sh], k,
                                   ds < 0 ? NULL : dimsets[ds], rep % 2, x, g);
                        cases++;
                    }
            }
    print_message("# %lld cases\n", (long long)cases);
}

/* torch.amax of a slice with NaN is NaN, and its gradient is NaN there
   (grad / 0 * 0); the other slices are unaffected. */
static void amax_amin_of_a_nan_slice_give_nan_gradients_there(void **s) {
    (void)s;
    const double x[6] = {1, NAN, 1, 2, 2, 0}, g[2] = {3, 4};
    for (int is_max = 0; is_max < 2; is_max++)
        for (int d = 0; d < 2; d++) amax_check(is_max, d ? F64 : F32, 2, SHAPE(2, 3), 1, (int[]){1}, false, x, g);
}

/* ---- argmax ---- */

static void argmax_returns_the_first_of_ties(void **s) {
    (void)s;
    int64_t cases = 0;
    for (int it = 0; it < 300; it++) {
        const int64_t shape[3] = {nbt_range(1, 4), nbt_range(1, 5), nbt_range(1, 6)};
        const int ndim = (int)nbt_range(1, 3), dim = (int)nbt_range(0, ndim - 1);
        const nb_dtype dt = it % 3 == 0 ? F32 : it % 3 == 1 ? F64 : NB_INT64;
        double x[MAXE];
        for (int i = 0; i < MAXE; i++) {
            x[i] = (double)nbt_range(0, 2);
            if (dt != NB_INT64 && nbt_range(0, 9) == 0) x[i] = NAN;
            if (dt != NB_INT64 && nbt_range(0, 9) == 0) x[i] = nbt_range(0, 1) ? -0.0 : 0.0;
        }
        nb_tensor *base = tensor(x, dt, ndim, shape, false);
        /* Half the time through a transposed view (strided dim). */
        nb_tensor *t = ndim > 1 && it % 2 ? nb_transpose(base, 0, ndim - 1) : nb_tensor_retain(base);
        nb_tensor *am = nb_argmax(t, dim, true);
        assert_non_null(am);
        const int64_t *tsh = nb_tensor_shape(t);
        double v[MAXE], got[MAXE];
        values(t, v);
        values(am, got);
        int64_t outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= tsh[i];
        for (int i = dim + 1; i < ndim; i++) inner *= tsh[i];
        for (int64_t o = 0; o < outer; o++)
            for (int64_t in = 0; in < inner; in++) {
                int64_t best = 0;
                for (int64_t j = 1; j < tsh[dim]; j++) {
                    const double a = v[(o * tsh[dim] + j) * inner + in], b = v[(o * tsh[dim] + best) * inner + in];
                    if (isnan(b)) break;
                    if (isnan(a) || a > b) best = j;
                }
                if (got[o * inner + in] != (double)best)
                    fail_msg("nb_argmax %s dim %d of %lld-d: slot %lld gives %g, want %lld",
                             nb_dtype_name(dt), dim, (long long)ndim, (long long)(o * inner + in),
                             got[o * inner + in], (long long)best);
            }
        nb_tensor_release(am); nb_tensor_release(t); nb_tensor_release(base);
        cases++;
    }
    print_message("# %lld cases\n", (long long)cases);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        T(issue16_max_pool2d_tie_sends_the_gradient_to_the_first_maximum),
        T(max_pool2d_every_tie_pattern_of_a_window),
        T(max_pool2d_ties_in_random_geometries),
        T(max_pool2d_nan_and_minus_inf_windows_follow_pytorch),
        T(amax_amin_split_the_gradient_evenly_between_ties),
        T(amax_amin_of_a_nan_slice_give_nan_gradients_there),
        T(argmax_returns_the_first_of_ties),
    };
    return nbt_run(tests);
}
