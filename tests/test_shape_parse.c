/* The descriptors of `nabla bench` / `nabla diff` (tools/shape_parse.c):
 * what each good one means, and a one-line error naming the problem for
 * each malformed one. */
#include <string.h>

#include "harness.h"
#include "shape_parse.h"

#define GB (UINT64_C(1) << 30)

static char err[256];

/* Splits `line` ("FAMILY tok tok ...") and parses it with a 1 GiB limit. */
static int parse_line(const char *line, nbt_problem *p) {
    static char buf[512];
    char *tok[16];
    int n = 0;
    strcpy(buf, line);
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t && n < 16; t = strtok_r(NULL, " ", &save))
        tok[n++] = t;
    err[0] = 0;
    return nbt_parse(tok[0], n - 1, tok + 1, GB, 2, p, err, sizeof err);
}

static void expect_error(const char *line, const char *mentions) {
    nbt_problem p;
    assert_int_equal(parse_line(line, &p), -1);
    assert_non_null(strstr(err, mentions));
    assert_null(strchr(err, '\n'));
}

static void sgemm_shape_is_m_by_n_by_k(void **state) {
    (void)state;
    nbt_problem p;
    assert_int_equal(parse_line("sgemm 128x4096x1024 --trans-b", &p), 0);
    assert_int_equal(p.family, NBT_SGEMM);
    assert_int_equal(p.m, 128);
    assert_int_equal(p.n, 4096);
    assert_int_equal(p.k, 1024);
    assert_int_equal(p.trans_a, 0);
    assert_int_equal(p.trans_b, 1);
    assert_true(p.alpha == 1.0f && p.beta == 0.0f);
    assert_int_equal(parse_line("sgemm --trans-a 3x5x7 alpha=0.5 beta=2", &p), 0);
    assert_int_equal(p.trans_a, 1);
    assert_true(p.alpha == 0.5f && p.beta == 2.0f);
}

static void conv_descriptor_reads_every_key(void **state) {
    (void)state;
    nbt_problem p;
    assert_int_equal(parse_line("conv2d-fwd n8c128h28w30k64r3s5p1", &p), 0);
    const nb_conv2d_desc *d = &p.conv;
    assert_int_equal(d->n, 8); assert_int_equal(d->c, 128);
    assert_int_equal(d->h, 28); assert_int_equal(d->w, 30);
    assert_int_equal(d->k, 64); assert_int_equal(d->r, 3); assert_int_equal(d->s, 5);
    assert_int_equal(d->pad_h, 1); assert_int_equal(d->pad_w, 1);
    assert_int_equal(d->stride_h, 1); assert_int_equal(d->dilation_w, 1); assert_int_equal(d->groups, 1);
    assert_int_equal(parse_line("conv2d-bwd-data c64h56k64r3ph2pw0sth2stw3dl2g32", &p), 0);
    assert_int_equal(p.family, NBT_CONV_BWD_DATA);
    assert_int_equal(d->n, 1); assert_int_equal(d->w, 56); assert_int_equal(d->s, 3);
    assert_int_equal(d->pad_h, 2); assert_int_equal(d->pad_w, 0);
    assert_int_equal(d->stride_h, 2); assert_int_equal(d->stride_w, 3);
    assert_int_equal(d->dilation_h, 2); assert_int_equal(d->dilation_w, 2);
    assert_int_equal(d->groups, 32);
    assert_int_equal(parse_line("conv2d-bwd-filter n2c8h9k4r3st2", &p), 0);
    assert_int_equal(d->stride_h, 2); assert_int_equal(d->stride_w, 2);
}

static void reduce_copy_unary_softmax_read_their_operands(void **state) {
    (void)state;
    nbt_problem p;
    assert_int_equal(parse_line("reduce mean 4x5x6 axes=2,0", &p), 0);
    assert_int_equal(p.rop, NB_REDUCE_MEAN);
    assert_int_equal(p.ndim, 3);
    assert_int_equal(p.shape[1], 5);
    assert_int_equal(p.axes, 5);
    assert_int_equal(parse_line("copy permute 32x64x56x56 0,2,3,1", &p), 0);
    assert_int_equal(p.ndim, 4);
    assert_int_equal(p.perm[0], 0); assert_int_equal(p.perm[1], 2);
    assert_int_equal(p.perm[2], 3); assert_int_equal(p.perm[3], 1);
    assert_int_equal(parse_line("unary gelu 1048576", &p), 0);
    assert_int_equal(p.uop, NB_UNARY_GELU);
    assert_int_equal(p.count, 1048576);
    assert_int_equal(parse_line("softmax logsoftmax 1024x100", &p), 0);
    assert_int_equal(p.log, 1);
    assert_int_equal(p.rows, 1024);
    assert_int_equal(p.cols, 100);
}

