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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ukernel.h"

typedef struct {
    const char *name;
    nb_isa isa;
    nb_f32_maxpool2_planes_fn fwd;
    nb_f32_maxpool2_planes_bwd_fn bwd;
} entry;

static const entry registry[] = {
#define NB_UK_MAXPOOL2(f, b) {#f, NB_UK_ISA, f, b},
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
    if (r < 10) return -0.0f;
    if (r < 60) return (float)nbt_range(-2, 2);   /* ties */
    return nbt_uniform(-4.0f, 4.0f);
}

/* Calls covering [0, n): cut at multiples of 16, or anywhere (odd = 1). */
static int64_t next_cut(int64_t o, int64_t n, int odd) {
    int64_t e = o + (odd ? nbt_range(1, 40) : 16 * nbt_range(1, 3));
    return e > n ? n : e;
}

static void planes_equal_rows_and_scatter(void **state) {
    const entry *e = *state;
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

int main(void) {
    static struct CMUnitTest tests[N_ENTRIES];
    for (size_t i = 0; i < N_ENTRIES; i++)
        tests[i] = (struct CMUnitTest){registry[i].name, planes_equal_rows_and_scatter, NULL, NULL, (void *)&registry[i]};
    return nbt_run_impl(__FILE__, tests, N_ENTRIES);
}
