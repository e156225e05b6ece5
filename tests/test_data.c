/* The data loader (include/nabla/data.h): IDX headers checked against the
 * data (headers that lie about their sizes, truncated, corrupt and foreign
 * files refused with an error naming the function), element decoding, the
 * images' normalisation, and the batch iterator's seeded shuffling. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#if NB_HAVE_ZLIB
#include <zlib.h>
#endif

/* An IDX image: header (dtype code, sizes) followed by payload bytes. */
static size_t make_idx(uint8_t *buf, int code, int ndim, const uint32_t *dims, const void *payload, size_t plen) {
    buf[0] = 0; buf[1] = 0; buf[2] = (uint8_t)code; buf[3] = (uint8_t)ndim;
    for (int d = 0; d < ndim; d++)
        for (int k = 0; k < 4; k++) buf[4 + 4 * d + k] = (uint8_t)(dims[d] >> (24 - 8 * k));
    memcpy(buf + 4 + 4 * ndim, payload, plen);
    return 4 + 4 * (size_t)ndim + plen;
}

/* Writes bytes to a new temporary file (gzip-compressed when gz); returns its path. */
static char *write_tmp(const void *bytes, size_t len, int gz) {
    char *path = strdup("/tmp/nb_test_idx_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
#if NB_HAVE_ZLIB
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, bytes, (unsigned)len), (int)len);
        gzclose(f);
        return path;
    }
#else
    (void)gz;
#endif
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
    return path;
}

static void drop_tmp(char *path) { unlink(path); free(path); }

/* NULL returned and the message names fn and contains what. */
static void assert_refused(nb_tensor *t, const char *fn, const char *what) {
    assert_null(t);
    const char *e = nb_last_error();
    if (strncmp(e, fn, strlen(fn)) != 0 || !strstr(e, what)) fail_msg("message '%s' lacks '%s' / '%s'", e, fn, what);
}

static void test_parse_uint8_shape_and_values(void **state) {
    (void)state;
    uint8_t buf[64], px[6] = {0, 1, 2, 253, 254, 255};
    const uint32_t dims[2] = {2, 3};
    size_t n = make_idx(buf, 0x08, 2, dims, px, 6);
    nb_tensor *t = nb_idx_parse(buf, n, NB_INT64);
    assert_non_null(t);
    assert_int_equal(nb_tensor_ndim(t), 2);
    assert_int_equal(nb_tensor_size(t, 0), 2);
    assert_int_equal(nb_tensor_size(t, 1), 3);
    const int64_t *v = nb_tensor_data(t);
    for (int i = 0; i < 6; i++) assert_int_equal(v[i], px[i]);
    nb_tensor_release(t);
}

static void test_parse_big_endian_types(void **state) {
    (void)state;
    uint8_t buf[64];
    const uint32_t one = 2;
    const uint8_t i16[4] = {0xFF, 0xFE, 0x01, 0x00};          /* -2, 256 */
    const uint8_t f32[8] = {0x3F, 0xC0, 0, 0, 0xC1, 0x20, 0, 0};  /* 1.5, -10 */
    const uint8_t i8[2] = {0x80, 0x7F};                       /* -128, 127 */
    double got[2];
    nb_tensor *t = nb_idx_parse(buf, make_idx(buf, 0x0B, 1, &one, i16, 4), NB_FLOAT64);
    assert_non_null(t);
    assert_int_equal(nb_tensor_read(t, got), NB_OK);
    assert_true(got[0] == -2.0 && got[1] == 256.0);
    nb_tensor_release(t);
    t = nb_idx_parse(buf, make_idx(buf, 0x0D, 1, &one, f32, 8), NB_FLOAT64);
    assert_non_null(t);
    assert_int_equal(nb_tensor_read(t, got), NB_OK);
    assert_true(got[0] == 1.5 && got[1] == -10.0);
    nb_tensor_release(t);
    t = nb_idx_parse(buf, make_idx(buf, 0x09, 1, &one, i8, 2), NB_FLOAT64);
    assert_non_null(t);
    assert_int_equal(nb_tensor_read(t, got), NB_OK);
    assert_true(got[0] == -128.0 && got[1] == 127.0);
    nb_tensor_release(t);
    /* float elements do not silently truncate to int64 */
    assert_refused(nb_idx_parse(buf, make_idx(buf, 0x0D, 1, &one, f32, 8), NB_INT64), "nb_idx_parse", "int64");
}

