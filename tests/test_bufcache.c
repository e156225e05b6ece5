/* The storage cache (src/bufcache.h, nabla/tensor.h): a released tensor's
 * block is reused by the next tensor of its size class on the same thread;
 * the cap and nb_free_buffers() bound what is kept; each thread has its own
 * cache, freed when it exits; a cached block never hides an out-of-memory
 * that would happen without it, and a miss after nb_free_buffers() reaches
 * the allocator again (failure injection, alloc_fail.h). */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "alloc_fail.h"
#include "harness.h"

static nb_tensor *vec(int64_t n) { return nb_empty(1, (int64_t[]){n}, NB_FLOAT32); }

static void reset(void) {
    nb_set_buffer_cache_limit((size_t)256 << 20);
    nb_free_buffers();
}

static void a_released_block_is_reused_by_the_same_size_class(void **s) {
    (void)s;
    reset();
    nb_tensor *a = vec(1000);
    assert_non_null(a);
    const void *pa = nb_tensor_data(a);
    nb_tensor_release(a);
    assert_true(nb_buffer_cache_bytes() >= 4000);
    nb_tensor *b = vec(1001);   /* 4004 B: the same class as 4000 B */
    assert_ptr_equal(nb_tensor_data(b), pa);
    nb_tensor *c = vec(1000);   /* the class is empty now: a new block */
    assert_ptr_not_equal(nb_tensor_data(c), pa);
    nb_tensor_release(b);
    nb_tensor_release(c);
    nb_tensor *d = vec(4000);   /* another class: not one of those blocks */
    assert_ptr_not_equal(nb_tensor_data(d), pa);
    nb_tensor_release(d);
    reset();
    assert_int_equal(nb_buffer_cache_bytes(), 0);
}

/* Every size, fresh or reused: data 64-byte aligned, as the kernels expect. */
static void data_stays_64_byte_aligned(void **s) {
    (void)s;
    reset();
    for (int round = 0; round < 2; round++)
        for (int64_t n = 0; n < 3000; n += 1 + n / 7) {
            nb_tensor *t = vec(n);
            assert_non_null(t);
            assert_int_equal((uintptr_t)nb_tensor_data(t) % 64, 0);
            /* Writable end to end (ASan and the guard of the next block). */
            float *p = nb_tensor_data(t);
            for (int64_t i = 0; i < n; i++) p[i] = (float)i;
            nb_tensor_release(t);
        }
    reset();
}

static void the_cap_bounds_the_cached_bytes(void **s) {
    (void)s;
    reset();
    nb_set_buffer_cache_limit(0);   /* off */
    nb_tensor *a = vec(1000);
    nb_tensor_release(a);
    assert_int_equal(nb_buffer_cache_bytes(), 0);
    nb_set_buffer_cache_limit(100000);
    nb_tensor *t[8];
    for (int i = 0; i < 8; i++) t[i] = vec(10000);   /* 40 KB each */
    for (int i = 0; i < 8; i++) nb_tensor_release(t[i]);
    const size_t kept = nb_buffer_cache_bytes();
    assert_true(kept <= 100000);
    assert_true(kept >= 40000);   /* at least one block (and its tensor object) fits */
    reset();
}

static void free_buffers_empties_the_cache(void **s) {
    (void)s;
    reset();
    for (int i = 1; i < 50; i++) nb_tensor_release(vec(i * 37));
    assert_true(nb_buffer_cache_bytes() > 0);
    nb_free_buffers();
    assert_int_equal(nb_buffer_cache_bytes(), 0);
    nb_free_buffers();   /* twice: nothing kept is fine */
    assert_int_equal(nb_buffer_cache_bytes(), 0);
}

/* ---- threads ---- */

typedef struct {
    pthread_barrier_t *bar;
    size_t cached_after_fill, cached_after_flush;
} worker_arg;

static void *worker(void *v) {
    worker_arg *w = v;
    for (int i = 1; i < 20; i++) nb_tensor_release(vec(i * 100));
    w->cached_after_fill = nb_buffer_cache_bytes();
    pthread_barrier_wait(w->bar);   /* main: nb_free_buffers() */
    pthread_barrier_wait(w->bar);
    nb_tensor_release(vec(5));      /* the next allocation sees the generation change */
    w->cached_after_flush = nb_buffer_cache_bytes();
    return NULL;
}

/* Each thread fills its own cache; another thread's nb_free_buffers()
   empties it at its next use; its exit frees what it keeps (no leak). */
