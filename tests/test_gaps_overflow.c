/* Byte-size overflow at every public entry point that takes sizes or
 * strides (issue 16, row 2): an operand whose element count or element
 * span fits int64 while its size in bytes (times 4 or 8, or elem_size)
 * does not is NB_ERR_OVERFLOW, with a message naming the function and the
 * operand, and nothing written. Without the check, the library would go on
 * to address that operand (nb_sgemm with lda = 2^61 segfaulted).
 *
 * Each refusal sits right at the edge: the span one below it, whose bytes
 * fit, is not refused as an overflow (a later check, an overlap, answers
 * instead, so nothing runs), which pins down that float functions count 4
 * bytes and double functions 8, not one size for both.
 *
 * The tensor layer's constructors, which size a buffer from a shape, get
 * the same treatment.
 */
#include <string.h>

#include "harness.h"
#include "tensor_util.h"

#define M64 INT64_MAX

static float Fa[64], Fb[64], Fc[64], F0[64];
static double Da[64], Db[64], Dc[64], D0[64];

static void reset(void) {
    for (int i = 0; i < 64; i++) {
        Fa[i] = Fb[i] = 1.0f; Da[i] = Db[i] = 1.0;
        Fc[i] = F0[i] = (float)i; Dc[i] = D0[i] = (double)i;
    }
}

static int64_t cases;

/* got == want, and the message names fn and each of the (up to two) words. */
static void expect(nb_status got, nb_status want, const char *fn, const char *w1, const char *w2) {
    cases++;
    const char *e = nb_last_error();
    if (got != want)
        fail_msg("%s: status %d (%s), want %d (%s); last error: %s", fn, (int)got,
                 nb_status_str(got), (int)want, nb_status_str(want), e);
    if (!strstr(e, fn) || (w1 && !strstr(e, w1)) || (w2 && !strstr(e, w2)))
        fail_msg("message \"%s\" does not name %s / \"%s\" / \"%s\"", e, fn, w1 ? w1 : "",
                 w2 ? w2 : "");
}

static void untouched(void) {
    assert_memory_equal(Fc, F0, sizeof Fc);
    assert_memory_equal(Dc, D0, sizeof Dc);
}

/* ---- GEMM ---- */

/* One stored operand (A, B or C, transposed or not) is 2 x 1 with leading
   dimension L (span L + 1 elements); the others are 1 x 1. With alias set,
   C is passed as the big operand's pointer (or A as C's). */
static nb_status gemm(int dbl, char which, int trans, int64_t L, int alias) {
    int64_t M = 1, N = 1, K = 1;
    int ta = 0, tb = 0;
    if (which == 'A') { ta = trans; if (trans) K = 2; else M = 2; }
    if (which == 'B') { tb = trans; if (trans) N = 2; else K = 2; }
    if (which == 'C') M = 2;
    /* Row lengths of the stored operands; the big one gets L. */
    int64_t lda = ta ? M : K, ldb = tb ? K : N, ldc = N;
    if (which == 'A') lda = L;
    if (which == 'B') ldb = L;
    if (which == 'C') ldc = L;
    if (dbl) {
        const double *a = which == 'C' && alias ? Dc : Da;
        double *c = alias && which != 'C' ? (which == 'A' ? Da : Db) : Dc;
        return nb_dgemm(ta, tb, M, N, K, 1.0, a, lda, Db, ldb, 0.0, c, ldc);
    }
    const float *a = which == 'C' && alias ? Fc : Fa;
    float *c = alias && which != 'C' ? (which == 'A' ? Fa : Fb) : Fc;
    return nb_sgemm(ta, tb, M, N, K, 1.0f, a, lda, Fb, ldb, 0.0f, c, ldc);
}

/* The issue's input: the element span 2^61 + 1 fits, its bytes do not. */
static void issue16_sgemm_with_lda_2_61_is_an_overflow(void **state) {
    (void)state; reset();
    expect(nb_sgemm(0, 0, 2, 1, 1, 1.0f, Fa, (int64_t)1 << 61, Fb, 1, 0.0f, Fc, 1),
           NB_ERR_OVERFLOW, "nb_sgemm", "A", "lda");
    untouched();
}

