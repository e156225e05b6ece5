/* The optimiser micro-kernels (src/ukernel.h, "optimiser updates") and the
 * float32 optimiser step that runs them.
 *
 * Micro-kernels, one case per registry entry (the NB_UK_OPTIM lines of the registries): every
 * SIMD micro-kernel against its plain-C twin bit for bit (NaN by class),
 * the twins against the formula written out here; sizes 0 .. 33, primes,
 * one large size; pointers offset by one float; guard pages before or
 * after; special values in parameters, gradients and state; every
 * combination of weight decay, momentum and first step.
 *
 * nb_optimizer_step on float32 parameters (contiguous and transposed)
 * gives the formula's bits over several steps, which are the bits of the
 * tensor-op composition of earlier versions for SGD, and for Adam with
 * sqrt(v / bc2) correctly rounded (earlier versions took powf(v / bc2, 0.5),
 * which may differ by an ulp), as torch.optim.Adam; and the same bits for
 * 1, 2 and 3 threads. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "isa_ops.h"
#include "ukernel.h"

typedef struct {
    const char *tag;
    nb_isa isa;
    int adam;
    nb_f32_sgd_fn sgd;
    nb_f32_adam_fn adamk;
} entry;

#define ENTRIES(isa, tag)                                                   \
    {"sgd__" #tag, isa, 0, nb_f32_sgd_ukernel__##tag, NULL},                \
    {"adam__" #tag, isa, 1, NULL, nb_f32_adam_ukernel__##tag},
static const entry registry[] = {
#define NB_UK_OPTIM(tag) ENTRIES(NB_UK_ISA, tag)
#include "ukernel_registry.h"
};
#define N_ENTRIES (sizeof registry / sizeof registry[0])

/* ---- the formulas, one rounding per operation (-ffp-contract=off) ---- */

static void sgd_formula(size_t n, float *p, const float *g, float *buf, const nb_sgd_hparams *h) {
    for (size_t i = 0; i < n; i++) {
        float d = g[i];
        if (h->has_wd) { const float t = p[i] * h->wd; d = d + t; }
        if (h->has_momentum) {
            if (!h->first) { const float t = buf[i] * h->momentum; d = t + d; }
            buf[i] = d;
        }
        const float delta = d * h->nlr;
        p[i] = p[i] + delta;
    }
}

static void adam_formula(size_t n, float *p, const float *g, float *m, float *v, const nb_adam_hparams *h) {
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        if (h->has_wd) { const float t = p[i] * h->wd; gi = gi + t; }
        const float t1 = m[i] * h->b1, u1 = gi * h->c1;
        m[i] = t1 + u1;
        const float t2 = v[i] * h->b2, gg = gi * gi, u2 = gg * h->c2;
        v[i] = t2 + u2;
        const float q = v[i] / h->bc2, r = sqrtf(q), u = r + h->eps, s = m[i] / u, delta = s * h->step;
        p[i] = p[i] + delta;
    }
}

static int same_bits(float x, float y) {
    if (isnan(x) || isnan(y)) return isnan(x) && isnan(y);
    return memcmp(&x, &y, sizeof x) == 0;
}

static const float specials[] = {0.0f, -0.0f, NAN, INFINITY, -INFINITY, 1e-40f, -1e-40f, FLT_MAX, 1.0f, -3.0f};
#define N_SPECIALS (sizeof specials / sizeof specials[0])

static void fill(float *x, size_t n, int special, float lo, float hi) {
    nbt_fill_uniform(x, (int64_t)n, lo, hi);
    if (special)
        for (size_t i = 0; i < n; i++)
            if (nbt_range(0, 7) == 0) x[i] = specials[nbt_range(0, N_SPECIALS - 1)];
}

/* ---- micro-kernels ---- */

enum { P, G, B1, B2, NBUF };