static void each_thread_has_its_own_cache(void **s) {
    (void)s;
    reset();
    const size_t main_before = nb_buffer_cache_bytes();
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    worker_arg w = {.bar = &bar};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, worker, &w), 0);
    pthread_barrier_wait(&bar);
    assert_int_equal(nb_buffer_cache_bytes(), main_before);   /* the worker's blocks are not ours */
    nb_free_buffers();
    pthread_barrier_wait(&bar);
    pthread_join(th, NULL);
    pthread_barrier_destroy(&bar);
    assert_true(w.cached_after_fill > 19 * 100 * 4);
    assert_true(w.cached_after_flush < 2 * 1024);   /* only the last small tensor */
    reset();
}

#if AF_AVAILABLE
static void *churn(void *v) {
    (void)v;
    for (int i = 1; i < 40; i++) {
        nb_tensor *a = vec(i), *b = nb_add(a, a);
        nb_tensor_release(a);
        nb_tensor_release(b);
    }
    for (int i = 1; i < 40; i++) {
        nb_tensor *a = vec(i * 13), *b = nb_neg(a);
        nb_tensor_release(a);
        nb_tensor_release(b);
    }
    return NULL;
}
#endif

/* A thread's exit frees its cache: allocations minus frees of nabla's own
   code come back to zero after join, without nb_free_buffers(). */
static void a_thread_exit_frees_its_cache(void **s) {
    (void)s;
#if AF_AVAILABLE
    reset();
    af_track_begin();
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, churn, NULL), 0);
    pthread_join(th, NULL);
    assert_int_equal(af_track_end(), 0);
#else
    skip();
#endif
}

/* ---- failure injection ---- */

/* Served from the cache, nb_empty needs no allocation; after
   nb_free_buffers() the same call reaches the allocator, and its failure
   is NB_ERR_OOM naming nb_empty, with no tensor left alive. */
static void a_miss_reaches_the_allocator_and_fails_cleanly(void **s) {
    (void)s;
    if (!AF_AVAILABLE) { skip(); return; }
    reset();
    nb_tensor_release(vec(777));
    const int64_t live = nb_tensor_live_count();
    af_arm(0);   /* every allocation of nabla's own code fails */
    nb_tensor *hit = vec(777);
    af_disarm();
    assert_non_null(hit);
    nb_tensor_release(hit);
    for (long k = 1; k <= 2; k++) {   /* the tensor object, then the storage block */
        nb_free_buffers();
        af_track_begin();
        af_arm(k);
        nb_tensor *miss = vec(777);
        af_disarm();
        assert_null(miss);
        assert_int_equal(nb_last_status(), NB_ERR_OOM);
        assert_non_null(strstr(nb_last_error(), "nb_empty"));
        nb_free_buffers();
        assert_int_equal(af_track_end(), 0);
        assert_int_equal(nb_tensor_live_count(), live);
    }
    reset();
}

/* Steady state: the second round of a training-like step makes fewer
   allocations than the first (its tensors come from the cache). */
static void a_repeated_step_allocates_less(void **s) {
    (void)s;
    if (!AF_AVAILABLE) { skip(); return; }
    reset();
    nb_set_num_threads(1);
    nb_tensor *x = nb_full(2, (int64_t[]){16, 16}, NB_FLOAT32, 0.5);
    nb_tensor *w = nb_full(2, (int64_t[]){16, 16}, NB_FLOAT32, 0.25);
    assert_int_equal(nb_tensor_requires_grad_(w, true), NB_OK);
    long made[2];
    for (int round = 0; round < 2; round++) {
        af_arm(LONG_MAX);   /* counts, never fails */
        nb_tensor *y = nb_matmul(w, x), *r = y ? nb_relu(y) : NULL, *l = r ? nb_sum(r, 0, NULL, false) : NULL;
        nb_status st = l ? nb_backward(l, NULL, false) : NB_ERR_OOM;
        nb_tensor_release(l);
        nb_tensor_release(r);
        nb_tensor_release(y);
        made[round] = af_disarm();
        assert_int_equal(st, NB_OK);
    }
    assert_true(made[1] < made[0]);
    nb_tensor_release(x);
    nb_tensor_release(w);
    nb_set_num_threads(0);
    reset();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_released_block_is_reused_by_the_same_size_class),
        cmocka_unit_test(data_stays_64_byte_aligned),
        cmocka_unit_test(the_cap_bounds_the_cached_bytes),
        cmocka_unit_test(free_buffers_empties_the_cache),
        cmocka_unit_test(each_thread_has_its_own_cache),
        cmocka_unit_test(a_thread_exit_frees_its_cache),
        cmocka_unit_test(a_miss_reaches_the_allocator_and_fails_cleanly),
        cmocka_unit_test(a_repeated_step_allocates_less),
    };
    return nbt_run(tests);
}
