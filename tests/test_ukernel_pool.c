/* The pooling-row micro-kernels (src/ukernel.h, "2-D pooling rows"), one
 * case per registry entry (the NB_UK_MAXPOOL / NB_UK_AVGPOOL lines):
 * - against a double loop written here: max exactly (value and the index
 *   of the first of tied maxima, the last of several NaNs), avg within
 *   kh*kw float roundings of the exact mean;
 * - every SIMD row against its __scalar twin bit for bit (NaN by class);
 * over kernels 1..4, strides 1..3 (equal to the kernel or not), padding up
 * to half the kernel, widths around the vector widths (1..40) and heights
 * 1..9; values from a small set (ties everywhere) with NaN, +-Inf and -0;
 * the plane ending at a guard page. Then nb_max_pool2d / nb_avg_pool2d in
 * float32 against the float64 op of the same values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ukernel.h"

typedef struct {
    const char *name;
    nb_isa isa;
    nb_f32_maxpool_row_fn max;
    nb_f32_avgpool_row_fn avg;
    nb_f32_maxpool_row_fn max_twin;
    nb_f32_avgpool_row_fn avg_twin;
} entry;

static const entry registry[] = {
#define NB_UK_MAXPOOL(fn) {#fn, NB_UK_ISA, fn, NULL, nb_f32_maxpool_ukernel__scalar, NULL},
#define NB_UK_AVGPOOL(fn) {#fn, NB_UK_ISA, NULL, fn, NULL, nb_f32_avgpool_ukernel__scalar},
#include "ukernel_registry.h"
};
#define N_ENTRIES (sizeof registry / sizeof registry[0])

static int same_bits(float a, float b) {
    if (a != a || b != b) return a != a && b != b;
    return memcmp(&a, &b, sizeof a) == 0;
}

static float pick_value(void) {
    const int r = (int)nbt_range(0, 99);
    if (r < 3) return NAN;
    if (r < 5) return INFINITY;
    if (r < 7) return -INFINITY;
    if (r < 9) return -0.0f;
    if (r < 60) return (float)nbt_range(-2, 2);   /* ties */
    return nbt_uniform(-4.0f, 4.0f);
}

/* The double loop: max value and index (PyTorch's scan), or the exact
   mean; *mag = sum |x| over the window (the avg bound). */
static double oracle(const nb_pool2d_geom *g, const float *x, int64_t p, int64_t q, int is_max, int64_t *arg,
                     double *mag) {
    double best = -INFINITY, sum = 0;
    int64_t at = -1;
    *mag = 0;
    for (int64_t i = 0; i < g->kh; i++)
        for (int64_t j = 0; j < g->kw; j++) {
            const int64_t h = p * g->sh - g->ph + i, w = q * g->sw - g->pw + j;
            if (h < 0 || h >= g->H || w < 0 || w >= g->W) continue;
            const double v = x[h * g->W + w];
            sum += v;
            *mag += fabs(v);
            if (at < 0 || v > best || isnan(v)) { best = v; at = h * g->W + w; }
        }
    *arg = at;
    return is_max ? best : sum / (double)(g->kh * g->kw);
}