static void gemm_operand_bytes_overflow_for_each_operand_and_transpose(void **state) {
    (void)state;
    static const struct { char which; int trans; const char *ld; } ops[] = {
        {'A', 0, "lda"}, {'A', 1, "lda"}, {'B', 0, "ldb"}, {'B', 1, "ldb"}, {'C', 0, "ldc"}};
    cases = 0;
    for (int dbl = 0; dbl < 2; dbl++)
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
            const int64_t es = dbl ? 8 : 4, edge = M64 / es;   /* span edge + 1: bytes overflow */
            const char *fn = dbl ? "nb_dgemm" : "nb_sgemm";
            const char name[2] = {ops[i].which, 0};
            reset();
            expect(gemm(dbl, ops[i].which, ops[i].trans, edge, 0), NB_ERR_OVERFLOW, fn, name, ops[i].ld);
            expect(gemm(dbl, ops[i].which, ops[i].trans, M64 - 1, 0), NB_ERR_OVERFLOW, fn, name, ops[i].ld);
            untouched();
            /* span = edge: the bytes fit; the overlap check answers. */
            expect(gemm(dbl, ops[i].which, ops[i].trans, edge - 1, 1), NB_ERR_ALIAS, fn, "overlaps", NULL);
            untouched();
        }
    /* One row of 2^61 floats (2^60 doubles): the element count is the span. */
    reset();
    const int64_t k = (int64_t)1 << 61, kd = (int64_t)1 << 60;
    expect(nb_sgemm(0, 0, 1, 1, k, 1.0f, Fa, k, Fb, 1, 0.0f, Fc, 1), NB_ERR_OVERFLOW, "nb_sgemm", "A", NULL);
    expect(nb_dgemm(0, 0, 1, 1, kd, 1.0, Da, kd, Db, 1, 0.0, Dc, 1), NB_ERR_OVERFLOW, "nb_dgemm", "A", NULL);
    expect(nb_sgemm(0, 0, 1, k, 1, 1.0f, Fa, 1, Fb, k, 0.0f, Fc, k), NB_ERR_OVERFLOW, "nb_sgemm", "B", NULL);
    untouched();
    print_message("# %lld cases\n", (long long)cases);
}

/* ---- elementwise and softmax ---- */

static void unary_bytes_overflow_at_the_edge(void **state) {
    (void)state; reset();
    cases = 0;
    const int64_t edge = M64 / 4;   /* 2^61 - 1 floats fit in bytes, 2^61 do not */
    for (int op = NB_UNARY_EXP; op <= NB_UNARY_RELU; op++)
        expect(nb_sunary((nb_unary_op)op, edge + 1, Fa, Fc), NB_ERR_OVERFLOW, "nb_sunary", "n", "bytes");
    untouched();
    expect(nb_sunary(NB_UNARY_EXP, edge, Fc, Fc + 1), NB_ERR_ALIAS, "nb_sunary", "overlaps", NULL);
    untouched();
    print_message("# %lld cases\n", (long long)cases);
}

static void softmax_bytes_overflow_for_x_and_y(void **state) {
    (void)state; reset();
    cases = 0;
    const int64_t edge = M64 / 4;
    for (int log = 0; log < 2; log++) {
        /* 2 rows of 1 with ld = edge: span edge + 1. */
        expect(nb_ssoftmax(log, 2, 1, Fa, edge, Fc, 1), NB_ERR_OVERFLOW, "nb_ssoftmax", "x", "ldx");
        expect(nb_ssoftmax(log, 2, 1, Fa, 1, Fc, edge), NB_ERR_OVERFLOW, "nb_ssoftmax", "y", "ldy");
        /* 1 row of 2^61. */
        expect(nb_ssoftmax(log, 1, edge + 1, Fa, edge + 1, Fc, edge + 1), NB_ERR_OVERFLOW,
               "nb_ssoftmax", "x", NULL);
        untouched();
        /* One below: the bytes fit; y over x with another ld is refused. */
        expect(nb_ssoftmax(log, 2, 1, Fc, edge - 1, Fc, 1), NB_ERR_ALIAS, "nb_ssoftmax", "overlaps", NULL);
        expect(nb_ssoftmax(log, 2, 1, Fc, 1, Fc, edge - 1), NB_ERR_ALIAS, "nb_ssoftmax", "overlaps", NULL);
        untouched();
    }
    print_message("# %lld cases\n", (long long)cases);
}

/* ---- reductions ---- */