static void check_case(const entry *e, size_t n, int off, int guard_before, int special, int flags) {
    const size_t bytes = (n + (size_t)off) * sizeof(float);
    float *buf[NBUF], *x[NBUF], *want[NBUF];
    for (int k = 0; k < NBUF; k++) {
        buf[k] = nbt_alloc_guarded(bytes, guard_before);
        want[k] = malloc((n ? n : 1) * sizeof(float));
        assert_non_null(buf[k]); assert_non_null(want[k]);
        x[k] = buf[k] + off;
        fill(x[k], n, special, k == B2 ? 0.0f : -2.0f, 2.0f);   /* v >= 0 unless special */
        memcpy(want[k], x[k], n * sizeof(float));
    }
    const nb_sgd_hparams sh = {0.01f, 0.9f, -0.1f, flags & 1, (flags >> 1) & 1, (flags >> 2) & 1};
    const nb_adam_hparams ah = {0.01f, 0.9f, 0.1f, 0.999f, 0.001f, 0.0199f, 1e-8f, -0.0345f, flags & 1};
    const int scalar = e->isa == NB_ISA_REF;
    if (e->adam) {
        (scalar ? adam_formula : nb_f32_adam_ukernel__scalar)(n, want[P], want[G], want[B1], want[B2], &ah);
        e->adamk(n, x[P], x[G], x[B1], x[B2], &ah);
    } else {
        (scalar ? sgd_formula : nb_f32_sgd_ukernel__scalar)(n, want[P], want[G], want[B1], &sh);
        e->sgd(n, x[P], x[G], x[B1], &sh);
    }
    for (int k = 0; k < NBUF; k++)
        for (size_t i = 0; i < n; i++)
            if (!same_bits(x[k][i], want[k][i])) {
                print_error("%s n=%zu off=%d flags=%d: operand %d [%zu] = %a, want %a\n", e->tag, n, off,
                            flags, k, i, (double)x[k][i], (double)want[k][i]);
                fail();
            }
    for (int k = 0; k < NBUF; k++) { nbt_free_guarded(buf[k]); free(want[k]); }
}

static const size_t big_sizes[] = {37, 61, 101, 1009, 65537};

static void every_size_alignment_value_and_flag(void **state) {
    const entry *e = *state;
    if (!nb_isa_supported(e->isa)) { skip(); return; }
    int k = 0;
    for (size_t i = 0; i < 34 + sizeof big_sizes / sizeof big_sizes[0]; i++) {
        const size_t n = i < 34 ? i : big_sizes[i - 34];
        for (int flags = 0; flags < (e->adam ? 2 : 8); flags++)
            for (int off = 0; off <= 1; off++, k++)
                check_case(e, n, off, k & 1, (k >> 1) & 1, flags);
    }
}

static void configurations_hold_the_registry_kernels(void **state) {
    (void)state;
    for (size_t i = 0; i < N_ENTRIES; i++) {
        const nb_ukernel_config *cfg = nb_ukernels_for(registry[i].isa);
        if (!cfg) continue;
        if (registry[i].adam) assert_true(cfg->adam == registry[i].adamk);
        else assert_true(cfg->sgd == registry[i].sgd);
    }
}

/* ---- nb_optimizer_step on float32 ---- */

/* Three steps of opt on a rows x cols parameter (transposed: a view of a
   cols x rows tensor) against the formula; returns the final parameter. */
static float *run_steps(int adam, int64_t rows, int64_t cols, int transposed, double wd, double mom) {
    const int64_t n = rows * cols;
    const int64_t shape[2] = {transposed ? cols : rows, transposed ? rows : cols};
    nb_tensor *base = nb_empty(2, shape, NB_FLOAT32);
    assert_non_null(base);
    float *pw = malloc((size_t)n * sizeof(float)), *g = malloc((size_t)n * sizeof(float));
    float *b1 = calloc((size_t)n, sizeof(float)), *b2 = calloc((size_t)n, sizeof(float));
    fill((float *)nb_tensor_data(base), (size_t)n, 1, -2.0f, 2.0f);
    nb_tensor *p = transposed ? nb_transpose(base, 0, 1) : nb_tensor_retain(base);
    assert_non_null(p);
    /* pw: the parameter in p's row-major order */
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            pw[r * cols + c] = ((float *)nb_tensor_data(base))[transposed ? c * rows + r : r * cols + c];
    assert_int_equal(nb_tensor_requires_grad_(p, true), NB_OK);
    nb_tensor *params[1] = {p};
    nb_optimizer *opt = adam ? nb_adam_new(1, params, 0.01, 0.9, 0.999, 1e-8, wd) : nb_sgd_new(1, params, 0.1, mom, wd);
    assert_non_null(opt);
    for (int step = 1; step <= 3; step++) {
        fill(g, (size_t)n, 0, -1.0f, 1.0f);
        nb_tensor *gt = nb_tensor_new(g, NB_FLOAT32, 2, (int64_t[]){rows, cols});
        assert_int_equal(nb_tensor_set_grad(p, gt), NB_OK);
        nb_tensor_release(gt);
        assert_int_equal(nb_optimizer_step(opt), NB_OK);
        if (adam) {
            const double bc1 = 1 - pow(0.9, step), bc2 = 1 - pow(0.999, step);
            const nb_adam_hparams h = {(float)wd, 0.9f, (float)(1 - 0.9), 0.999f, (float)(1 - 0.999),
                                       (float)bc2, 1e-8f, (float)(-0.01 / bc1), wd != 0};
            adam_formula((size_t)n, pw, g, b1, b2, &h);
        } else {
            const nb_sgd_hparams h = {(float)wd, (float)mom, (float)-0.1, wd != 0, mom != 0, step == 1};
            sgd_formula((size_t)n, pw, g, b1, &h);
        }
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++) {
                double got = NAN;
                assert_int_equal(nb_tensor_get(p, (int64_t[]){r, c}, &got), NB_OK);
                if (!same_bits((float)got, pw[r * cols + c])) {
                    print_error("%s step %d [%lld, %lld] = %a, want %a\n", adam ? "adam" : "sgd", step,
                                (long long)r, (long long)c, got, (double)pw[r * cols + c]);
                    fail();
                }
            }
    }
    nb_optimizer_free(opt);
    nb_tensor_release(p);
    nb_tensor_release(base);
    free(g); free(b1); free(b2);
    return pw;
}