static void check_row(const entry *e, const nb_pool2d_geom *g, const float *x, int64_t p) {
    const int64_t Q = g->Q;
    float *y = nbt_alloc_guarded((size_t)Q * sizeof(float), 0), *yt = malloc((size_t)Q * sizeof(float));
    int64_t *a = nbt_alloc_guarded((size_t)Q * sizeof(int64_t), 0), *at = malloc((size_t)Q * sizeof(int64_t));
    if (e->max) { e->max(g, x, p, y, a); e->max_twin(g, x, p, yt, at); }
    else { e->avg(g, x, p, y); e->avg_twin(g, x, p, yt); }
    for (int64_t q = 0; q < Q; q++) {
        int64_t want_arg;
        double mag;
        const double want = oracle(g, x, p, q, e->max != NULL, &want_arg, &mag);
        const char *what = NULL;
        if (!same_bits(y[q], yt[q])) what = "differs from its __scalar twin";
        else if (e->max && (a[q] != at[q] || a[q] != want_arg)) what = "picks another tap";
        else if (e->max && !same_bits(y[q], (float)want)) what = "is not the maximum";
        else if (!e->max && !isnan(want) && !isinf(want) &&
                 fabs((double)y[q] - want) > (double)(g->kh * g->kw + 1) * 0x1p-24 * (mag + fabs(want)))
            what = "is not the mean";
        else if (!e->max && (isnan(want) || isinf(want)) && !same_bits(y[q], (float)want)) what = "misses NaN/Inf";
        if (what)
            fail_msg("%s: H %lld W %lld k %lldx%lld s %lldx%lld pad %lldx%lld row %lld col %lld: %a (arg %lld) %s "
                     "(want %a arg %lld)", e->name, (long long)g->H, (long long)g->W, (long long)g->kh,
                     (long long)g->kw, (long long)g->sh, (long long)g->sw, (long long)g->ph, (long long)g->pw,
                     (long long)p, (long long)q, (double)y[q], e->max ? (long long)a[q] : 0LL, what, want,
                     (long long)want_arg);
    }
    nbt_free_guarded(y);
    nbt_free_guarded(a);
    free(yt);
    free(at);
}

static void every_geometry_against_the_double_loop_and_the_twin(void **state) {
    const entry *e = *state;
    if (!nb_isa_supported(e->isa)) { skip(); return; }
    for (int rep = 0; rep < 400; rep++) {
        nb_pool2d_geom g;
        g.kh = nbt_range(1, 4);
        g.kw = nbt_range(1, 4);
        g.sh = rep % 3 == 0 ? g.kh : nbt_range(1, 3);
        g.sw = rep % 3 == 0 ? g.kw : nbt_range(1, 3);
        g.ph = nbt_range(0, g.kh / 2);
        g.pw = nbt_range(0, g.kw / 2);
        g.H = nbt_range(1, 9);
        const int64_t widths[] = {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40};
        g.W = widths[rep % 14] * (rep % 5 == 4 ? g.sw : 1);
        if (g.H + 2 * g.ph < g.kh || g.W + 2 * g.pw < g.kw) continue;
        g.Q = (g.W + 2 * g.pw - g.kw) / g.sw + 1;
        const int64_t P = (g.H + 2 * g.ph - g.kh) / g.sh + 1;
        float *x = nbt_alloc_guarded((size_t)(g.H * g.W) * sizeof(float), rep & 1);
        for (int64_t i = 0; i < g.H * g.W; i++) x[i] = pick_value();
        for (int64_t p = 0; p < P; p++) check_row(e, &g, x, p);
        nbt_free_guarded(x);
    }
}

/* MaxPool2d(2) (2x2, stride 2, no padding: the AVX-512 rows have a path
   of their own for it), every width from 2 to 35 (rows of 1..17 outputs,
   odd widths leave a column out), heights 2..5, the plane ending at a
   guard page or not. */
static void max_2x2_stride_2_every_width(void **state) {
    const entry *e = *state;
    if (!nb_isa_supported(e->isa) || !e->max) { skip(); return; }
    for (int rep = 0; rep < 140; rep++) {
        const int64_t W = 1 + rep % 35;
        const nb_pool2d_geom g = {.H = 2 + rep % 4, .W = W, .kh = 2, .kw = 2, .sh = 2, .sw = 2,
                                  .ph = 0, .pw = 0, .Q = W / 2};
        if (g.Q < 1) continue;
        float *x = nbt_alloc_guarded((size_t)(g.H * g.W) * sizeof(float), rep & 1);
        for (int64_t i = 0; i < g.H * g.W; i++) x[i] = pick_value();
        for (int64_t p = 0; p < g.H / 2; p++) check_row(e, &g, x, p);
        nbt_free_guarded(x);
    }
}

/* The backward rows (NB_UK_MAXPOOL_BWD lines): every row of a plane, in
   a shuffled order, into a plane of garbage, against zero-filling the
   plane and scattering every output in order (float adds), bit for bit;
   geometries without row overlap (sh >= kh; a quarter the 2x2 stride-2
   pool), columns overlapping or not, padding, planes ending at a guard
   page; gradients with -0, NaN, Inf. */