static nb_status reduce(int dbl, int ndim, const int64_t *shape, const int64_t *xs, uint64_t mask,
                        const int64_t *ys, int y_on_x) {
    if (dbl) return nb_dreduce(NB_REDUCE_SUM, ndim, shape, y_on_x ? Dc : Da, xs, mask, Dc, ys);
    return nb_sreduce(NB_REDUCE_SUM, ndim, shape, y_on_x ? Fc : Fa, xs, mask, Fc, ys);
}

/* x and y spans that overflow in bytes only: through a positive stride, a
   negative one (the lowest byte offset fits, the span does not) and one of
   each (both end offsets fit, the span between them does not). */
static void reduce_bytes_overflow_for_x_and_y_with_any_stride_signs(void **state) {
    (void)state;
    cases = 0;
    for (int dbl = 0; dbl < 2; dbl++) {
        const int64_t es = dbl ? 8 : 4, edge = M64 / es, half = (edge + 1) / 2;
        const char *fn = dbl ? "nb_dreduce" : "nb_sreduce";
        const int64_t two[1] = {2}, sh2[2] = {2, 2}, sh23[2] = {2, 3};
        const int64_t pos[1] = {edge}, neg[1] = {-edge}, mixed[2] = {-half, half};
        const int64_t ys1[1] = {1}, ys2[2] = {1, 1}, ypos[2] = {edge, 0}, yneg[2] = {-edge, 0};
        const int64_t x23[2] = {3, 1};
        reset();
        expect(reduce(dbl, 1, two, pos, 1, ys1, 0), NB_ERR_OVERFLOW, fn, "extent of x", NULL);
        expect(reduce(dbl, 1, two, neg, 1, ys1, 0), NB_ERR_OVERFLOW, fn, "extent of x", NULL);
        expect(reduce(dbl, 2, sh2, mixed, 3, ys2, 0), NB_ERR_OVERFLOW, fn, "extent of x", NULL);
        expect(reduce(dbl, 2, sh23, x23, 2, ypos, 0), NB_ERR_OVERFLOW, fn, "extent of y", NULL);
        expect(reduce(dbl, 2, sh23, x23, 2, yneg, 0), NB_ERR_OVERFLOW, fn, "extent of y", NULL);
        /* y over kept dims {2, 2} with strides -half and +half. */
        const int64_t sh22[3] = {2, 2, 3}, x22[3] = {6, 3, 1}, ymix3[3] = {-half, half, 0};
        expect(reduce(dbl, 3, sh22, x22, 4, ymix3, 0), NB_ERR_OVERFLOW, fn, "extent of y", NULL);
        untouched();
        /* One below: the bytes fit; y at x's address is an overlap. */
        const int64_t fit[1] = {edge - 1};
        expect(reduce(dbl, 1, two, fit, 1, ys1, 1), NB_ERR_ALIAS, fn, "overlaps", NULL);
        untouched();
    }
    print_message("# %lld cases\n", (long long)cases);
}

/* ---- strided copies ---- */

