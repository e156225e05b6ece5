/* The batch-norm row micro-kernels (src/ukernel_bnorm.h), one case per
 * registry entry (the NB_UK_BNORM lines of kernels/<isa>/ukernels.def):
 * - sum, sqdev, gsums against long-double sums written here, within the
 *   contract's bound gamma_53(K + 8) * sum |term| (K = rows * ceil(n/16):
 *   the terms of one lane, plus the tree and the terms' own roundings);
 * - every SIMD entry against its __scalar twin bit for bit (NaN by class);
 * - affine against ((a * u) + (b * v)) + c in float, bit for bit, with and
 *   without v, in place;
 * over n = 0, 1, primes, 15/16/17, 31/32/33 and large, 0..7 rows with
 * row strides above n (odd pads), buffers ending at a guard page at any
 * float offset (unaligned), and rows with NaN / +-Inf. Then nb_batch_norm
 * in float32: the same bits on 1, 2 and 3 threads (the driver threads over
 * channels), and close to the float64 op of the same values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ukernel.h"

typedef struct {
    const char *name;
    nb_isa isa;
    nb_f32_bnorm_ukernels k;
} entry;

static const entry registry[] = {
#define NB_UK_BNORM(tag)                                                                           \
    {"nb_f32_bnorm_ukernels__" #tag, NB_UK_ISA,                                                    \
     {nb_f32_bnsum_ukernel__##tag, nb_f32_bnsqdev_ukernel__##tag, nb_f32_bngsums_ukernel__##tag, \
      nb_f32_bnaffine_ukernel__##tag}},
#include "ukernel_registry.h"
};
#define N_ENTRIES (sizeof registry / sizeof registry[0])

static const nb_f32_bnorm_ukernels twin = {nb_f32_bnsum_ukernel__scalar, nb_f32_bnsqdev_ukernel__scalar,
                                           nb_f32_bngsums_ukernel__scalar, nb_f32_bnaffine_ukernel__scalar};

static int same_d(double a, double b) {
    if (a != a || b != b) return a != a && b != b;
    return memcmp(&a, &b, sizeof a) == 0;
}
static int same_f(float a, float b) {
    if (a != a || b != b) return a != a && b != b;
    return memcmp(&a, &b, sizeof a) == 0;
}

/* rows of n floats, ld apart, ending at a guard page. */
typedef struct { float *p; size_t rows, n, ld; } rows_buf;

static rows_buf make(size_t rows, size_t n, size_t ld, int specials) {
    const size_t len = rows ? (rows - 1) * ld + n : 0;
    rows_buf b = {nbt_alloc_guarded((len ? len : 1) * sizeof(float), 0), rows, n, ld};
    const float scale = (float)ldexp(1.0, (int)nbt_range(-8, 8));
    for (size_t i = 0; i < len; i++) b.p[i] = nbt_uniform(-4.0f, 4.0f) * scale + (specials ? 0 : 3.0f);
    if (specials && len) {
        const float s[] = {NAN, INFINITY, -INFINITY, -0.0f};
        for (int t = 0; t < 3; t++) b.p[nbt_range(0, (int64_t)len - 1)] = s[nbt_range(0, 3)];
    }
    return b;
}

/* The exact-ish sum of the terms over the rows' values (long double) and
   sum |term| (*mag). which: 0 sum x, 1 sqdev, 2 sum g, 3 sum g (x - mu). */
static long double oracle(int which, const rows_buf *g, const rows_buf *x, double mu, long double *mag) {
    long double s = 0;
    *mag = 0;
    for (size_t r = 0; r < x->rows; r++)
        for (size_t i = 0; i < x->n; i++) {
            const long double xv = x->p[r * x->ld + i], d = xv - (long double)mu, gv = g ? g->p[r * g->ld + i] : 0;
            const long double t = which == 0 ? xv : which == 1 ? d * d : which == 2 ? gv : gv * d;
            s += t;
            *mag += fabsl(t);
        }
    return s;
}

