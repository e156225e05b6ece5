/* `nabla selftest`: the differential check on the user's own CPU.
 *
 * Runs a battery of random problems of every float32 family through the
 * public API with shadow mode on (each call re-run on the reference backend
 * and compared against the family's error bound, src/check.c), then prints
 * one line per family. Exit status 0 when every call is within its bound. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nabla/nabla.h>

#include "check.h"
#include "selftest.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static int64_t rnd(int64_t lo, int64_t hi) {
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    return lo + (int64_t)((rng * 0x2545F4914F6CDD1DULL) % (uint64_t)(hi - lo + 1));
}
static float *rand_buf(int64_t n) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    if (p) for (int64_t i = 0; i < n; i++) p[i] = (float)rnd(-1000000, 1000000) * 1e-6f;
    return p;
}

static void gemms(int rounds) {
    for (int r = 0; r < rounds; r++) {
        const int64_t M = rnd(1, 300), N = rnd(1, 300), K = rnd(1, 400);
        const int ta = (int)rnd(0, 1), tb = (int)rnd(0, 1);
        const int64_t lda = (ta ? M : K) + rnd(0, 3), ldb = (tb ? K : N) + rnd(0, 3), ldc = N + rnd(0, 3);
        float *A = rand_buf((ta ? K : M) * lda), *B = rand_buf((tb ? N : K) * ldb), *C = rand_buf(M * ldc);
        if (A && B && C) nb_sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, r & 1 ? 0.5f : 0.0f, C, ldc);
        free(A); free(B); free(C);
    }
}

static void convs(int rounds) {
    for (int r = 0; r < rounds; r++) {
        nb_conv2d_desc d = {.n = rnd(1, 2), .c = rnd(1, 16), .h = rnd(5, 20), .w = rnd(5, 20),
                            .k = rnd(1, 16), .r = rnd(1, 3) * 2 - 1, .s = 0, .stride_h = rnd(1, 2),
                            .stride_w = 1, .pad_h = rnd(0, 2), .pad_w = 1, .dilation_h = 1,
                            .dilation_w = rnd(1, 2), .groups = 1};
        d.s = d.r;
        int64_t p, q;
        if (nb_conv2d_out_shape(&d, &p, &q) != NB_OK) continue;
        const int64_t xn = d.n * d.c * d.h * d.w, wn = d.k * d.c * d.r * d.s, yn = d.n * d.k * p * q;
        float *x = rand_buf(xn), *w = rand_buf(wn), *b = rand_buf(d.k), *y = rand_buf(yn);
        if (x && w && b && y) {
            nb_sconv2d_forward(&d, x, w, b, y);
            nb_sconv2d_backward_data(&d, y, w, x);
            nb_sconv2d_backward_filter(&d, x, y, w, b);
        }
        free(x); free(w); free(b); free(y);
    }
}

/* 3x3 stride-1 layers with Winograd forced (all three passes) (NABLA_CONV_ALGO, read by the
   library on every call; the caller's setting is put back): shadow mode
   checks them against Winograd's own bound (src/check_wino.c). */
static void winograd_convs(int rounds) {
    const char *prev = getenv("NABLA_CONV_ALGO");
    char *saved = prev ? strdup(prev) : NULL;
    setenv("NABLA_CONV_ALGO", "winograd", 1);
    for (int r = 0; r < rounds; r++) {
        const int64_t pad = rnd(0, 3);
        nb_conv2d_desc d = {.n = rnd(1, 2), .c = rnd(1, 40), .h = rnd(1, 20), .w = rnd(1, 20),
                            .k = rnd(1, 40), .r = 3, .s = 3, .stride_h = 1, .stride_w = 1,
                            .pad_h = pad, .pad_w = pad, .dilation_h = 1, .dilation_w = 1,
                            .groups = 1};
        int64_t p, q;
        if (nb_conv2d_out_shape(&d, &p, &q) != NB_OK) continue;
        const int64_t xn = d.n * d.c * d.h * d.w, wn = d.k * d.c * 9, yn = d.n * d.k * p * q;
        float *x = rand_buf(xn), *w = rand_buf(wn), *b = rand_buf(d.k), *y = rand_buf(yn);
        if (x && w && b && y) {
            nb_sconv2d_forward(&d, x, w, b, y);
            nb_sconv2d_backward_data(&d, y, w, x);
            nb_sconv2d_backward_filter(&d, x, y, w, b);   /* F(3x3, 4x4), any padding */
        }
        free(x); free(w); free(b); free(y);
    }
    if (saved) setenv("NABLA_CONV_ALGO", saved, 1);
    else unsetenv("NABLA_CONV_ALGO");
    free(saved);
}