static void copy_bytes_overflow_for_every_element_size(void **state) {
    (void)state;
    static const size_t sizes[] = {2, 3, 4, 8, 12, 16, 1000, (size_t)1 << 40};
    static char src[64], dst[64], dst0[64];
    cases = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const int64_t es = (int64_t)sizes[i], edge = M64 / es, half = (edge + 1) / 2;
        const int64_t two[1] = {2}, sh2[2] = {2, 2}, unit[1] = {1}, unit2[2] = {2, 1};
        const int64_t pos[1] = {edge}, neg[1] = {-edge}, mixed[2] = {-half, half};
        memset(dst, 7, sizeof dst);
        memcpy(dst0, dst, sizeof dst);
        expect(nb_copy_strided(sizes[i], 1, two, src, pos, dst, unit), NB_ERR_OVERFLOW,
               "nb_copy_strided", "extent of src", NULL);
        expect(nb_copy_strided(sizes[i], 1, two, src, neg, dst, unit), NB_ERR_OVERFLOW,
               "nb_copy_strided", "extent of src", NULL);
        expect(nb_copy_strided(sizes[i], 2, sh2, src, mixed, dst, unit2), NB_ERR_OVERFLOW,
               "nb_copy_strided", "extent of src", NULL);
        expect(nb_copy_strided(sizes[i], 1, two, src, unit, dst, pos), NB_ERR_OVERFLOW,
               "nb_copy_strided", "extent of dst", NULL);
        expect(nb_copy_strided(sizes[i], 1, two, src, unit, dst, neg), NB_ERR_OVERFLOW,
               "nb_copy_strided", "extent of dst", NULL);
        expect(nb_copy_strided(sizes[i], 2, sh2, src, unit2, dst, mixed), NB_ERR_OVERFLOW,
               "nb_copy_strided", "extent of dst", NULL);
        assert_memory_equal(dst, dst0, sizeof dst);
        /* One below: the bytes fit; same start address, other strides. */
        const int64_t fit[1] = {edge - 1};
        expect(nb_copy_strided(sizes[i], 1, two, dst, fit, dst, unit), NB_ERR_ALIAS,
               "nb_copy_strided", "overlaps", NULL);
        assert_memory_equal(dst, dst0, sizeof dst);
    }
    /* Two dense elements of 2^62 bytes; an elem_size beyond int64. */
    const int64_t two[1] = {2}, unit[1] = {1};
    expect(nb_copy_strided((size_t)1 << 62, 1, two, src, unit, dst, unit), NB_ERR_OVERFLOW,
           "nb_copy_strided", "extent of src", NULL);
    expect(nb_copy_strided((size_t)M64 + 1, 1, two, src, unit, dst, unit), NB_ERR_OVERFLOW,
           "nb_copy_strided", "elem_size", NULL);
    /* elem_size 1: a byte span of 2^63 (offsets -(2^63 - 1) .. 0). */
    const int64_t neg1[1] = {-M64};
    expect(nb_copy_strided(1, 1, two, src, neg1, dst, unit), NB_ERR_OVERFLOW,
           "nb_copy_strided", "extent of src", NULL);
    print_message("# %lld cases\n", (long long)cases);
}

/* ---- convolution ---- */

static void conv_all(const nb_conv2d_desc *d, int dbl, nb_status want, const char *t1,
                     const char *t2) {
    reset();
    if (dbl) {
        expect(nb_dconv2d_forward(d, Da, Db, NULL, Dc), want, "nb_dconv2d_forward", t1, t2);
        expect(nb_dconv2d_backward_data(d, Da, Db, Dc), want, "nb_dconv2d_backward_data", t1, t2);
        expect(nb_dconv2d_backward_filter(d, Da, Db, Dc, NULL), want, "nb_dconv2d_backward_filter", t1, t2);
    } else {
        expect(nb_sconv2d_forward(d, Fa, Fb, NULL, Fc), want, "nb_sconv2d_forward", t1, t2);
        expect(nb_sconv2d_backward_data(d, Fa, Fb, Fc), want, "nb_sconv2d_backward_data", t1, t2);
        expect(nb_sconv2d_backward_filter(d, Fa, Fb, Fc, NULL), want, "nb_sconv2d_backward_filter", t1, t2);
    }
    untouched();
}

/* x, w or y alone holds 2^61 floats (2^60 doubles): the element count fits,
   the bytes do not. nb_conv2d_out_shape counts elements, so it accepts
   them. The double-sized descs are fine in float (the overlap check of
   the output answers). */