typedef struct { const char *name; nb_isa isa; nb_f32_maxpool_bwd_row_fn fn; } bwd_entry;
static const bwd_entry bwd_registry[] = {
#define NB_UK_MAXPOOL_BWD(fn) {#fn, NB_UK_ISA, fn},
#include "ukernel_registry.h"
};
#define N_BWD (sizeof bwd_registry / sizeof bwd_registry[0])

static void bwd_rows_equal_zero_fill_and_scatter(void **state) {
    const bwd_entry *e = *state;
    if (!nb_isa_supported(e->isa)) { skip(); return; }
    for (int rep = 0; rep < 300; rep++) {
        nb_pool2d_geom g;
        g.kh = nbt_range(1, 3);
        g.kw = nbt_range(1, 3);
        g.sh = g.kh + (rep % 4 == 3 ? nbt_range(0, 2) : 0);
        g.sw = rep % 3 == 2 ? nbt_range(1, 3) : g.kw;
        g.ph = nbt_range(0, g.kh / 2);
        g.pw = nbt_range(0, g.kw / 2);
        if (rep < 80) g.kh = g.kw = g.sh = g.sw = 2, g.ph = g.pw = 0;   /* the common pool, SIMD paths */
        g.H = nbt_range(1, 12);
        g.W = nbt_range(1, 40);
        if (g.H + 2 * g.ph < g.kh || g.W + 2 * g.pw < g.kw) continue;
        g.Q = (g.W + 2 * g.pw - g.kw) / g.sw + 1;
        const int64_t P = (g.H + 2 * g.ph - g.kh) / g.sh + 1, HW = g.H * g.W, base = nbt_range(0, 3) * HW;
        float *x = malloc((size_t)HW * sizeof(float)), *y = malloc((size_t)(P * g.Q) * sizeof(float));
        float *dy = malloc((size_t)(P * g.Q) * sizeof(float)), *want = calloc((size_t)HW, sizeof(float));
        int64_t *arg = malloc((size_t)(P * g.Q) * sizeof(int64_t));
        float *dx = nbt_alloc_guarded((size_t)HW * sizeof(float), rep & 1);
        for (int64_t i = 0; i < HW; i++) { x[i] = pick_value(); dx[i] = NAN; }
        for (int64_t p = 0; p < P; p++) nb_f32_maxpool_ukernel__scalar(&g, x, p, y + p * g.Q, arg + p * g.Q);
        for (int64_t o = 0; o < P * g.Q; o++) {
            dy[o] = pick_value();
            if (arg[o] >= 0) { want[arg[o]] += dy[o]; arg[o] += base; }
        }
        const int64_t start = nbt_range(0, P - 1);
        for (int64_t k = 0; k < P; k++) {
            const int64_t p = (start + k) % P;   /* rows in any order: each writes only its band */
            e->fn(&g, p, P, dy + p * g.Q, arg + p * g.Q, base, dx);
        }
        for (int64_t i = 0; i < HW; i++)
            if (!same_bits(dx[i], want[i]))
                fail_msg("%s: H %lld W %lld k %lldx%lld s %lldx%lld pad %lldx%lld element %lld: %a, want %a", e->name,
                         (long long)g.H, (long long)g.W, (long long)g.kh, (long long)g.kw, (long long)g.sh,
                         (long long)g.sw, (long long)g.ph, (long long)g.pw, (long long)i, (double)dx[i],
                         (double)want[i]);
        nbt_free_guarded(dx);
        free(x); free(y); free(dy); free(want); free(arg);
    }
}

/* The MaxPool2d(2) planes micro-kernels (src/ukernel_pool.h, registry
 * lines NB_UK_MAXPOOL2), one case per entry, bit for bit:
 * - forward against the plain-C row kernel run on every row of every plane
 *   (y and the argmax plane indices);
 * - backward against zero-filling dx and scattering every output in order
 *   (float adds), into dx full of NaN garbage;
 * over P, Q = 1..9 and 16 (the vector shapes Q | 16 with P*Q | 16 or
 * 16 | P*Q, and others), 1..70 planes, the outputs cut into calls at
 * multiples of 16 (the driver's units) and at arbitrary points (inside
 * rows too); values
 * with ties, NaN, +-Inf and -0; buffers ending at a guard page. */
