/* Out of memory, swept over the kernel ABI and a training step: each call
 * runs with its 1st, 2nd, ... allocation failing (alloc_fail.h) until a run
 * makes fewer allocations than the one that was to fail. After every
 * failure: the status is NB_ERR_OOM and the message names the function,
 * the output is byte for byte what it was, the program's own code has
 * freed every block it allocated during the call, no tensor is left alive,
 * and the next call (nothing failing) gives what a call that never failed
 * gives. A failed allocation that a call absorbs (reduce runs its
 * sequential order without scratch) must still give those bits.
 * (tests/test_alloc_failure.c does the convolutions and optimiser steps.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_fail.h"
#include "harness.h"

#define MAX_ALLOCS 2000

typedef struct {
    const char *fn;                 /* the function the message must name */
    nb_status (*call)(void *ctx);
    void *ctx;
    void *out;                      /* the output bytes */
    size_t nout;
} op_case;

/* Sweeps one call on `threads` threads; `want` holds the output of a call
   that never failed, `before` the output's content before each call.
   Returns the number of allocation points swept. */
static long sweep(const op_case *c, int threads, const void *before, const void *want) {
    nb_set_num_threads(threads);
    long k;
    for (k = 1; k <= MAX_ALLOCS; k++) {
        memcpy(c->out, before, c->nout);
        nb_free_buffers();
        const int64_t live0 = nb_tensor_live_count();
        af_track_begin();
        af_arm(k);
        const nb_status st = c->call(c->ctx);
        const long made = af_disarm();
        nb_free_buffers();
        const long leaked = af_track_end();
        if (leaked != 0)
            fail_msg("%s (%d threads): allocation %ld failed, %ld block(s) not freed", c->fn, threads, k,
                     leaked);
        assert_int_equal(nb_tensor_live_count(), live0);
        if (st == NB_OK) {
            if (memcmp(c->out, want, c->nout) != 0)
                fail_msg("%s (%d threads): allocation %ld failed, the call said NB_OK with another result",
                         c->fn, threads, k);
            if (made < k) break;   /* the k-th allocation never came: every point is swept */
            continue;              /* absorbed */
        }
        if (st != NB_ERR_OOM)
            fail_msg("%s (%d threads): allocation %ld failed: %s, not NB_ERR_OOM (%s)", c->fn, threads, k,
                     nb_status_str(st), nb_last_error());
        if (!strstr(nb_last_error(), c->fn))
            fail_msg("%s: the out-of-memory message does not name it: %s", c->fn, nb_last_error());
        if (memcmp(c->out, before, c->nout) != 0)
            fail_msg("%s (%d threads): allocation %ld failed (NB_ERR_OOM) after the output was written",
                     c->fn, threads, k);
        /* The next call works. */
        memcpy(c->out, before, c->nout);
        assert_int_equal(c->call(c->ctx), NB_OK);
        assert_memory_equal(c->out, want, c->nout);
    }
    assert_true(k <= MAX_ALLOCS);
    nb_set_num_threads(0);
    return k - 1;
}

/* Sweeps on 1, 2 and 4 threads against the 1-thread clean result. */
static void sweep_threads(const op_case *c, const char *what) {
    unsigned char *before = malloc(c->nout), *want = malloc(c->nout);
    assert_non_null(before);
    assert_non_null(want);
    for (size_t i = 0; i < c->nout; i++) before[i] = (unsigned char)(i * 7 + 3);
    memcpy(c->out, before, c->nout);
    nb_set_num_threads(1);
    assert_int_equal(c->call(c->ctx), NB_OK);
    memcpy(want, c->out, c->nout);
    static const int threads[] = {1, 2, 4};
    for (int t = 0; t < 3; t++) {
        const long points = sweep(c, threads[t], before, want);
        printf("# %s %s, %d threads: %ld allocation point(s) swept\n", c->fn, what, threads[t], points);
    }
    free(before);
    free(want);
}

static float *floats(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    nbt_fill_uniform(p, (int64_t)n, -1, 1);
    return p;
}