static void check_stat(const entry *e, const char *what, double got, double tw, long double want, long double mag,
                       size_t rows, size_t n) {
    const double K = (double)rows * (double)((n + 15) / 16) + 8, u = 0x1p-53;
    const long double bound = (long double)(K * u / (1 - K * u)) * mag;
    const char *why = NULL;
    if (!same_d(got, tw)) why = "differs from its __scalar twin";
    else if (isnan((double)want) || isinf((double)want)) { if (!same_d(got, (double)want)) why = "misses NaN/Inf"; }
    else if (!(fabsl((long double)got - want) <= bound)) why = "is outside the bound";
    if (why)
        fail_msg("%s %s: rows %zu n %zu: %a (twin %a) %s, want %La (bound %La)", e->name, what, rows, n, got, tw, why,
                 want, bound);
}

static void one_shape(const entry *e, size_t rows, size_t n, size_t ld, int specials) {
    rows_buf x = make(rows, n, ld, specials), g = make(rows, n, ld, specials);
    long double mag;
    const long double want_s = oracle(0, NULL, &x, 0, &mag);
    check_stat(e, "sum", e->k.sum(rows, n, x.p, ld), twin.sum(rows, n, x.p, ld), want_s, mag, rows, n);
    const double mu = rows && n ? (double)(want_s / (long double)(rows * n)) : 0.0;
    const double mu_f = isfinite(mu) ? mu : 0.5;
    const long double want_q = oracle(1, NULL, &x, mu_f, &mag);
    check_stat(e, "sqdev", e->k.sqdev(rows, n, x.p, ld, mu_f), twin.sqdev(rows, n, x.p, ld, mu_f), want_q, mag, rows,
               n);
    double got[2], tw[2];
    e->k.gsums(rows, n, g.p, x.p, ld, mu_f, got);
    twin.gsums(rows, n, g.p, x.p, ld, mu_f, tw);
    long double mag2;
    const long double want_g = oracle(2, &g, &x, mu_f, &mag), want_p = oracle(3, &g, &x, mu_f, &mag2);
    check_stat(e, "gsums[0]", got[0], tw[0], want_g, mag, rows, n);
    check_stat(e, "gsums[1]", got[1], tw[1], want_p, mag2, rows, n);
    /* affine, with v, without, and in place on u */
    const float a = nbt_uniform(-2, 2), b = nbt_uniform(-2, 2), c = nbt_uniform(-2, 2);
    const size_t len = rows ? (rows - 1) * ld + n : 0;
    for (int mode = 0; mode < 3 && rows; mode++) {
        rows_buf y = make(rows, n, ld, 0);
        float *keep = malloc(len * sizeof(float)), *u = mode == 2 ? y.p : x.p;
        if (mode == 2) memcpy(y.p, x.p, len * sizeof(float));
        memcpy(keep, y.p, len * sizeof(float));
        e->k.affine(rows, n, ld, u, mode == 1 ? NULL : g.p, a, b, c, y.p);
        for (size_t i = 0; i < len; i++) {
            const size_t col = i % ld;
            const float xv = x.p[i];
            const float want = col >= n ? keep[i] : mode == 1 ? a * xv + c : (a * xv + b * g.p[i]) + c;
            if (!same_f(y.p[i], want))
                fail_msg("%s affine (mode %d): rows %zu n %zu ld %zu element %zu: %a, want %a", e->name, mode, rows, n,
                         ld, i, (double)y.p[i], (double)want);
        }
        free(keep);
        nbt_free_guarded(y.p);
    }
    nbt_free_guarded(x.p);
    nbt_free_guarded(g.p);
}

static void every_shape_against_long_double_sums_and_the_twin(void **state) {
    const entry *e = *state;
    if (!nb_isa_supported(e->isa)) { skip(); return; }
    const size_t ns[] = {0, 1, 2, 3, 5, 7, 8, 9, 13, 15, 16, 17, 31, 32, 33, 47, 64, 97, 196, 1031};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++)
        for (size_t rows = 0; rows <= 7; rows += (rows < 3 ? 1 : 4))
            for (int specials = 0; specials <= 1; specials++)
                one_shape(e, rows, ns[t], ns[t] + (size_t)nbt_range(0, 5), specials);
    one_shape(e, 3, 40009, 40013, 0);   /* large: many terms per lane */
}