static void reductions_and_copies(int rounds) {
    for (int r = 0; r < rounds; r++) {
        const int ndim = (int)rnd(1, 4);
        int64_t shape[4], xs[4], ys[4], n = 1;
        for (int i = ndim - 1; i >= 0; i--) { shape[i] = rnd(1, 40); xs[i] = n; n *= shape[i]; }
        const uint64_t mask = (uint64_t)rnd(1, (1 << ndim) - 1);
        int64_t ny = 1;
        for (int i = ndim - 1; i >= 0; i--) { ys[i] = ny; ny *= ((mask >> i) & 1) ? 1 : shape[i]; }
        float *x = rand_buf(n), *y = rand_buf(ny), *t = rand_buf(n);
        if (x && y && t) {
            nb_sreduce((nb_reduce_op)rnd(0, 3), ndim, shape, x, xs, mask, y, ys);
            /* a reversed-order copy (permutation of the strides) */
            int64_t ps[4], pd[4], pshape[4];
            for (int i = 0; i < ndim; i++) { pshape[i] = shape[ndim - 1 - i]; ps[i] = xs[ndim - 1 - i]; }
            for (int i = ndim - 1, s = 1; i >= 0; i--) { pd[i] = s; s *= (int)pshape[i]; }
            nb_copy_strided(sizeof(float), ndim, pshape, x, ps, t, pd);
        }
        free(x); free(y); free(t);
    }
}

static void elementwise(int rounds) {
    for (int r = 0; r < rounds; r++) {
        const int64_t n = rnd(0, 5000), cols = rnd(1, 300), rows = rnd(1, 20);
        float *x = rand_buf(n > rows * cols ? n : rows * cols), *y = rand_buf(n > rows * cols ? n : rows * cols);
        if (x && y) {
            for (int64_t i = 0; i < n; i++) x[i] *= 10.0f;
            nb_sunary((nb_unary_op)rnd(0, 5), n, x, y);
            nb_ssoftmax((int)rnd(0, 1), rows, cols, x, cols, y, cols);
        }
        free(x); free(y);
    }
}

int nb_tool_selftest(int rounds) {
    printf("nabla selftest: isa %s, %d threads, %d rounds per family\n",
           nb_isa_name(nb_isa_active()), nb_get_num_threads(), rounds);
    if (nb_isa_active() == NB_ISA_REF) {
        printf("the active ISA is the reference itself: nothing to compare\n");
        return 0;
    }
    gemms(rounds);
    convs(rounds);
    winograd_convs(rounds);
    reductions_and_copies(rounds);
    elementwise(rounds);
    static const char *names[NB_CHECK_SLOTS] = {"sgemm", "conv2d forward", "conv2d backward data",
                                                "conv2d backward filter", "reduce", "copy",
                                                "unary", "softmax"};
    long bad = 0;
    for (int s = 0; s < NB_CHECK_SLOTS; s++) {
        long calls, violations;
        double worst;
        nb_check_stats((nb_check_slot)s, &calls, &violations, &worst);
        printf("  %-24s %4ld calls, %ld outside the bound, worst error %.3g x bound\n",
               names[s], calls, violations, worst);
        bad += violations;
    }
    printf("%s\n", bad ? "FAILED: the SIMD path disagrees with the reference" : "ok");
    return bad ? 1 : 0;
}