/* nbt_format writes what nbt_parse reads back to the same problem. */
static void format_reads_back_to_the_same_problem(void **state) {
    (void)state;
    const char *lines[] = {"sgemm 3x5x7 --trans-a alpha=0.25 beta=-1", "conv2d-fwd n2c8h9w7k4r3s1ph1pw0st2dl2g2",
                           "reduce max 4x5x6 axes=1", "copy permute 2x3x4 2,0,1", "unary relu 17",
                           "softmax softmax 3x9"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        nbt_problem a, b;
        char text[256];
        assert_int_equal(parse_line(lines[i], &a), 0);
        nbt_format(&a, text, sizeof text);
        assert_int_equal(parse_line(text, &b), 0);
        assert_memory_equal(&a, &b, sizeof a);
    }
}

static void unknown_family_and_operations_are_named(void **state) {
    (void)state;
    expect_error("matmul 2x2x2", "unknown family 'matmul'");
    expect_error("reduce prod 4x4 axes=0", "unknown operation 'prod'");
    expect_error("unary cosh 10", "unknown operation 'cosh'");
    expect_error("copy transpose 4x4 1,0", "unknown operation 'transpose'");
}

static void malformed_shapes_are_named(void **state) {
    (void)state;
    expect_error("sgemm 4x4", "is not MxNxK");
    expect_error("sgemm 4x0x4", "'0' is not a size");
    expect_error("sgemm 4xx4x4", "4xx4x4");
    expect_error("sgemm 4x4x4x", "4x4x4x");
    expect_error("sgemm 4x-4x4", "'-4' is not a size");
    expect_error("sgemm 4x4x4 4x4x4", "unexpected '4x4x4'");
    expect_error("sgemm 4x4x4 alpha=x", "alpha=x");
    expect_error("softmax softmax 4x4x4", "not ROWSxCOLS");
    expect_error("unary exp 12abc", "'12abc'");
    expect_error("reduce sum 1x2x3x4x5x6x7x8x9 axes=0", "more than 8 dims");
}

static void malformed_axes_and_permutations_are_named(void **state) {
    (void)state;
    expect_error("reduce sum 4x4", "axes=");
    expect_error("reduce sum 4x4 axes=2", "'2' in '2' is not an axis");
    expect_error("reduce sum 4x4 axes=0,0", "axis 0 repeats");
    expect_error("reduce sum 4x4 axes=0,", "not axes joined");
    expect_error("copy permute 2x3x4 0,1", "has 2 axes, the shape has 3");
    expect_error("copy permute 2x3x4 0,1,1", "axis 1 repeats");
}

static void malformed_conv_descriptors_are_named(void **state) {
    (void)state;
    expect_error("conv2d-fwd n1c3h8k4r3q2", "unknown key 'q'");
    expect_error("conv2d-fwd n1c3h8k4", "key 'r' is missing");
    expect_error("conv2d-fwd n1h8k4r3", "key 'c' is missing");
    expect_error("conv2d-fwd n1c3c4h8k4r3", "key 'c' given twice");
    expect_error("conv2d-fwd n0c3h8k4r3", "key 'n' needs a number");
    expect_error("conv2d-fwd n1c3h8k4r3st", "key 'st' needs a number");
    expect_error("conv2d-fwd n1c3h8k4r3p1ph1", "'p' with 'ph'");
    expect_error("conv2d-fwd c3h8k4r3g2", "conv descriptor 'c3h8k4r3g2'");   /* c % groups */
    expect_error("conv2d-fwd c3h2k4r3", "conv descriptor 'c3h2k4r3'");       /* empty output */
    expect_error("conv2d-fwd c3h8k4r3 extra", "one descriptor");
}

static void shapes_beyond_memory_or_overflowing_are_refused(void **state) {
    (void)state;
    expect_error("sgemm 1000000x1000000x1000", "more than");
    expect_error("unary exp 1099511627776", "more than");
    expect_error("copy permute 1099511627776x1099511627776x1099511627776 0,1,2", "overflows");
    expect_error("sgemm 2000000000000x4x4", "not a size");
    nbt_problem p;
    assert_int_equal(parse_line("unary exp 1000000", &p), 0);   /* 4 MB: fine under 1 GiB */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sgemm_shape_is_m_by_n_by_k),
        cmocka_unit_test(conv_descriptor_reads_every_key),
        cmocka_unit_test(reduce_copy_unary_softmax_read_their_operands),
        cmocka_unit_test(format_reads_back_to_the_same_problem),
        cmocka_unit_test(unknown_family_and_operations_are_named),
        cmocka_unit_test(malformed_shapes_are_named),
        cmocka_unit_test(malformed_axes_and_permutations_are_named),
        cmocka_unit_test(malformed_conv_descriptors_are_named),
        cmocka_unit_test(shapes_beyond_memory_or_overflowing_are_refused),
    };
    return nbt_run(tests);
}