typedef struct {
    const char *name;
    nb_isa isa;
    nb_f32_maxpool2_planes_fn fwd;
    nb_f32_maxpool2_planes_bwd_fn bwd;
} planes_entry;

static const planes_entry planes_registry[] = {
#define NB_UK_MAXPOOL2(f, b) {#f, NB_UK_ISA, f, b},
#include "ukernel_registry.h"
};
#define N_PLANES (sizeof planes_registry / sizeof planes_registry[0])

/* Calls covering [0, n): cut at multiples of 16, or anywhere (odd = 1). */
static int64_t next_cut(int64_t o, int64_t n, int odd) {
    int64_t e = o + (odd ? nbt_range(1, 40) : 16 * nbt_range(1, 3));
    return e > n ? n : e;
}

static void planes_equal_rows_and_scatter(void **state) {
    const planes_entry *e = *state;
    if (!nb_isa_supported(e->isa)) { skip(); return; }
    static const int64_t dims[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 16};
    for (int rep = 0; rep < 400; rep++) {
        const int64_t P = dims[nbt_range(0, 9)], Q = dims[nbt_range(0, 9)], NC = nbt_range(1, 70);
        const int64_t PQ = P * Q, n = NC * PQ, HW = 4 * PQ;
        const int odd = rep % 4 == 3, guard = rep & 1;
        float *x = nbt_alloc_guarded((size_t)(NC * HW) * sizeof(float), guard);
        float *y = nbt_alloc_guarded((size_t)n * sizeof(float), guard), *want_y = malloc((size_t)n * sizeof(float));
        int64_t *arg = nbt_alloc_guarded((size_t)n * sizeof(int64_t), guard);
        int64_t *want_arg = malloc((size_t)n * sizeof(int64_t));
        float *dy = nbt_alloc_guarded((size_t)n * sizeof(float), guard);
        float *dx = nbt_alloc_guarded((size_t)(NC * HW) * sizeof(float), guard);
        float *want_dx = calloc((size_t)(NC * HW), sizeof(float));
        const nb_pool2d_geom g = {2 * P, 2 * Q, 2, 2, 2, 2, 0, 0, Q};
        for (int64_t i = 0; i < NC * HW; i++) { x[i] = pick_value(); dx[i] = NAN; }
        for (int64_t c = 0; c < NC; c++)
            for (int64_t p = 0; p < P; p++)
                nb_f32_maxpool_ukernel__scalar(&g, x + c * HW, p, want_y + (c * P + p) * Q, want_arg + (c * P + p) * Q);
        int64_t *cuts = malloc((size_t)(n + 1) * sizeof(int64_t)), nc = 0;
        for (int64_t o = 0; o < n; o = next_cut(o, n, odd)) cuts[nc++] = o;
        cuts[nc] = n;
        for (int64_t k = 0; k < nc; k++) e->fwd(P, Q, x, cuts[k], cuts[k + 1], y, arg);
        for (int64_t o = 0; o < n; o++)
            if (!same_bits(y[o], want_y[o]) || arg[o] != want_arg[o])
                fail_msg("%s: P %lld Q %lld planes %lld output %lld: %a at %lld, want %a at %lld", e->name,
                         (long long)P, (long long)Q, (long long)NC, (long long)o, (double)y[o], (long long)arg[o],
                         (double)want_y[o], (long long)want_arg[o]);
        for (int64_t o = 0; o < n; o++) {
            dy[o] = pick_value();
            want_dx[(o / PQ) * HW + want_arg[o]] += dy[o];
        }
        /* calls in reverse order: each writes only its outputs' windows */
        for (int64_t k = nc - 1; k >= 0; k--) e->bwd(P, Q, dy, arg, cuts[k], cuts[k + 1], dx);
        for (int64_t i = 0; i < NC * HW; i++)
            if (!same_bits(dx[i], want_dx[i]))
                fail_msg("%s backward: P %lld Q %lld planes %lld input %lld: %a, want %a", e->name, (long long)P,
                         (long long)Q, (long long)NC, (long long)i, (double)dx[i], (double)want_dx[i]);
        nbt_free_guarded(x); nbt_free_guarded(y); nbt_free_guarded(arg); nbt_free_guarded(dy); nbt_free_guarded(dx);
        free(want_y); free(want_arg); free(want_dx); free(cuts);
    }
}

