/* fork() after nabla's threads have run: the child must not hang on its
 * first parallel call (an OpenMP runtime's worker threads do not survive
 * fork). nabla's pthread_atfork child handler makes the child run on one
 * thread, as PyTorch does for its data-loader workers. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

enum { N = 192 };   /* 192^3 multiply-adds: above every ISA's 2-thread threshold */

static float A[N * N], B[N * N], C[N * N], C_child[N * N], again[N * N];

static void gemm(float *c) {
    assert_int_equal(nb_sgemm(0, 0, N, N, N, 1.0f, A, N, B, N, 0.0f, c, N), NB_OK);
}

static void forked_child_runs_parallel_calls_on_one_thread(void **state) {
    (void)state;
    nbt_fill_int(A, N * N, 3);
    nbt_fill_int(B, N * N, 3);
    nb_set_num_threads(2);
    gemm(C);   /* the parent's OpenMP team now exists */
    gemm(C);
    fflush(NULL);
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* A hang ends in SIGALRM, which the parent sees. No cmocka here:
           the child reports through its exit status only. */
        alarm(30);
        int bad = nb_get_num_threads() != 1;
        if (nb_sgemm(0, 0, N, N, N, 1.0f, A, N, B, N, 0.0f, C_child, N) != NB_OK) bad |= 2;
        if (memcmp(C_child, C, sizeof C) != 0) bad |= 4;   /* integers: exact on any path */
        nb_set_num_threads(4);   /* still one thread: the runtime cannot start more */
        if (nb_get_num_threads() != 1) bad |= 8;
        if (nb_sgemm(0, 0, N, N, N, 1.0f, A, N, B, N, 0.0f, C_child, N) != NB_OK) bad |= 16;
        /* The other parallel drivers: a convolution (filter packing and
           task regions) and a reduction. */
        const nb_conv2d_desc d = {1, 16, 24, 24, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1};
        if (nb_sconv2d_forward(&d, A, B, NULL, C_child) != NB_OK) bad |= 32;
        const int64_t shape[1] = {N * N}, xs[1] = {1}, ys[1] = {0};
        if (nb_sreduce(NB_REDUCE_SUM, 1, shape, A, xs, 1, C_child, ys) != NB_OK) bad |= 64;
        _exit(bad);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) fail_msg("the child died of signal %d (SIGALRM: it hung)", WTERMSIG(status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* The parent keeps its threads. */
    assert_int_equal(nb_get_num_threads(), 2);
    assert_int_equal(nb_sgemm(0, 0, N, N, N, 1.0f, A, N, B, N, 0.0f, again, N), NB_OK);
    assert_memory_equal(again, C, sizeof C);
    nb_set_num_threads(0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forked_child_runs_parallel_calls_on_one_thread),
    };
    return nbt_run(tests);
}