/* ---- GEMM ---- */

typedef struct {
    int ta, tb;
    int64_t M, N, K;
    float *A, *B, *C;
} gemm_ctx;

static nb_status call_gemm(void *v) {
    gemm_ctx *g = v;
    return nb_sgemm(g->ta, g->tb, g->M, g->N, g->K, 0.75f, g->A, g->ta ? g->M : g->K, g->B,
                    g->tb ? g->K : g->N, 0.5f, g->C, g->N);
}

/* Large enough that every backend packs (and so allocates), with edge
   tiles in M and N and a K spanning more than one KC block on AVX2. */
static void sgemm_out_of_memory_writes_nothing_and_leaks_nothing(void **s) {
    (void)s;
    if (!AF_AVAILABLE) { skip(); return; }   /* before allocating: skip() does not return */
    for (int t = 0; t < 4; t++) {
        gemm_ctx g = {t & 1, t >> 1, 203, 157, 300, NULL, NULL, NULL};
        g.A = floats((size_t)(g.M * g.K));
        g.B = floats((size_t)(g.K * g.N));
        g.C = floats((size_t)(g.M * g.N));
        const op_case c = {"nb_sgemm", call_gemm, &g, g.C, (size_t)(g.M * g.N) * sizeof(float)};
        char what[32];
        snprintf(what, sizeof what, "trans %d%d", g.ta, g.tb);
        sweep_threads(&c, what);
        free(g.A); free(g.B); free(g.C);
    }
}

/* ---- reduce ---- */

typedef struct {
    nb_reduce_op op;
    int ndim;
    int64_t shape[3], xs[3], ys[3];
    uint64_t mask;
    float *x, *y;
} reduce_ctx;

static nb_status call_reduce(void *v) {
    reduce_ctx *r = v;
    return nb_sreduce(r->op, r->ndim, r->shape, r->x, r->xs, r->mask, r->y, r->ys);
}

/* Shapes of each driver path: a few long rows (split over threads with a
   scratch of partial sums), columns (strips with a per-thread scratch),
   many short rows, and a strided 3-D reduction over two axes. */
static void sreduce_out_of_memory_writes_nothing_and_leaks_nothing(void **s) {
    (void)s;
    if (!AF_AVAILABLE) { skip(); return; }   /* before allocating: skip() does not return */
    static const struct { int ndim; int64_t shape[3]; uint64_t mask; } shapes[] = {
        {2, {1, 1000000, 1}, 2}, {2, {4000, 70, 1}, 1}, {2, {20000, 5, 1}, 2}, {3, {40, 300, 50}, 5},
    };
    static const nb_reduce_op ops[] = {NB_REDUCE_SUM, NB_REDUCE_MAX};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int o = 0; o < 2; o++) {
            reduce_ctx r = {.op = ops[o], .ndim = shapes[i].ndim, .mask = shapes[i].mask};
            int64_t nx = 1, ny = 1;
            for (int d = r.ndim - 1; d >= 0; d--) {
                r.shape[d] = shapes[i].shape[d];
                r.xs[d] = nx;
                r.ys[d] = ny;
                nx *= r.shape[d];
                if (!(r.mask >> d & 1)) ny *= r.shape[d];
                else r.ys[d] = 0;
            }
            r.x = floats((size_t)nx);
            r.y = floats((size_t)ny);
            const op_case c = {"nb_sreduce", call_reduce, &r, r.y, (size_t)ny * sizeof(float)};
            char what[48];
            snprintf(what, sizeof what, "%s shape %d", o ? "max" : "sum", (int)i);
            sweep_threads(&c, what);
            free(r.x); free(r.y);
        }
}

/* ---- strided copy, elementwise, softmax ---- */

typedef struct {
    int64_t shape[3], ss[3], ds[3];
    float *src, *dst;
} copy_ctx;

static nb_status call_copy(void *v) {
    copy_ctx *c = v;
    return nb_copy_strided(sizeof(float), 3, c->shape, c->src, c->ss, c->dst, c->ds);
}

