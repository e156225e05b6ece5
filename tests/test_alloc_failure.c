/* Out of memory leaves nothing half done. Each call below runs with its
 * 1st, 2nd, ... allocation failing (alloc_fail.h) until it succeeds; every
 * failure must be NB_ERR_OOM with the outputs (or the parameters and the
 * optimiser's state) exactly as before the call, and the next call must
 * give what a call that never failed gives. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_fail.h"
#include "harness.h"

#define MAX_ALLOCS 400

/* ---- convolutions ---- */

typedef struct {
    nb_conv2d_desc d;
    float *x, *w, *bias, *dy;   /* inputs */
    float *out, *out2;          /* outputs: y / dx / dw, and dbias */
    size_t n_out, n_out2;
    int dir;                    /* 0 forward, 1 backward-data, 2 backward-filter */
} conv_case;

static nb_status run_conv(conv_case *c) {
    switch (c->dir) {
    case 0: return nb_sconv2d_forward(&c->d, c->x, c->w, c->bias, c->out);
    case 1: return nb_sconv2d_backward_data(&c->d, c->dy, c->w, c->out);
    default: return nb_sconv2d_backward_filter(&c->d, c->x, c->dy, c->out, c->out2);
    }
}

static const char *const conv_fn[] = {"nb_sconv2d_forward", "nb_sconv2d_backward_data",
                                      "nb_sconv2d_backward_filter"};

static float *floats(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    return p;
}

/* Success after a failed allocation: the same bits as a call that never
   failed, or, where a path recovers from the failure (recovered != 0), the
   same non-finite outputs and finite ones within a relative 1e-4. */
static void assert_same_result(const float *got, const float *want, size_t n, int recovered) {
    if (!recovered) { assert_memory_equal(got, want, n * sizeof(float)); return; }
    for (size_t i = 0; i < n; i++) {
        if (isnan(want[i]) || isinf(want[i])) {
            assert_true(isnan(got[i]) == isnan(want[i]) && isinf(got[i]) == isinf(want[i]));
            continue;
        }
        assert_true(fabsf(got[i] - want[i]) <= 1e-4f * (1.0f + fabsf(want[i])));
    }
}

/* nan_at >= 0: x (dy for backward-data) gets a NaN there, and the call may
   recover from a failed allocation (the Winograd pass redoes such an image). */
static void sweep_conv_nan(nb_conv2d_desc d, int dir, long nan_at) {
    if (!AF_AVAILABLE) { skip(); return; }
    conv_case c = {.d = d, .dir = dir};
    int64_t P, Q;
    assert_int_equal(nb_conv2d_out_shape(&d, &P, &Q), NB_OK);
    const size_t nx = (size_t)(d.n * d.c * d.h * d.w), nw = (size_t)(d.k * d.c / d.groups * d.r * d.s);
    const size_t ny = (size_t)(d.n * d.k * P * Q);
    c.x = floats(nx); c.w = floats(nw); c.bias = floats((size_t)d.k); c.dy = floats(ny);
    nbt_fill_uniform(c.x, (int64_t)nx, -1, 1);
    nbt_fill_uniform(c.w, (int64_t)nw, -1, 1);
    nbt_fill_uniform(c.bias, d.k, -1, 1);
    nbt_fill_uniform(c.dy, (int64_t)ny, -1, 1);
    if (nan_at >= 0) (dir == 1 ? c.dy : c.x)[nan_at] = NAN;
    c.n_out = dir == 0 ? ny : dir == 1 ? nx : nw;
    c.n_out2 = dir == 2 ? (size_t)d.k : 0;
    c.out = floats(c.n_out);
    c.out2 = dir == 2 ? floats(c.n_out2) : NULL;
    float *want = floats(c.n_out + c.n_out2), *before = floats(c.n_out + c.n_out2);
    nb_set_num_threads(1);   /* every working buffer is this thread's: nb_free_buffers() drops them all */
    nb_free_buffers();
    assert_int_equal(run_conv(&c), NB_OK);
    memcpy(want, c.out, c.n_out * sizeof(float));
    if (c.out2) memcpy(want + c.n_out, c.out2, c.n_out2 * sizeof(float));
    for (size_t i = 0; i < c.n_out + c.n_out2; i++) before[i] = (float)i - 0.5f;
    int failures = 0;
    for (long k = 1; k <= MAX_ALLOCS; k++) {
        memcpy(c.out, before, c.n_out * sizeof(float));
        if (c.out2) memcpy(c.out2, before + c.n_out, c.n_out2 * sizeof(float));
        nb_free_buffers();
        af_arm(k);
        const nb_status st = run_conv(&c);
        const long made = af_disarm();
        if (st == NB_OK) {
            const int recovered = made >= k;   /* the k-th allocation came and failed */
            assert_true(!recovered || nan_at >= 0);
            assert_same_result(c.out, want, c.n_out, recovered);
            if (c.out2) assert_same_result(c.out2, want + c.n_out, c.n_out2, recovered);
            if (!recovered) break;
            continue;
        }
        assert_int_equal(st, NB_ERR_OOM);
        assert_non_null(strstr(nb_last_error(), conv_fn[dir]));
        if (memcmp(c.out, before, c.n_out * sizeof(float)) != 0 ||
            (c.out2 && memcmp(c.out2, before + c.n_out, c.n_out2 * sizeof(float)) != 0))
            fail_msg("%s: allocation %ld failed (NB_ERR_OOM) after the output was written",
                     conv_fn[dir], k);
        failures++;
    }
    assert_true(failures >= 1);   /* the call does allocate: the sweep tested something */
    nb_set_num_threads(0);
    free(c.x); free(c.w); free(c.bias); free(c.dy); free(c.out); free(c.out2); free(want); free(before);
}