/* nb_batch_norm in float32: forward and backward bits on 1, 2, 3 threads,
   and the float64 op of the same values within float rounding. */
static void batch_norm_is_thread_count_invariant_and_close_to_float64(void **state) {
    (void)state;
    const int64_t shape[4] = {5, 7, 9, 11}, C = 7;
    nb_generator *gen = nb_generator_new(nbt_seed());
    nb_tensor *x = nb_randn(4, shape, NB_FLOAT32, gen), *w = nb_randn(1, &C, NB_FLOAT32, gen);
    nb_tensor *b = nb_randn(1, &C, NB_FLOAT32, gen), *g = nb_randn(4, shape, NB_FLOAT32, gen);
    nb_tensor *ins[3] = {x, w, b}, *first[4] = {NULL};
    const int saved = nb_get_num_threads();
    for (int t = 1; t <= 4; t++) {   /* t == 4: float64 */
        nb_tensor *in[3], *gg = t == 4 ? nb_to_dtype(g, NB_FLOAT64) : g;
        for (int i = 0; i < 3; i++) {
            in[i] = t == 4 ? nb_to_dtype(ins[i], NB_FLOAT64) : nb_detach(ins[i]);
            assert_int_equal(nb_tensor_requires_grad_(in[i], true), NB_OK);
        }
        nb_set_num_threads(t == 4 ? 1 : t);
        nb_tensor *y = nb_batch_norm(in[0], NULL, NULL, in[1], in[2], true, 0.1, 1e-5);
        assert_non_null(y);
        assert_int_equal(nb_backward(y, gg, false), NB_OK);
        nb_tensor *out[4] = {y, nb_tensor_grad(in[0]), nb_tensor_grad(in[1]), nb_tensor_grad(in[2])};
        for (int o = 0; o < 4; o++) {
            assert_non_null(out[o]);
            const int64_t m = nb_tensor_numel(out[o]);
            if (t == 1) { first[o] = nb_detach(out[o]); continue; }
            const float *a = nb_tensor_data(first[o]);
            for (int64_t i = 0; i < m; i++) {
                const double want = a[i];
                const double got = t == 4 ? ((const double *)nb_tensor_data(out[o]))[i]
                                          : ((const float *)nb_tensor_data(out[o]))[i];
                if (t < 4 ? !same_f((float)got, (float)want) : !(fabs(got - want) <= 1e-4 * (1 + fabs(got))))
                    fail_msg("output %d element %lld: %a on %s, %a on 1 thread (float32)", o, (long long)i, got,
                             t == 4 ? "float64" : "more threads", want);
            }
        }
        nb_tensor_release(y);
        for (int i = 0; i < 3; i++) nb_tensor_release(in[i]);
        if (t == 4) nb_tensor_release(gg);
    }
    nb_set_num_threads(saved);
    for (int o = 0; o < 4; o++) nb_tensor_release(first[o]);
    for (int i = 0; i < 3; i++) nb_tensor_release(ins[i]);
    nb_tensor_release(g);
    nb_generator_free(gen);
}

int main(void) {
    static struct CMUnitTest tests[N_ENTRIES + 1];
    for (size_t i = 0; i < N_ENTRIES; i++)
        tests[i] = (struct CMUnitTest){registry[i].name, every_shape_against_long_double_sums_and_the_twin, NULL, NULL,
                                       (void *)&registry[i]};
    tests[N_ENTRIES] = (struct CMUnitTest)cmocka_unit_test(batch_norm_is_thread_count_invariant_and_close_to_float64);
    return nbt_run_impl(__FILE__, tests, N_ENTRIES + 1);
}
