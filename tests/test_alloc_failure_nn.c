/* Out of memory in the nn additions of issue 12 (tests/alloc_fail.h fails
 * every allocation in turn): a failed nb_module_load leaves the model
 * unchanged, a failed BatchNorm2d training forward leaves the running
 * statistics unchanged, a failed backward through it and a failed AdamW /
 * Nesterov step change nothing, a failed nb_module_to_dtype leaves every
 * dtype and value as it was, and nothing leaks. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "alloc_fail.h"
#include "tensor_util.h"

#define MAX_ALLOCS 2000

static nb_module *bn_model(void) {
    nb_module *m = nb_sequential_new(3, (nb_module *[]){nb_conv2d_new(1, 2, 3, 3, NULL, true, NULL),
                                                        nb_batch_norm2d_new(2, 1e-5, 0.1, true), nb_linear_new(2, 2, true, NULL)});
    assert_non_null(m);
    return m;
}

/* Every state value of m (float32 and int64 alike, as bytes). */
static size_t state_bytes(const nb_module *m, unsigned char *out) {
    nb_named_tensor sd[16];
    const int n = nb_module_state_dict(m, sd, 16);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        assert_int_equal(nb_tensor_read(sd[i].tensor, out + at), NB_OK);
        at += (size_t)nb_tensor_numel(sd[i].tensor) * nb_dtype_size(nb_tensor_dtype(sd[i].tensor));
    }
    return at;
}

static void load_out_of_memory_changes_nothing_and_leaks_nothing(void **s) {
    (void)s;
    if (!AF_AVAILABLE) { skip(); return; }
    char path[64];
    snprintf(path, sizeof path, "/tmp/nbt_af_%ld.nbsd", (long)getpid());
    nb_module *src = bn_model(), *dst = bn_model();
    assert_int_equal(nb_module_save(src, path), NB_OK);
    unsigned char before[4096], after[4096];
    const size_t n = state_bytes(dst, before);
    int failures = 0;
    for (long k = 1; k <= MAX_ALLOCS; k++) {
        /* The tensor layer's buffer cache keeps freed storage: empty it on
           both sides, so the balance counts what the call itself kept. */
        nb_free_buffers();
        af_track_begin();
        af_arm(k);
        const nb_status st = nb_module_load(dst, path);
        const long made = af_disarm();
        nb_free_buffers();
        assert_int_equal(af_track_end(), 0);
        if (st == NB_OK) { assert_true(made < k); break; }
        assert_int_equal(st, NB_ERR_OOM);
        assert_int_equal(state_bytes(dst, after), n);
        assert_memory_equal(before, after, n);
        failures++;
    }
    assert_true(failures >= 3);
    remove(path);
    nb_module_free(src);
    nb_module_free(dst);
}

static void to_dtype_out_of_memory_changes_nothing_and_leaks_nothing(void **s) {
    (void)s;
    if (!AF_AVAILABLE) { skip(); return; }
    nb_module *m = bn_model();
    unsigned char before[4096], after[4096];
    const size_t n = state_bytes(m, before);
    int failures = 0;
    for (long k = 1; k <= MAX_ALLOCS; k++) {
        nb_free_buffers();
        af_track_begin();
        af_arm(k);
        const nb_status st = nb_module_to_dtype(m, NB_FLOAT64);
        const long made = af_disarm();
        nb_free_buffers();
        const long kept = af_track_end();   /* on success: the new storages */
        if (st == NB_OK) { assert_true(made < k); break; }
        assert_int_equal(kept, 0);
        assert_int_equal(st, NB_ERR_OOM);
        assert_int_equal(state_bytes(m, after), n);   /* still float32: the same byte count */
        assert_memory_equal(before, after, n);
        failures++;
    }
    assert_true(failures >= 3);
    nb_named_tensor sd[16];
    assert_int_equal(nb_module_state_dict(m, sd, 16), 9);
    assert_int_equal(nb_tensor_dtype(sd[0].tensor), NB_FLOAT64);   /* the last attempt converted */
    nb_module_free(m);
}

static void batchnorm_forward_and_backward_out_of_memory_leak_nothing(void **s) {
    (void)s;
    if (!AF_AVAILABLE) { skip(); return; }
    nb_module *m = nb_batch_norm2d_new(2, 1e-5, 0.1, true);
    nb_tensor *x = RAND(NB_FLOAT32, -1, 1, 4, 2, 3, 3);
    unsigned char before[4096], after[4096];
    const size_t n = state_bytes(m, before);
    int failures = 0;
    for (long k = 1; k <= MAX_ALLOCS; k++) {
        const int64_t live = nb_tensor_live_count();
        af_arm(k);
        nb_tensor *y = nb_module_forward(m, x), *l = y ? nb_sum_all(y) : NULL;
        const nb_status st = l ? nb_backward(l, NULL, false) : NB_ERR_OOM;
        const long made = af_disarm();
        nb_tensor_release(y);
        nb_tensor_release(l);
        nb_module_zero_grad(m);
        assert_int_equal(nb_tensor_live_count(), live);
        if (!y) {   /* a failed forward moved no running statistic */
            assert_int_equal(state_bytes(m, after), n);
            assert_memory_equal(before, after, n);
        }
        if (st == NB_OK) { assert_true(made < k); break; }
        if (y) {   /* the statistics moved: the new reference */
            state_bytes(m, before);
        }
        failures++;
    }
    assert_true(failures >= 5);
    nb_tensor_release(x);
    nb_module_free(m);
}

/* A step of each new optimiser kind: out of memory changes no parameter. */
static void new_optimiser_steps_out_of_memory_change_nothing(void **s) {
    (void)s;
    if (!AF_AVAILABLE) { skip(); return; }
    for (int kind = 0; kind < 2; kind++) {
        int failures = 0;
        for (long k = 1; k <= MAX_ALLOCS; k++) {
            nb_tensor *p = nb_full(2, SHAPE(3, 5), NB_FLOAT32, 0.5), *g = nb_full(2, SHAPE(3, 5), NB_FLOAT32, 0.25);
            nb_tensor_requires_grad_(p, true);
            nb_tensor_set_grad(p, g);
            nb_optimizer *o = kind ? nb_adamw_new(1, &p, 0.01, 0.9, 0.999, 1e-8, 0.1)
                                   : nb_sgd_new_ex(1, &p, &(nb_sgd_options){0.1, 0.9, 0.0, 0.01, true});
            assert_int_equal(nb_optimizer_step(o), NB_OK);   /* state exists: the second step is the one that fails */
            float before[15], after[15];
            nb_tensor_read(p, before);
            af_arm(k);
            const nb_status st = nb_optimizer_step(o);
            const long made = af_disarm();
            nb_tensor_read(p, after);
            nb_optimizer_free(o);
            nb_tensor_release(p);
            nb_tensor_release(g);
            if (st == NB_OK) { assert_true(made < k); break; }
            assert_int_equal(st, NB_ERR_OOM);
            assert_memory_equal(before, after, sizeof before);
            failures++;
        }
        assert_true(failures >= 1);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(load_out_of_memory_changes_nothing_and_leaks_nothing),
        cmocka_unit_test(to_dtype_out_of_memory_changes_nothing_and_leaks_nothing),
        cmocka_unit_test(batchnorm_forward_and_backward_out_of_memory_leak_nothing),
        cmocka_unit_test(new_optimiser_steps_out_of_memory_change_nothing),
    };
    return nbt_run(tests);
}