/* Shapes that take each driver path on the SIMD backends: filter and
   column-matrix dims above the GEMM's no-pack limits (so it packs, and
   allocates), stride 2 and 3 (column blocks), stride 1 (implicit im2col,
   the transposed backward-data pass), 1x1 (x is the column matrix). */
static const nb_conv2d_desc shapes[] = {
    /* n  c   h   w   k  r  s sh sw ph pw dh dw g */
    {2, 8, 12, 12, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1},
    {2, 8, 13, 13, 40, 3, 3, 3, 3, 1, 1, 1, 1, 1},
    {2, 8, 12, 12, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {2, 40, 6, 6, 40, 1, 1, 1, 1, 0, 0, 1, 1, 1},
    {2, 16, 9, 9, 48, 3, 3, 2, 2, 1, 1, 1, 1, 2},
};

static void sweep_conv(nb_conv2d_desc d, int dir) { sweep_conv_nan(d, dir, -1); }

static void conv_sweeps(int dir) {
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) sweep_conv(shapes[i], dir);
}

/* Winograd (forced) with a NaN in image 1: its outputs are redone on the
   GEMM path after the other image is written; when that runs out of
   memory the image is computed without memory (conv_winograd.c), so every
   call either fails having written nothing or succeeds whole. */
static void winograd_redo_out_of_memory_finishes_or_writes_nothing(void **s) {
    (void)s;
    const nb_conv2d_desc d = {2, 16, 10, 10, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    setenv("NABLA_CONV_ALGO", "winograd", 1);
    sweep_conv_nan(d, 0, 16 * 10 * 10 + 37);
    sweep_conv_nan(d, 1, 24 * 10 * 10 + 37);
    unsetenv("NABLA_CONV_ALGO");
}
static void conv_forward_out_of_memory_writes_nothing(void **s) { (void)s; conv_sweeps(0); }
static void conv_backward_data_out_of_memory_writes_nothing(void **s) { (void)s; conv_sweeps(1); }
static void conv_backward_filter_out_of_memory_writes_nothing(void **s) { (void)s; conv_sweeps(2); }

/* n == 0: dw and dbias are the empty sums, 0, and no column buffer is
   needed for images that do not exist (here it would be 16 TB). */
static void conv_backward_filter_of_an_empty_batch_zeroes_dw_without_allocating(void **s) {
    (void)s;
    if (!AF_AVAILABLE) { skip(); return; }
    const nb_conv2d_desc d = {0, 1, 1, 1, 2, 1, 1, 1, 1, 1000000, 1000000, 1, 1, 1};
    float dw[2] = {NAN, NAN}, db[2] = {NAN, NAN};
    af_arm(0);   /* every allocation fails */
    const nb_status st = nb_sconv2d_backward_filter(&d, NULL, NULL, dw, db);
    const long made = af_disarm();
    assert_int_equal(st, NB_OK);
    assert_int_equal(made, 0);
    for (int i = 0; i < 2; i++) assert_true(dw[i] == 0.0f && db[i] == 0.0f);
}

/* ---- optimisers ---- */

enum { NP = 3 };
static const int64_t pshape[NP][2] = {{3, 1}, {2, 2}, {4, 1}};

typedef struct {
    nb_tensor *p[NP];
    nb_optimizer *opt;
} model;

static model make_model(int adam) {
    model m;
    for (int i = 0; i < NP; i++) {
        float v[4], g[4];
        for (int j = 0; j < 4; j++) { v[j] = 0.25f * (float)(i + 1) - 0.1f * (float)j; g[j] = 0.5f - 0.3f * (float)(i * j); }
        m.p[i] = nb_tensor_new(v, NB_FLOAT32, 2, pshape[i]);
        nb_tensor *gt = nb_tensor_new(g, NB_FLOAT32, 2, pshape[i]);
        assert_non_null(m.p[i]);
        assert_non_null(gt);
        nb_tensor_requires_grad_(m.p[i], true);
        assert_int_equal(nb_tensor_set_grad(m.p[i], gt), NB_OK);
        nb_tensor_release(gt);
    }
    m.opt = adam ? nb_adam_new(NP, m.p, 0.01, 0.9, 0.999, 1e-8, 0.01)
                 : nb_sgd_new(NP, m.p, 0.1, 0.9, 0.01);
    assert_non_null(m.opt);
    return m;
}

static void free_model(model *m) {
    nb_optimizer_free(m->opt);
    for (int i = 0; i < NP; i++) nb_tensor_release(m->p[i]);
}

/* All parameters, flattened. */
static void snapshot(const model *m, float *out) {
    for (int i = 0; i < NP; i++) {
        assert_int_equal(nb_tensor_read(m->p[i], out), NB_OK);
        out += nb_tensor_numel(m->p[i]);
    }
}
#define NVALS 11

/* Step `failing` (0-based) of three runs with its k-th allocation failing,
   for k = 1, 2, ...: the failed step changes no parameter, and the steps
   after it give the parameters of three clean steps (so the state was not
   half updated either). */
static void sweep_optimizer(int adam) {
    if (!AF_AVAILABLE) { skip(); return; }
    float clean[4][NVALS], got[NVALS];
    model ref = make_model(adam);
    snapshot(&ref, clean[0]);
    for (int s = 1; s <= 3; s++) {
        assert_int_equal(nb_optimizer_step(ref.opt), NB_OK);
        snapshot(&ref, clean[s]);
    }
    free_model(&ref);
    for (int failing = 0; failing < 2; failing++) {
        int failures = 0;
        for (long k = 1; k <= MAX_ALLOCS; k++) {
            model m = make_model(adam);
            for (int s = 0; s < failing; s++) assert_int_equal(nb_optimizer_step(m.opt), NB_OK);
            af_arm(k);
            const nb_status st = nb_optimizer_step(m.opt);
            const long made = af_disarm();
            snapshot(&m, got);
            if (st == NB_OK) {
                assert_true(made < k);
                assert_memory_equal(got, clean[failing + 1], sizeof got);
                free_model(&m);
                break;
            }
            assert_int_equal(st, NB_ERR_OOM);
            if (memcmp(got, clean[failing], sizeof got) != 0)
                fail_msg("%s step %d: allocation %ld failed after parameters changed",
                         adam ? "Adam" : "SGD", failing + 1, k);
            for (int s = failing + 1; s <= 3; s++) {
                assert_int_equal(nb_optimizer_step(m.opt), NB_OK);
                snapshot(&m, got);
                if (memcmp(got, clean[s], sizeof got) != 0)
                    fail_msg("%s: after allocation %ld failed in step %d, step %d differs from a clean run",
                             adam ? "Adam" : "SGD", k, failing + 1, s);
            }
            free_model(&m);
            failures++;
        }
        assert_true(failures >= 1);
    }
}

static void sgd_momentum_step_out_of_memory_changes_nothing(void **s) { (void)s; sweep_optimizer(0); }
static void adam_step_out_of_memory_changes_nothing(void **s) { (void)s; sweep_optimizer(1); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conv_forward_out_of_memory_writes_nothing),
        cmocka_unit_test(conv_backward_data_out_of_memory_writes_nothing),
        cmocka_unit_test(conv_backward_filter_out_of_memory_writes_nothing),
        cmocka_unit_test(winograd_redo_out_of_memory_finishes_or_writes_nothing),
        cmocka_unit_test(conv_backward_filter_of_an_empty_batch_zeroes_dw_without_allocating),
        cmocka_unit_test(sgd_momentum_step_out_of_memory_changes_nothing),
        cmocka_unit_test(adam_step_out_of_memory_changes_nothing),
    };
    return nbt_run(tests);
}