/* A transposing copy with a negative and a broadcast source stride. */
static void copy_strided_out_of_memory_writes_nothing_and_leaks_nothing(void **s) {
    (void)s;
    if (!AF_AVAILABLE) { skip(); return; }   /* before allocating: skip() does not return */
    copy_ctx c = {{64, 300, 40}, {1, 0, 0}, {300 * 40, 40, 1}, NULL, NULL};
    float *src = floats(64 * 40);
    c.ss[2] = 64;            /* src element (i, *, k) at i + 64 k */
    c.ss[0] = -1;            /* i runs backwards */
    c.src = src + 63;
    c.dst = floats(64 * 300 * 40);
    const op_case oc = {"nb_copy_strided", call_copy, &c, c.dst, 64 * 300 * 40 * sizeof(float)};
    sweep_threads(&oc, "transpose+broadcast");
    free(src); free(c.dst);
}

typedef struct { int64_t n, cols; float *x, *y; } flat_ctx;

static nb_status call_unary(void *v) {
    flat_ctx *f = v;
    return nb_sunary(NB_UNARY_TANH, f->n, f->x, f->y);
}
static nb_status call_softmax(void *v) {
    flat_ctx *f = v;
    return nb_ssoftmax(1, f->n / f->cols, f->cols, f->x, f->cols, f->y, f->cols);
}

static void unary_and_softmax_out_of_memory_write_nothing(void **s) {
    (void)s;
    if (!AF_AVAILABLE) { skip(); return; }   /* before allocating: skip() does not return */
    flat_ctx f = {300000, 1000, floats(300000), floats(300000)};
    const op_case u = {"nb_sunary", call_unary, &f, f.y, (size_t)f.n * sizeof(float)};
    const op_case m = {"nb_ssoftmax", call_softmax, &f, f.y, (size_t)f.n * sizeof(float)};
    sweep_threads(&u, "tanh");
    sweep_threads(&m, "log");
    free(f.x); free(f.y);
}

/* ---- a training step through nn.h ---- */

enum { NPARAM_FLOATS = 4 * 8 + 8 + 8 * 2 + 2, BATCH = 16 };

typedef struct {
    nb_module *net;
    nb_optimizer *opt;
    nb_tensor *x, *target;
} trainer;

static trainer make_trainer(int adam) {
    trainer t;
    nb_generator *g = nb_generator_new(1234);
    assert_non_null(g);
    t.net = nb_sequential_new(3, (nb_module *[]){nb_linear_new(4, 8, true, g), nb_relu_new(),
                                                 nb_linear_new(8, 2, true, g)});
    assert_non_null(t.net);
    t.x = nb_randn(2, (int64_t[]){BATCH, 4}, NB_FLOAT32, g);
    t.target = nb_randn(2, (int64_t[]){BATCH, 2}, NB_FLOAT32, g);
    nb_generator_free(g);
    assert_non_null(t.x);
    assert_non_null(t.target);
    nb_tensor *p[4];
    assert_int_equal(nb_module_parameters(t.net, p, 4), 4);
    t.opt = adam ? nb_adam_new(4, p, 0.01, 0.9, 0.999, 1e-8, 0.01) : nb_sgd_new(4, p, 0.05, 0.9, 0.01);
    assert_non_null(t.opt);
    return t;
}

static void free_trainer(trainer *t) {
    nb_optimizer_free(t->opt);
    nb_module_free(t->net);
    nb_tensor_release(t->x);
    nb_tensor_release(t->target);
}

static void params_of(const trainer *t, float *out) {
    nb_tensor *p[4];
    assert_int_equal(nb_module_parameters(t->net, p, 4), 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(nb_tensor_read(p[i], out), NB_OK);
        out += nb_tensor_numel(p[i]);
    }
}