static void test_header_that_lies_about_sizes_is_refused(void **state) {
    (void)state;
    uint8_t buf[64], px[12] = {0};
    const uint32_t dims[2] = {2, 3};
    /* 6 elements promised: 5 and 7 bytes present */
    size_t n = make_idx(buf, 0x08, 2, dims, px, 6);
    assert_refused(nb_idx_parse(buf, n - 1, NB_FLOAT32), "nb_idx_parse", "truncated");
    n = make_idx(buf, 0x08, 2, dims, px, 7);
    assert_refused(nb_idx_parse(buf, n, NB_FLOAT32), "nb_idx_parse", "too long");
    /* a header alone, cut inside its sizes */
    assert_refused(nb_idx_parse(buf, 9, NB_FLOAT32), "nb_idx_parse", "header");
    assert_refused(nb_idx_parse(buf, 3, NB_FLOAT32), "nb_idx_parse", "header");
}

static void test_bad_magic_dtype_ndim_refused(void **state) {
    (void)state;
    uint8_t buf[64], px[4] = {0};
    const uint32_t dims[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    size_t n = make_idx(buf, 0x08, 1, dims, px, 1);
    buf[1] = 3;
    assert_refused(nb_idx_parse(buf, n, NB_FLOAT32), "nb_idx_parse", "magic");
    n = make_idx(buf, 0x0A, 1, dims, px, 1);
    assert_refused(nb_idx_parse(buf, n, NB_FLOAT32), "nb_idx_parse", "type 0x0a");
    n = make_idx(buf, 0x08, 0, dims, px, 1);
    assert_refused(nb_idx_parse(buf, n, NB_FLOAT32), "nb_idx_parse", "ndim 0");
    n = make_idx(buf, 0x08, 9, dims, px, 1);
    assert_refused(nb_idx_parse(buf, n, NB_FLOAT32), "nb_idx_parse", "ndim 9");
    n = make_idx(buf, 0x08, 1, dims, px, 1);
    assert_refused(nb_idx_parse(buf, n, (nb_dtype)7), "nb_idx_parse", "dtype");
    assert_refused(nb_idx_parse(NULL, 4, NB_FLOAT32), "nb_idx_parse", "NULL");
}

static void test_huge_dimensions_overflow_cleanly(void **state) {
    (void)state;
    uint8_t buf[64], px[1] = {0};
    /* 2^32-1 ^ 3 elements overflows int64 */
    const uint32_t big[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    assert_refused(nb_idx_parse(buf, make_idx(buf, 0x08, 3, big, px, 1), NB_FLOAT32), "nb_idx_parse", "overflow");
    /* 2^64-ish bytes of float64: the byte count overflows */
    const uint32_t b2[2] = {0xFFFFFFFFu, 0x7FFFFFFFu};
    assert_refused(nb_idx_parse(buf, make_idx(buf, 0x0E, 2, b2, px, 1), NB_FLOAT32), "nb_idx_parse", "overflow");
    /* a file that claims 16 GiB over one byte of data: truncated, no 16 GiB allocation */
    const uint32_t b3[2] = {0x10000u, 0x40000u};
    char *path = write_tmp(buf, make_idx(buf, 0x08, 2, b3, px, 1), 0);
    assert_refused(nb_idx_load(path, NB_FLOAT32), "nb_idx_load", "truncated");
    drop_tmp(path);
}

static void test_plain_and_gzip_files_load_the_same(void **state) {
    (void)state;
    uint8_t buf[256], px[2 * 4 * 5];
    for (int i = 0; i < 40; i++) px[i] = (uint8_t)(i * 6);
    const uint32_t dims[3] = {2, 4, 5};
    size_t n = make_idx(buf, 0x08, 3, dims, px, 40);
    for (int gz = 0; gz <= NB_HAVE_ZLIB; gz++) {
        char *path = write_tmp(buf, n, gz);
        nb_tensor *t = nb_idx_load(path, NB_FLOAT32);
        assert_non_null(t);
        assert_int_equal(nb_tensor_numel(t), 40);
        const float *v = nb_tensor_data(t);
        for (int i = 0; i < 40; i++) assert_true(v[i] == (float)px[i]);
        nb_tensor_release(t);
        drop_tmp(path);
    }
}

static void test_truncated_and_corrupt_files_refused(void **state) {
    (void)state;
    uint8_t buf[4096], px[4000];
    for (int i = 0; i < 4000; i++) px[i] = (uint8_t)(i * 7 + i / 13);
    const uint32_t dims[1] = {4000};
    size_t n = make_idx(buf, 0x08, 1, dims, px, 4000);
    char *path = write_tmp(buf, n - 10, 0);
    assert_refused(nb_idx_load(path, NB_FLOAT32), "nb_idx_load", "truncated");
    drop_tmp(path);
    path = write_tmp(buf, 2, 0);
    assert_refused(nb_idx_load(path, NB_FLOAT32), "nb_idx_load", "truncated");
    drop_tmp(path);
    assert_refused(nb_idx_load("/nonexistent/nb-idx", NB_FLOAT32), "nb_idx_load", "cannot open");
    assert_refused(nb_idx_load(NULL, NB_FLOAT32), "nb_idx_load", "NULL");
#if NB_HAVE_ZLIB
    /* the gzip stream cut in half, then with a flipped byte inside */
    path = write_tmp(buf, n, 1);
    FILE *f = fopen(path, "rb");
    uint8_t gz[8192];
    size_t glen = fread(gz, 1, sizeof gz, f);
    fclose(f);
    drop_tmp(path);
    path = write_tmp(gz, glen / 2, 0);
    assert_refused(nb_idx_load(path, NB_FLOAT32), "nb_idx_load", "'");
    drop_tmp(path);
    gz[glen / 2] ^= 0x5A;
    gz[glen / 2 + 1] ^= 0xA5;
    path = write_tmp(gz, glen, 0);
    assert_refused(nb_idx_load(path, NB_FLOAT32), "nb_idx_load", "corrupt");
    drop_tmp(path);
#endif
}

static void test_images_normalised_nchw_and_labels_int64(void **state) {
    (void)state;
    uint8_t buf[256], px[2 * 3 * 2] = {0, 255, 128, 1, 2, 3, 4, 5, 6, 7, 8, 200};
    const uint32_t dims[3] = {2, 3, 2};
    char *path = write_tmp(buf, make_idx(buf, 0x08, 3, dims, px, 12), 1);
    nb_tensor *t = nb_idx_load_images(path, NB_FASHION_MNIST_MEAN, NB_FASHION_MNIST_STD);
    assert_non_null(t);
    assert_int_equal(nb_tensor_ndim(t), 4);
    const int64_t want[4] = {2, 1, 3, 2};
    for (int d = 0; d < 4; d++) assert_int_equal(nb_tensor_size(t, d), want[d]);
    const float *v = nb_tensor_data(t);
    for (int i = 0; i < 12; i++) {
        double exact = (px[i] / 255.0 - 0.2860) / 0.3530;
        assert_true(fabs(v[i] - exact) <= 4e-7 * (1 + fabs(exact)));
    }
    nb_tensor_release(t);
    assert_refused(nb_idx_load_images(path, 0, 0), "nb_idx_load_images", "std");
    assert_refused(nb_idx_load_labels(path), "nb_idx_load_labels", "expected 1-D uint8");
    drop_tmp(path);
    const uint32_t ldims[1] = {3};
    const uint8_t labels[3] = {9, 0, 4};
    path = write_tmp(buf, make_idx(buf, 0x08, 1, ldims, labels, 3), 1);
    t = nb_idx_load_labels(path);
    assert_non_null(t);
    assert_int_equal(nb_tensor_dtype(t), NB_INT64);
    const int64_t *l = nb_tensor_data(t);
    assert_true(l[0] == 9 && l[1] == 0 && l[2] == 4);
    nb_tensor_release(t);
    drop_tmp(path);
}

/* x row i is [i, i + 0.5], y row i is i; one epoch's batches as row ids. */
static void epoch_rows(nb_batch_iter *it, int64_t *rows, int64_t *n, int64_t *nbatch) {
    nb_tensor *xb, *yb;
    *n = 0;
    *nbatch = 0;
    for (;;) {
        assert_int_equal(nb_batch_iter_next(it, &xb, &yb), NB_OK);
        if (!xb) break;
        const float *x = nb_tensor_data(xb);
        const int64_t *y = nb_tensor_data(yb);
        for (int64_t i = 0; i < nb_tensor_size(yb, 0); i++) {
            assert_true(x[2 * i] == (float)y[i] && x[2 * i + 1] == (float)y[i] + 0.5f);
            rows[(*n)++] = y[i];
        }
        (*nbatch)++;
        nb_tensor_release(xb);
        nb_tensor_release(yb);
    }
}

static void make_rows(int64_t n, nb_tensor **x, nb_tensor **y) {
    float xs[2 * 100];
    int64_t ys[100];
    for (int64_t i = 0; i < n; i++) { xs[2 * i] = (float)i; xs[2 * i + 1] = (float)i + 0.5f; ys[i] = i; }
    const int64_t xshape[2] = {n, 2};
    *x = nb_tensor_new(xs, NB_FLOAT32, 2, xshape);
    *y = nb_tensor_new(ys, NB_INT64, 1, &n);
}

static void test_batches_cover_each_row_once_per_epoch(void **state) {
    (void)state;
    nb_tensor *x, *y;
    make_rows(23, &x, &y);
    nb_batch_iter *it = nb_batch_iter_new(x, y, 5, true, 42, false);
    assert_non_null(it);
    assert_int_equal(nb_batch_iter_num_batches(it), 5);
    int64_t a[100], b[100], n, nb;
    epoch_rows(it, a, &n, &nb);
    assert_int_equal(n, 23);
    assert_int_equal(nb, 5);
    assert_int_equal(nb_batch_iter_epoch(it), 1);
    const int64_t *order = nb_batch_iter_order(it);   /* epoch 1's, announced before its first batch */
    int64_t announced[23];
    memcpy(announced, order, sizeof announced);
    epoch_rows(it, b, &n, &nb);
    assert_int_equal(nb_batch_iter_epoch(it), 2);
    assert_memory_equal(announced, b, sizeof announced);
    int seen[23] = {0}, same = 1;
    for (int i = 0; i < 23; i++) { seen[a[i]]++; same &= a[i] == b[i]; }
    for (int i = 0; i < 23; i++) assert_int_equal(seen[i], 1);
    assert_false(same);   /* each epoch a new permutation */
    /* the same seed and epoch give the same order, also after set_epoch */
    nb_batch_iter *it2 = nb_batch_iter_new(x, y, 5, true, 42, false);
    assert_int_equal(nb_batch_iter_set_epoch(it2, 1), NB_OK);
    int64_t c[100];
    epoch_rows(it2, c, &n, &nb);
    assert_memory_equal(b, c, 23 * sizeof *b);
    nb_batch_iter_free(it2);
    /* another seed, another order */
    it2 = nb_batch_iter_new(x, y, 5, true, 43, false);
    epoch_rows(it2, c, &n, &nb);
    assert_memory_not_equal(a, c, 23 * sizeof *a);
    nb_batch_iter_free(it2);
    nb_batch_iter_free(it);
    nb_tensor_release(x);
    nb_tensor_release(y);
}

static void test_drop_last_and_unshuffled_order(void **state) {
    (void)state;
    nb_tensor *x, *y;
    make_rows(23, &x, &y);
    nb_batch_iter *it = nb_batch_iter_new(x, y, 5, false, 0, true);
    int64_t a[100], n, nb;
    epoch_rows(it, a, &n, &nb);
    assert_int_equal(n, 20);
    assert_int_equal(nb, 4);
    for (int i = 0; i < 20; i++) assert_int_equal(a[i], i);
    nb_batch_iter_free(it);
    /* a narrowed (offset) x works and sees only its rows */
    nb_tensor *xn = nb_narrow(x, 0, 3, 10), *yn = nb_narrow(y, 0, 3, 10);
    it = nb_batch_iter_new(xn, yn, 4, false, 0, false);
    epoch_rows(it, a, &n, &nb);
    assert_int_equal(n, 10);
    assert_int_equal(nb, 3);
    for (int i = 0; i < 10; i++) assert_int_equal(a[i], i + 3);
    nb_batch_iter_free(it);
    nb_tensor_release(xn);
    nb_tensor_release(yn);
    nb_tensor_release(x);
    nb_tensor_release(y);
}

static void test_batch_iter_bad_arguments(void **state) {
    (void)state;
    nb_tensor *x, *y, *x9, *y2;
    make_rows(10, &x, &y);
    make_rows(9, &x9, &y2);
    nb_tensor_release(x9);
    assert_null(nb_batch_iter_new(x, y, 0, true, 1, false));
    assert_non_null(strstr(nb_last_error(), "nb_batch_iter_new: batch_size"));
    assert_null(nb_batch_iter_new(NULL, y, 2, true, 1, false));
    assert_null(nb_batch_iter_new(x, y2, 2, true, 1, false));
    assert_non_null(strstr(nb_last_error(), "same first size"));
    nb_tensor *xt = nb_t(x);
    nb_tensor *yy = nb_narrow(y, 0, 0, 2);
    assert_null(nb_batch_iter_new(xt, yy, 2, true, 1, false));
    assert_non_null(strstr(nb_last_error(), "contiguous"));
    nb_tensor *xb, *yb;
    assert_int_equal(nb_batch_iter_next(NULL, &xb, &yb), NB_ERR_ARG);
    assert_null(xb);
    assert_int_equal(nb_batch_iter_set_epoch(NULL, 0), NB_ERR_ARG);
    assert_int_equal(nb_batch_iter_epoch(NULL), -1);
    assert_null(nb_batch_iter_order(NULL));
    nb_batch_iter_free(NULL);
    nb_tensor_release(xt);
    nb_tensor_release(yy);
    nb_tensor_release(x);
    nb_tensor_release(y);
    nb_tensor_release(y2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_uint8_shape_and_values),
        cmocka_unit_test(test_parse_big_endian_types),
        cmocka_unit_test(test_header_that_lies_about_sizes_is_refused),
        cmocka_unit_test(test_bad_magic_dtype_ndim_refused),
        cmocka_unit_test(test_huge_dimensions_overflow_cleanly),
        cmocka_unit_test(test_plain_and_gzip_files_load_the_same),
        cmocka_unit_test(test_truncated_and_corrupt_files_refused),
        cmocka_unit_test(test_images_normalised_nchw_and_labels_int64),
        cmocka_unit_test(test_batches_cover_each_row_once_per_epoch),
        cmocka_unit_test(test_drop_last_and_unshuffled_order),
        cmocka_unit_test(test_batch_iter_bad_arguments),
    };
    return nbt_run(tests);
}