static void conv_bytes_overflow_for_each_tensor(void **state) {
    (void)state;
    cases = 0;
    for (int dbl = 0; dbl < 2; dbl++) {
        const int64_t e = dbl ? 30 : 31;   /* 2^30 x 2^e elements */
        const int64_t big = (int64_t)1 << e, g30 = (int64_t)1 << 30, g29 = (int64_t)1 << 29;
        /* x: 1 x 1 x 2^30 x 2^e, 1x1 filter, stride 2^20: y is small. */
        nb_conv2d_desc dx = {1, 1, g30, big, 1, 1, 1, (int64_t)1 << 20, (int64_t)1 << 20, 0, 0, 1, 1, 1};
        /* w: a 2^30 x 2^e filter over a 1x1 input padded to just fit it twice. */
        nb_conv2d_desc dw = {1, 1, 1, 1, 1, g30, big, 1, 1, g29, big / 2, 1, 1, 1};
        /* y: 1x1 input and filter, padding makes P x Q = (2^30 + 1)(2^e + 1). */
        nb_conv2d_desc dy = {1, 1, 1, 1, 1, 1, 1, 1, 1, g29, big / 2, 1, 1, 1};
        conv_all(&dx, dbl, NB_ERR_OVERFLOW, "x:", "bytes");
        conv_all(&dw, dbl, NB_ERR_OVERFLOW, "w:", "bytes");
        conv_all(&dy, dbl, NB_ERR_OVERFLOW, "y:", "bytes");
        int64_t p, q;
        assert_int_equal(nb_conv2d_out_shape(&dw, &p, &q), NB_OK);
        assert_true(p == 2 && q == 2);
        assert_int_equal(nb_conv2d_out_shape(&dy, &p, &q), NB_OK);
        assert_true(p == g30 + 1 && q == big + 1);
        if (dbl) {
            /* 2^60 elements are 2^62 bytes in float: not an overflow. */
            reset();
            expect(nb_sconv2d_forward(&dx, Fc, Fb, NULL, Fc), NB_ERR_ALIAS, "nb_sconv2d_forward",
                   "y overlaps x", NULL);
            expect(nb_sconv2d_backward_filter(&dw, Fa, Fb, Fc, Fc), NB_ERR_ALIAS,
                   "nb_sconv2d_backward_filter", "overlaps", NULL);
            expect(nb_sconv2d_backward_data(&dy, Fc, Fb, Fc), NB_ERR_ALIAS,
                   "nb_sconv2d_backward_data", "dx overlaps dy", NULL);
            untouched();
        }
    }
    print_message("# %lld cases\n", (long long)cases);
}

/* ---- tensor constructors ---- */

static void tensor_constructors_refuse_shapes_whose_bytes_overflow(void **state) {
    (void)state;
    cases = 0;
    const int64_t f[1] = {(int64_t)1 << 61}, d[1] = {(int64_t)1 << 60};
    const int64_t f2[2] = {(int64_t)1 << 31, (int64_t)1 << 30}, two[1] = {2};
    float one = 1.0f;
    struct { const int64_t *shape; int ndim; nb_dtype dt; } shapes[] = {
        {f, 1, NB_FLOAT32}, {f2, 2, NB_FLOAT32}, {d, 1, NB_FLOAT64}, {d, 1, NB_INT64}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int n = shapes[i].ndim;
        const int64_t *s = shapes[i].shape;
        const nb_dtype dt = shapes[i].dt;
#define REFUSED(call, fn)                                                                  \
    do {                                                                                   \
        assert_null(call);                                                                 \
        expect(nb_last_status(), NB_ERR_OVERFLOW, fn, NULL, NULL);                         \
    } while (0)
        REFUSED(nb_empty(n, s, dt), "nb_empty");
        REFUSED(nb_zeros(n, s, dt), "nb_zeros");
        REFUSED(nb_ones(n, s, dt), "nb_ones");
        REFUSED(nb_full(n, s, dt, 2.0), "nb_full");
        REFUSED(nb_tensor_new(&one, dt, n, s), "nb_tensor_new");
        if (dt != NB_INT64) {
            REFUSED(nb_rand(n, s, dt, NULL), "nb_rand");
            REFUSED(nb_randn(n, s, dt, NULL), "nb_randn");
        }
    }
    /* Wrapping a buffer through strides whose byte extent overflows. */
    const int64_t st[1] = {(int64_t)1 << 61};
    REFUSED(nb_tensor_wrap(&one, NB_FLOAT32, 1, two, st, NULL, NULL), "nb_tensor_wrap");
    /* Repeating one element 2^61 times. */
    nb_tensor *x = nb_tensor_new(&one, NB_FLOAT32, 1, SHAPE(1));
    assert_non_null(x);
    REFUSED(nb_repeat(x, 1, f), "nb_repeat");
    nb_tensor_release(x);
#undef REFUSED
    print_message("# %lld cases\n", (long long)cases);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(issue16_sgemm_with_lda_2_61_is_an_overflow),
        cmocka_unit_test(gemm_operand_bytes_overflow_for_each_operand_and_transpose),
        cmocka_unit_test(unary_bytes_overflow_at_the_edge),
        cmocka_unit_test(softmax_bytes_overflow_for_x_and_y),
        cmocka_unit_test(reduce_bytes_overflow_for_x_and_y_with_any_stride_signs),
        cmocka_unit_test(copy_bytes_overflow_for_every_element_size),
        cmocka_unit_test(conv_bytes_overflow_for_each_tensor),
        cmocka_unit_test(tensor_constructors_refuse_shapes_whose_bytes_overflow),
    };
    return nbt_run(tests);
}
