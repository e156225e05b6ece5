/* An engine's view of nabla: compiled OUTSIDE the source tree, against the
 * installed headers and shared library only (pkg-config --cflags --libs
 * nabla, or meson's dependency('nabla')), calling every ABI entry point once
 * with a small problem whose answer is known by construction. Exit 0 = OK. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <nabla/nabla.h>

static int failures;
#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "consumer: %s:%d: %s (last error: %s)\n",          \
                    __FILE__, __LINE__, #cond, nb_last_error());               \
            failures++;                                                        \
        }                                                                      \
    } while (0)

int main(void) {
    printf("nabla %s (%d.%d.%d), isa %s, %d threads\n", nb_version(), NB_VERSION_MAJOR,
           NB_VERSION_MINOR, NB_VERSION_PATCH, nb_isa_name(nb_isa_active()), nb_get_num_threads());
    CHECK(strcmp(nb_version(), NB_VERSION_STRING) == 0);
    CHECK(nb_isa_supported(NB_ISA_REF));
    CHECK(nb_isa_set(NB_ISA_REF) == NB_OK);
    CHECK(nb_isa_set(nb_isa_supported(NB_ISA_AVX2) ? NB_ISA_AVX2 :
                     nb_isa_supported(NB_ISA_NEON) ? NB_ISA_NEON : NB_ISA_REF) == NB_OK);
    (void)nb_cpu_features();
    nb_set_num_threads(1);
    CHECK(nb_get_num_threads() == 1);
    nb_set_num_threads(0);
    CHECK(strlen(nb_status_str(NB_ERR_SHAPE)) > 0);

    /* GEMM: [1 2; 3 4] * I = itself; dgemm the same. */
    float A[4] = {1, 2, 3, 4}, I[4] = {1, 0, 0, 1}, C[4];
    CHECK(nb_sgemm(0, 0, 2, 2, 2, 1.0f, A, 2, I, 2, 0.0f, C, 2) == NB_OK);
    CHECK(C[0] == 1 && C[1] == 2 && C[2] == 3 && C[3] == 4);
    double dA[4] = {1, 2, 3, 4}, dI[4] = {1, 0, 0, 1}, dC[4];
    CHECK(nb_dgemm(1, 0, 2, 2, 2, 1.0, dA, 2, dI, 2, 0.0, dC, 2) == NB_OK);
    CHECK(dC[0] == 1 && dC[1] == 3 && dC[2] == 2 && dC[3] == 4);
    /* An error names the function. */
    CHECK(nb_sgemm(0, 0, -1, 2, 2, 1.0f, A, 2, I, 2, 0.0f, C, 2) == NB_ERR_ARG);
    CHECK(strstr(nb_last_error(), "nb_sgemm") != NULL);

    /* Convolution: 1x1 kernel of weight 2 on a 1x1x2x2 image, bias 1. */
    nb_conv2d_desc d = {.n = 1, .c = 1, .h = 2, .w = 2, .k = 1, .r = 1, .s = 1,
                        .stride_h = 1, .stride_w = 1, .pad_h = 0, .pad_w = 0,
                        .dilation_h = 1, .dilation_w = 1, .groups = 1};
    int64_t p = 0, q = 0;
    CHECK(nb_conv2d_out_shape(&d, &p, &q) == NB_OK && p == 2 && q == 2);
    float x[4] = {1, 2, 3, 4}, w[1] = {2}, bias[1] = {1}, y[4], dx[4], dw[1], db[1];
    CHECK(nb_sconv2d_forward(&d, x, w, bias, y) == NB_OK);
    CHECK(y[0] == 3 && y[1] == 5 && y[2] == 7 && y[3] == 9);
    float dy[4] = {1, 1, 1, 1};
    CHECK(nb_sconv2d_backward_data(&d, dy, w, dx) == NB_OK);
    CHECK(dx[0] == 2 && dx[3] == 2);
    CHECK(nb_sconv2d_backward_filter(&d, x, dy, dw, db) == NB_OK);
    CHECK(dw[0] == 10 && db[0] == 4);

    /* Reductions over axis 1 of a 2x3 array. */
    int64_t shape[2] = {2, 3}, xs[2] = {3, 1}, ys[2] = {1, 1};
    float r[6] = {1, 2, 3, 4, 5, 6}, out[2];
    CHECK(nb_sreduce(NB_REDUCE_SUM, 2, shape, r, xs, 2u, out, ys) == NB_OK);
    CHECK(out[0] == 6 && out[1] == 15);
    CHECK(nb_sreduce(NB_REDUCE_MAX, 2, shape, r, xs, 2u, out, ys) == NB_OK);
    CHECK(out[0] == 3 && out[1] == 6);
    double rd[6] = {1, 2, 3, 4, 5, 6}, outd[2];
    CHECK(nb_dreduce(NB_REDUCE_MEAN, 2, shape, rd, xs, 2u, outd, ys) == NB_OK);
    CHECK(outd[0] == 2 && outd[1] == 5);

    /* Strided copy: a 2x3 transpose. */
    int64_t tshape[2] = {3, 2}, ss[2] = {1, 3}, ds[2] = {2, 1};
    float t[6];
    CHECK(nb_copy_strided(sizeof(float), 2, tshape, r, ss, t, ds) == NB_OK);
    CHECK(t[0] == 1 && t[1] == 4 && t[2] == 2 && t[5] == 6);

    /* Elementwise and softmax. */
    float e[2] = {0, 1}, ey[2];
    CHECK(nb_sunary(NB_UNARY_EXP, 2, e, ey) == NB_OK);
    CHECK(ey[0] == 1 && fabsf(ey[1] - 2.7182817f) < 1e-6f);
    float s[2] = {1, 1}, sy[2];
    CHECK(nb_ssoftmax(0, 1, 2, s, 2, sy, 2) == NB_OK);
    CHECK(sy[0] == 0.5f && sy[1] == 0.5f);

    if (failures) fprintf(stderr, "consumer: %d checks failed\n", failures);
    else printf("consumer: every ABI entry point answered correctly\n");
    return failures ? 1 : 0;
}