static void float32_steps_follow_the_formula_bit_for_bit(void **state) {
    (void)state;
    for (int transposed = 0; transposed <= 1; transposed++) {
        free(run_steps(0, 7, 9, transposed, 0.0, 0.0));
        free(run_steps(0, 7, 9, transposed, 0.01, 0.0));
        free(run_steps(0, 7, 9, transposed, 0.0, 0.9));
        free(run_steps(0, 7, 9, transposed, 0.01, 0.9));
        free(run_steps(1, 7, 9, transposed, 0.0, 0.0));
        free(run_steps(1, 7, 9, transposed, 0.01, 0.0));
    }
}

/* A parameter large enough to be split across threads: each thread count
   gives the formula's bits, so all give the same. */
static void float32_steps_are_thread_count_invariant(void **state) {
    (void)state;
    const int saved = nb_get_num_threads();
    for (int adam = 0; adam <= 1; adam++)
        for (int t = 1; t <= 3; t++) {
            nb_set_num_threads(t);
            free(run_steps(adam, 301, 1001, 0, 0.01, 0.9));
        }
    nb_set_num_threads(saved);
}

/* A parameter listed twice (or tied): both updates are computed from the
   old values, as by the tensor ops, then both applied. */
static void a_parameter_listed_twice_updates_from_its_old_values(void **state) {
    (void)state;
    float v[5] = {1.0f, -2.0f, 0.375f, 3.0f, -0.0f}, g[5] = {0.5f, 0.25f, -1.0f, 0.125f, 2.0f};
    nb_tensor *p = nb_tensor_new(v, NB_FLOAT32, 1, (int64_t[]){5});
    nb_tensor *gt = nb_tensor_new(g, NB_FLOAT32, 1, (int64_t[]){5});
    assert_int_equal(nb_tensor_requires_grad_(p, true), NB_OK);
    assert_int_equal(nb_tensor_set_grad(p, gt), NB_OK);
    nb_tensor *params[2] = {p, p};
    nb_optimizer *opt = nb_sgd_new(2, params, 0.1, 0.0, 0.25);
    assert_int_equal(nb_optimizer_step(opt), NB_OK);
    for (int i = 0; i < 5; i++) {
        const float t = v[i] * 0.25f, d = g[i] + t, delta = d * (float)-0.1, once = v[i] + delta;
        const float want = once + delta;
        double got = NAN;
        assert_int_equal(nb_tensor_get(p, (int64_t[]){i}, &got), NB_OK);
        assert_true(same_bits((float)got, want));
    }
    nb_optimizer_free(opt);
    nb_tensor_release(gt);
    nb_tensor_release(p);
}

int main(void) {
    static struct CMUnitTest tests[N_ENTRIES + 4];
    for (size_t i = 0; i < N_ENTRIES; i++)
        tests[i] = (struct CMUnitTest){registry[i].tag, every_size_alignment_value_and_flag, NULL, NULL,
                                       (void *)&registry[i]};
    tests[N_ENTRIES] = (struct CMUnitTest)cmocka_unit_test(configurations_hold_the_registry_kernels);
    tests[N_ENTRIES + 1] = (struct CMUnitTest)cmocka_unit_test(float32_steps_follow_the_formula_bit_for_bit);
    tests[N_ENTRIES + 2] = (struct CMUnitTest)cmocka_unit_test(float32_steps_are_thread_count_invariant);
    tests[N_ENTRIES + 3] = (struct CMUnitTest)cmocka_unit_test(a_parameter_listed_twice_updates_from_its_old_values);
    return nbt_run_impl(__FILE__, tests, N_ENTRIES + 4);
}
