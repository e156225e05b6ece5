/* Optimisers and schedules of issue 12: SGD with Nesterov momentum and
 * with dampening, AdamW (decoupled weight decay), on float32 (the
 * micro-kernel path where it applies) and float64 (the tensor-op path),
 * against torch.optim's formulas evaluated in double here; StepLR and
 * CosineAnnealingLR against their closed forms. */
#include <stdlib.h>

#include "tensor_util.h"

#define F32 NB_FLOAT32
#define F64 NB_FLOAT64

#define T(f) cmocka_unit_test_setup_teardown(f, tu_live_setup, tu_live_teardown)

#define NP 37   /* not a multiple of any vector width */
#define STEPS 3

/* Fixed parameter and per-step gradient values, the same for the oracle. */
static double p0(int i) { return 0.5 * sin(1.0 + i); }
static double grad(int step, int i) { return cos(0.3 * i + step) * (step + 1) * 0.7; }

static nb_tensor *leaf(nb_dtype dt) {
    nb_tensor *p = nb_empty(1, SHAPE(NP), dt);
    for (int i = 0; i < NP; i++) nb_tensor_set(p, SHAPE(i), p0(i));
    nb_tensor_requires_grad_(p, true);
    return p;
}
static void set_grad(nb_tensor *p, int step) {
    nb_tensor *g = nb_empty(1, SHAPE(NP), nb_tensor_dtype(p));
    for (int i = 0; i < NP; i++) nb_tensor_set(g, SHAPE(i), grad(step, i));
    nb_tensor_set_grad(p, g);
    nb_tensor_release(g);
}
/* |got - want| <= tol (|want| + 1): the parameters are O(1) and the
   updates cancel, so an error relative to |want| alone would be unfair. */
static void expect_close(const nb_tensor *p, const double *want, double tol) {
    for (int i = 0; i < NP; i++)
        if (!(fabs(AT(p, i) - want[i]) <= tol * (fabs(want[i]) + 1)))
            fail_msg("%s element %d: %.9g, oracle %.9g", nb_dtype_name(nb_tensor_dtype(p)), i, AT(p, i), want[i]);
}

/* torch.optim.SGD's step in double. */
static void sgd_oracle(const nb_sgd_options *o, double *want) {
    double buf[NP];
    for (int i = 0; i < NP; i++) want[i] = p0(i);
    for (int s = 0; s < STEPS; s++)
        for (int i = 0; i < NP; i++) {
            double d = grad(s, i) + o->weight_decay * want[i];
            buf[i] = s == 0 ? d : o->momentum * buf[i] + (1 - o->dampening) * d;
            d = o->nesterov ? d + o->momentum * buf[i] : buf[i];
            want[i] -= o->lr * d;
        }
}

/* STEPS steps of an optimiser made by make(p) on a float32 and a float64
   parameter, each against the oracle's values. */
typedef nb_optimizer *(*make_fn)(nb_tensor **p, const void *ctx);
static void run_both_dtypes(make_fn make, const void *ctx, const double *want) {
    for (int d = 0; d < 2; d++) {
        nb_tensor *p = leaf(d ? F64 : F32);
        nb_optimizer *opt = make(&p, ctx);
        assert_non_null(opt);
        for (int s = 0; s < STEPS; s++) {
            set_grad(p, s);
            assert_int_equal(nb_optimizer_step(opt), NB_OK);
        }
        expect_close(p, want, d ? 1e-13 : 1e-6);
        nb_optimizer_free(opt);
        nb_tensor_release(p);
    }
}

static nb_optimizer *make_sgd(nb_tensor **p, const void *o) { return nb_sgd_new_ex(1, p, o); }
static void run_sgd(const nb_sgd_options *o) {
    double want[NP];
    sgd_oracle(o, want);
    run_both_dtypes(make_sgd, o, want);
}