/* The tensor ops in float32 (the kernels, threaded over rows) against the
   same ops in float64 (plain C): max exactly, avg to float rounding. */
static void float32_ops_match_float64(void **state) {
    (void)state;
    const int64_t shape[4] = {3, 5, 13, 29};
    nb_generator *gen = nb_generator_new(nbt_seed());
    nb_tensor *x = nb_randn(4, shape, NB_FLOAT32, gen), *xd = nb_to_dtype(x, NB_FLOAT64);
    const int64_t geo[][6] = {{2, 2, 2, 2, 0, 0}, {3, 3, 2, 2, 1, 1}, {3, 2, 1, 3, 1, 0}, {1, 4, 1, 1, 0, 2}};
    for (size_t k = 0; k < sizeof geo / sizeof geo[0]; k++)
        for (int is_max = 0; is_max <= 1; is_max++) {
            const int64_t *c = geo[k];
            nb_tensor *(*op)(nb_tensor *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t) =
                is_max ? nb_max_pool2d : nb_avg_pool2d;
            nb_tensor *y = op(x, c[0], c[1], c[2], c[3], c[4], c[5]), *yd = op(xd, c[0], c[1], c[2], c[3], c[4], c[5]);
            assert_non_null(y);
            assert_non_null(yd);
            const int64_t n = nb_tensor_numel(y);
            const float *a = nb_tensor_data(y);
            const double *b = nb_tensor_data(yd);
            for (int64_t i = 0; i < n; i++)
                if (is_max ? (double)a[i] != b[i] : fabs((double)a[i] - b[i]) > 1e-5 * (1 + fabs(b[i])))
                    fail_msg("%s geometry %zu element %lld: %a, float64 gives %a", is_max ? "max" : "avg", k,
                             (long long)i, (double)a[i], b[i]);
            nb_tensor_release(y);
            nb_tensor_release(yd);
        }
    nb_tensor_release(x);
    nb_tensor_release(xd);
    nb_generator_free(gen);
}

int main(void) {
    static struct CMUnitTest tests[2 * N_ENTRIES + N_BWD + 1 + N_PLANES];
    static char names[N_ENTRIES][96];
    for (size_t i = 0; i < N_ENTRIES; i++) {
        tests[i] = (struct CMUnitTest){registry[i].name, every_geometry_against_the_double_loop_and_the_twin, NULL,
                                       NULL, (void *)&registry[i]};
        snprintf(names[i], sizeof names[i], "%s_2x2_stride_2", registry[i].name);
        tests[N_ENTRIES + N_BWD + 1 + i] = (struct CMUnitTest){names[i], max_2x2_stride_2_every_width, NULL, NULL,
                                                                (void *)&registry[i]};
    }
    for (size_t i = 0; i < N_BWD; i++)
        tests[N_ENTRIES + i] = (struct CMUnitTest){bwd_registry[i].name, bwd_rows_equal_zero_fill_and_scatter, NULL,
                                                   NULL, (void *)&bwd_registry[i]};
    tests[N_ENTRIES + N_BWD] = (struct CMUnitTest)cmocka_unit_test(float32_ops_match_float64);
    for (size_t i = 0; i < N_PLANES; i++)
        tests[2 * N_ENTRIES + N_BWD + 1 + i] = (struct CMUnitTest){planes_registry[i].name, planes_equal_rows_and_scatter,
                                                                    NULL, NULL, (void *)&planes_registry[i]};
    return nbt_run_impl(__FILE__, tests, 2 * N_ENTRIES + N_BWD + 1 + N_PLANES);
}