/* zero_grad, forward, MSE loss, backward, optimiser step. */
static nb_status train_step(trainer *t) {
    nb_optimizer_zero_grad(t->opt);
    nb_tensor *y = nb_module_forward(t->net, t->x);
    if (!y) return nb_last_status();
    nb_tensor *loss = nb_mse_loss(y, t->target);
    nb_tensor_release(y);
    if (!loss) return nb_last_status();
    const nb_status st = nb_backward(loss, NULL, false);
    nb_tensor_release(loss);
    return st != NB_OK ? st : nb_optimizer_step(t->opt);
}

/* Step `failing` (0-based) of three with its k-th allocation failing: the
   parameters are unchanged, every tensor and block made during the step is
   gone once the grads are dropped, and the steps after it give the
   parameters of a clean run (the optimiser's state was not half updated). */
static long sweep_training(int adam, int failing) {
    float clean[4][NPARAM_FLOATS], got[NPARAM_FLOATS];
    trainer ref = make_trainer(adam);
    params_of(&ref, clean[0]);
    for (int s = 1; s <= 3; s++) {
        assert_int_equal(train_step(&ref), NB_OK);
        params_of(&ref, clean[s]);
    }
    free_trainer(&ref);
    long k;
    for (k = 1; k <= MAX_ALLOCS; k++) {
        trainer t = make_trainer(adam);
        for (int s = 0; s < failing; s++) assert_int_equal(train_step(&t), NB_OK);
        nb_optimizer_zero_grad(t.opt);
        nb_free_buffers();
        const int64_t live0 = nb_tensor_live_count();
        af_track_begin();
        af_arm(k);
        const nb_status st = train_step(&t);
        const long made = af_disarm();
        if (st == NB_OK) {
            af_track_end();
            assert_true(made < k);
            params_of(&t, got);
            assert_memory_equal(got, clean[failing + 1], sizeof got);
            free_trainer(&t);
            break;
        }
        nb_optimizer_zero_grad(t.opt);   /* grads a failed backward may have left */
        nb_free_buffers();
        const long leaked = af_track_end();
        assert_int_equal(st, NB_ERR_OOM);
        if (leaked != 0)
            fail_msg("%s step %d: allocation %ld failed, %ld block(s) not freed", adam ? "Adam" : "SGD",
                     failing + 1, k, leaked);
        if (nb_tensor_live_count() != live0)
            fail_msg("%s step %d: allocation %ld failed, %lld tensor(s) left alive", adam ? "Adam" : "SGD",
                     failing + 1, k, (long long)(nb_tensor_live_count() - live0));
        params_of(&t, got);
        if (memcmp(got, clean[failing], sizeof got) != 0)
            fail_msg("%s step %d: allocation %ld failed after parameters changed", adam ? "Adam" : "SGD",
                     failing + 1, k);
        for (int s = failing + 1; s <= 3; s++) {
            assert_int_equal(train_step(&t), NB_OK);
            params_of(&t, got);
            if (memcmp(got, clean[s], sizeof got) != 0)
                fail_msg("%s: after allocation %ld failed in step %d, step %d differs from a clean run",
                         adam ? "Adam" : "SGD", k, failing + 1, s);
        }
        free_trainer(&t);
    }
    assert_true(k > 1 && k <= MAX_ALLOCS);
    return k - 1;
}

static void training_step_out_of_memory_changes_nothing_and_leaks_nothing(void **s) {
    (void)s;
    if (!AF_AVAILABLE) { skip(); return; }
    for (int adam = 0; adam < 2; adam++)
        for (int failing = 0; failing < 2; failing++)
            printf("# training step %d (Linear-ReLU-Linear, MSE, %s): %ld allocation points swept\n",
                   failing + 1, adam ? "Adam" : "SGD momentum", sweep_training(adam, failing));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sgemm_out_of_memory_writes_nothing_and_leaks_nothing),
        cmocka_unit_test(sreduce_out_of_memory_writes_nothing_and_leaks_nothing),
        cmocka_unit_test(copy_strided_out_of_memory_writes_nothing_and_leaks_nothing),
        cmocka_unit_test(unary_and_softmax_out_of_memory_write_nothing),
        cmocka_unit_test(training_step_out_of_memory_changes_nothing_and_leaks_nothing),
    };
    return nbt_run(tests);
}