static void sgd_nesterov_steps_match_torch_formula(void **s) {
    (void)s;
    run_sgd(&(nb_sgd_options){.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
}
static void sgd_dampening_steps_match_torch_formula(void **s) {
    (void)s;
    run_sgd(&(nb_sgd_options){.lr = 0.05, .momentum = 0.8, .dampening = 0.3, .weight_decay = 0.0});
}
static void sgd_ex_without_extras_equals_plain_sgd(void **s) {
    (void)s;
    run_sgd(&(nb_sgd_options){.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-3});
}

static void sgd_nesterov_needs_momentum_and_no_dampening(void **s) {
    (void)s;
    nb_tensor *p = leaf(F32);
    assert_null(nb_sgd_new_ex(1, &p, &(nb_sgd_options){.lr = 0.1, .nesterov = true}));
    tu_failed_with(NB_ERR_ARG, "nb_sgd_new_ex", "Nesterov");
    assert_null(nb_sgd_new_ex(1, &p, &(nb_sgd_options){.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}));
    tu_failed_with(NB_ERR_ARG, "nb_sgd_new_ex", "dampening");
    nb_tensor_release(p);
}

/* torch.optim.AdamW's step in double. */
static void adamw_oracle(double lr, double b1, double b2, double eps, double wd, double *want) {
    double m[NP] = {0}, v[NP] = {0};
    for (int i = 0; i < NP; i++) want[i] = p0(i);
    for (int s = 1; s <= STEPS; s++)
        for (int i = 0; i < NP; i++) {
            const double g = grad(s - 1, i);
            want[i] *= 1 - lr * wd;
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            const double mhat = m[i] / (1 - pow(b1, s)), vhat = v[i] / (1 - pow(b2, s));
            want[i] -= lr * mhat / (sqrt(vhat) + eps);
        }
}

static nb_optimizer *make_adamw(nb_tensor **p, const void *ctx) {
    (void)ctx;
    return nb_adamw_new(1, p, 0.01, 0.9, 0.999, 1e-8, 0.1);
}
static void adamw_steps_match_torch_formula_on_both_paths(void **s) {
    (void)s;
    double want[NP];
    adamw_oracle(0.01, 0.9, 0.999, 1e-8, 0.1, want);
    run_both_dtypes(make_adamw, NULL, want);
}

static void adamw_differs_from_adam_with_l2_decay(void **s) {
    (void)s;
    nb_tensor *a = leaf(F32), *b = leaf(F32);
    nb_optimizer *oa = nb_adamw_new(1, &a, 0.01, 0.9, 0.999, 1e-8, 0.5), *ob = nb_adam_new(1, &b, 0.01, 0.9, 0.999, 1e-8, 0.5);
    set_grad(a, 0);
    set_grad(b, 0);
    assert_int_equal(nb_optimizer_step(oa), NB_OK);
    assert_int_equal(nb_optimizer_step(ob), NB_OK);
    int differ = 0;
    for (int i = 0; i < NP; i++) differ += AT(a, i) != AT(b, i);
    assert_true(differ > NP / 2);
    nb_optimizer_free(oa); nb_optimizer_free(ob);
    nb_tensor_release(a); nb_tensor_release(b);
}

static void set_lr_changes_the_next_step(void **s) {
    (void)s;
    nb_tensor *p = leaf(F64);
    nb_optimizer *o = nb_sgd_new(1, &p, 0.1, 0, 0);
    assert_true(nb_optimizer_lr(o) == 0.1);
    assert_int_equal(nb_optimizer_set_lr(o, 0.25), NB_OK);
    set_grad(p, 0);
    assert_int_equal(nb_optimizer_step(o), NB_OK);
    for (int i = 0; i < NP; i++) assert_true(fabs(AT(p, i) - (p0(i) - 0.25 * grad(0, i))) < 1e-15);
    assert_int_equal(nb_optimizer_set_lr(o, -1), NB_ERR_ARG);
    assert_true(nb_optimizer_lr(o) == 0.25);
    nb_optimizer_free(o);
    nb_tensor_release(p);
}

static void step_lr_multiplies_by_gamma_every_step_size_epochs(void **s) {
    (void)s;
    nb_tensor *p = leaf(F32);
    nb_optimizer *o = nb_sgd_new(1, &p, 0.1, 0, 0);
    nb_lr_scheduler *sc = nb_step_lr_new(o, 3, 0.5);
    assert_true(nb_lr_scheduler_last_lr(sc) == 0.1);
    static const double want[8] = {0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025};   /* epochs 1..8 */
    for (int e = 0; e < 8; e++) {
        assert_int_equal(nb_lr_scheduler_step(sc), NB_OK);
        assert_true(fabs(nb_lr_scheduler_last_lr(sc) - want[e]) < 1e-15);
        assert_true(nb_optimizer_lr(o) == nb_lr_scheduler_last_lr(sc));
    }
    nb_lr_scheduler_free(sc);
    nb_optimizer_free(o);
    nb_tensor_release(p);
}

static void cosine_lr_follows_half_a_cosine_from_base_to_eta_min(void **s) {
    (void)s;
    nb_tensor *p = leaf(F32);
    nb_optimizer *o = nb_adamw_new(1, &p, 0.1, 0.9, 0.999, 1e-8, 0.01);
    nb_lr_scheduler *sc = nb_cosine_lr_new(o, 4, 0.01);
    /* 0.01 + 0.09 (1 + cos(pi e / 4)) / 2 for e = 1..4: 0.0868198, 0.055, 0.0231802, 0.01 */
    static const double want[4] = {0.08681980515339464, 0.055, 0.023180194846605363, 0.01};
    for (int e = 0; e < 4; e++) {
        assert_int_equal(nb_lr_scheduler_step(sc), NB_OK);
        assert_true(fabs(nb_optimizer_lr(o) - want[e]) < 1e-15);
    }
    nb_lr_scheduler_free(sc);
    nb_optimizer_free(o);
    nb_tensor_release(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        T(sgd_nesterov_steps_match_torch_formula),
        T(sgd_dampening_steps_match_torch_formula),
        T(sgd_ex_without_extras_equals_plain_sgd),
        T(sgd_nesterov_needs_momentum_and_no_dampening),
        T(adamw_steps_match_torch_formula_on_both_paths),
        T(adamw_differs_from_adam_with_l2_decay),
        T(set_lr_changes_the_next_step),
        T(step_lr_multiplies_by_gamma_every_step_size_epochs),
        T(cosine_lr_follows_half_a_cosine_from_base_to_eta_min),
    };
    return nbt_run(tests);
}
