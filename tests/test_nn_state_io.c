/* Saving and loading a module's state (docs/state-format.md): the bytes
 * follow the documented layout (parsed here independently, with a bitwise
 * CRC-32 of our own), a round trip restores parameters and buffers bit for
 * bit, and truncated (every prefix), corrupt (every byte flipped), foreign
 * and mismatching files are refused with an error naming nb_module_load
 * while the model stays unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "nn_models.h"

static char dir[64];
static int setup(void **s) {
    tu_live_setup(s);
    snprintf(dir, sizeof dir, "/tmp/nbt_state_XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}
static int teardown(void **s) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return tu_live_teardown(s);
}
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static const char *path_of(const char *name) {
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static nb_module *small_model(uint64_t seed) { return nbt_small_bn_model(seed); }
/* One training forward, so running stats and num_batches_tracked move. */
static void touch_buffers(nb_module *m) {
    nb_tensor *x = RAND(NB_FLOAT32, -1, 1, 3, 1, 4, 4), *y = nb_module_forward(m, x);
    assert_non_null(y);
    nb_tensor_release(x);
    nb_tensor_release(y);
}

/* Every state byte of m, in state_dict order (malloc'd). */
static unsigned char *snapshot(const nb_module *m, size_t *size) {
    nb_named_tensor sd[16];
    const int n = nb_module_state_dict(m, sd, 16);
    size_t total = 0;
    for (int i = 0; i < n; i++) total += (size_t)nb_tensor_numel(sd[i].tensor) * nb_dtype_size(nb_tensor_dtype(sd[i].tensor));
    unsigned char *buf = malloc(total + 1), *p = buf;
    for (int i = 0; i < n; i++) {
        assert_int_equal(nb_tensor_read(sd[i].tensor, p), NB_OK);
        p += (size_t)nb_tensor_numel(sd[i].tensor) * nb_dtype_size(nb_tensor_dtype(sd[i].tensor));
    }
    *size = total;
    return buf;
}

static unsigned char *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(1 << 16);
    *size = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}
static void write_all(const char *path, const unsigned char *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
}

/* Bitwise CRC-32 (reflected 0xEDB88320), the oracle for the trailer. */
static uint32_t crc32_bitwise(const unsigned char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}
static uint32_t le32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static void set_le32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }

/* Saves m, then checks the model is unchanged after a refused load of buf. */
static void expect_refused(nb_module *m, const unsigned char *buf, size_t n, nb_status want, const char *what) {
    size_t before_n, after_n;
    unsigned char *before = snapshot(m, &before_n);
    write_all(path_of("bad.nbsd"), buf, n);
    const nb_status s = nb_module_load(m, path_of("bad.nbsd"));
    if (s == NB_OK) fail_msg("a %zu-byte file was accepted", n);
    if (want != NB_OK) assert_int_equal(s, want);
    tu_error_mentions("nb_module_load", what);
    unsigned char *after = snapshot(m, &after_n);
    assert_int_equal(before_n, after_n);
    assert_memory_equal(before, after, before_n);
    free(before);
    free(after);
}

static void round_trip_restores_parameters_and_buffers_bit_for_bit(void **s) {
    (void)s;
    nb_module *a = small_model(1), *b = small_model(2);
    touch_buffers(a);
    assert_int_equal(nb_module_save(a, path_of("a.nbsd")), NB_OK);
    assert_int_equal(access(path_of("a.nbsd.tmp"), F_OK), -1);   /* renamed away */
    assert_int_equal(nb_module_load(b, path_of("a.nbsd")), NB_OK);
    size_t na, nb;
    unsigned char *sa = snapshot(a, &na), *sb = snapshot(b, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(sa, sb, na);
    nb_tensor *nbt = nb_module_buffer(nb_module_child(b, 1), "num_batches_tracked");
    assert_true(tu_item(nbt) == 1);
    nb_module_train(a, false);
    nb_module_train(b, false);
    nb_tensor *x = RAND(NB_FLOAT32, -1, 1, 2, 1, 4, 4), *ya = nb_module_forward(a, x), *yb = nb_module_forward(b, x);
    assert_memory_equal(nb_tensor_data(ya), nb_tensor_data(yb), 6 * sizeof(float));
    nb_tensor_release(x); nb_tensor_release(ya); nb_tensor_release(yb);
    free(sa); free(sb);
    nb_module_free(a); nb_module_free(b);
}

static void the_file_follows_the_documented_layout(void **s) {
    (void)s;
    nb_module *m = small_model(3);
    assert_int_equal(nb_module_save(m, path_of("m.nbsd")), NB_OK);
    size_t n;
    unsigned char *buf = read_all(path_of("m.nbsd"), &n);
    assert_memory_equal(buf, "nablasd\0", 8);
    assert_int_equal(le32(buf + 8), 1);    /* version */
    assert_int_equal(le32(buf + 12), 9);   /* 0.weight, 0.bias, 1.weight, 1.bias, 1.running_mean, 1.running_var,
                                              1.num_batches_tracked, 4.weight, 4.bias */
    nb_named_tensor sd[16];
    assert_int_equal(nb_module_state_dict(m, sd, 16), 9);
    size_t at = 16;
    for (int i = 0; i < 9; i++) {
        const uint32_t len = le32(buf + at);
        assert_int_equal(len, strlen(sd[i].name));
        assert_memory_equal(buf + at + 4, sd[i].name, len);
        at += 4 + len;
        assert_int_equal(le32(buf + at), (uint32_t)nb_tensor_dtype(sd[i].tensor));
        const uint32_t ndim = le32(buf + at + 4);
        assert_int_equal(ndim, nb_tensor_ndim(sd[i].tensor));
        at += 8;
        for (uint32_t d = 0; d < ndim; d++, at += 8)
            assert_int_equal(le32(buf + at), nb_tensor_shape(sd[i].tensor)[d]);   /* small sizes: high half 0 */
        const size_t bytes = (size_t)nb_tensor_numel(sd[i].tensor) * nb_dtype_size(nb_tensor_dtype(sd[i].tensor));
        unsigned char *want = malloc(bytes + 1);
        nb_tensor_read(sd[i].tensor, want);   /* this test runs on little-endian hosts (x86-64, AArch64) */
        assert_memory_equal(buf + at, want, bytes);
        free(want);
        at += bytes;
    }
    assert_int_equal(n, at + 4);
    assert_int_equal(le32(buf + at), crc32_bitwise(buf, at));
    free(buf);
    nb_module_free(m);
}

static void every_truncated_prefix_is_refused_and_changes_nothing(void **s) {
    (void)s;
    nb_module *a = small_model(4), *b = small_model(5);
    assert_int_equal(nb_module_save(a, path_of("a.nbsd")), NB_OK);
    size_t n;
    unsigned char *buf = read_all(path_of("a.nbsd"), &n);
    for (size_t k = 0; k < n; k++) expect_refused(b, buf, k, NB_OK, NULL);
    free(buf);
    nb_module_free(a); nb_module_free(b);
}

static void every_flipped_byte_is_refused_and_changes_nothing(void **s) {
    (void)s;
    nb_module *a = small_model(6), *b = small_model(7);
    touch_buffers(a);
    assert_int_equal(nb_module_save(a, path_of("a.nbsd")), NB_OK);
    size_t n;
    unsigned char *buf = read_all(path_of("a.nbsd"), &n);
    for (size_t k = 0; k < n; k++) {
        buf[k] ^= (unsigned char)(1u << (k % 8));
        expect_refused(b, buf, n, NB_OK, NULL);
        buf[k] ^= (unsigned char)(1u << (k % 8));
    }
    free(buf);
    nb_module_free(a); nb_module_free(b);
}

static void foreign_and_lying_headers_are_refused_with_a_reason(void **s) {
    (void)s;
    nb_module *a = small_model(8), *b = small_model(9);
    assert_int_equal(nb_module_save(a, path_of("a.nbsd")), NB_OK);
    size_t n;
    unsigned char *buf = read_all(path_of("a.nbsd"), &n), *c = malloc(n + 16);
    memcpy(c, buf, n); memcpy(c, "PK\3\4abcd", 8);
    expect_refused(b, c, n, NB_ERR_ARG, "magic");
    memcpy(c, buf, n); set_le32(c + 8, 2);
    set_le32(c + n - 4, crc32_bitwise(c, n - 4));   /* a consistent file of a later version */
    expect_refused(b, c, n, NB_ERR_UNSUPPORTED, "version 2");
    memcpy(c, buf, n); set_le32(c + 12, 0xFFFFFFFFu);
    expect_refused(b, c, n, NB_ERR_ARG, "entries");
    memcpy(c, buf, n); set_le32(c + 16, 0xFFFFFFF0u);   /* the first name's length */
    expect_refused(b, c, n, NB_ERR_ARG, "name of");
    memcpy(c, buf, n); set_le32(c + 16 + 4 + 8 + 4, 1000);   /* "0.weight"'s ndim */
    expect_refused(b, c, n, NB_ERR_ARG, "dims");
    memcpy(c, buf, n); set_le32(c + 16 + 4 + 8 + 8, 0x7FFFFFFF);   /* its first size */
    expect_refused(b, c, n, NB_ERR_SHAPE, "shape");
    memcpy(c, buf, n); set_le32(c + 16 + 4 + 8, 2);   /* its dtype: int64 */
    expect_refused(b, c, n, NB_ERR_DTYPE, "int64");
    memcpy(c, buf, n); memcpy(c + n, "extra", 5);
    expect_refused(b, c, n + 5, NB_ERR_ARG, "longer");
    expect_refused(b, (const unsigned char *)"", 0, NB_ERR_ARG, "magic");
    assert_int_equal(nb_module_load(b, path_of("missing.nbsd")), NB_ERR_ARG);
    tu_error_mentions("nb_module_load", "cannot open");
    free(buf); free(c);
    nb_module_free(a); nb_module_free(b);
}

static void another_models_file_is_refused_by_name_or_shape(void **s) {
    (void)s;
    nb_module *a = small_model(10);
    nb_module *wide = nb_sequential_new(5, (nb_module *[]){nb_conv2d_new(1, 2, 3, 3, NULL, true, NULL),
                                                           nb_batch_norm2d_new(2, 1e-5, 0.1, true), nb_relu_new(),
                                                           nb_flatten_new(), nb_linear_new(8, 4, true, NULL)});
    nb_module *named = nb_sequential_new(0, NULL);
    nb_module_add_child_named(named, "features", small_model(11));
    assert_int_equal(nb_module_save(wide, path_of("wide.nbsd")), NB_OK);
    assert_int_equal(nb_module_save(named, path_of("named.nbsd")), NB_OK);
    size_t n;
    unsigned char *buf = read_all(path_of("wide.nbsd"), &n);
    expect_refused(a, buf, n, NB_ERR_SHAPE, "4.weight");
    free(buf);
    buf = read_all(path_of("named.nbsd"), &n);
    expect_refused(a, buf, n, NB_ERR_ARG, "features.0.weight");
    free(buf);
    nb_module_free(a); nb_module_free(wide); nb_module_free(named);
}

static void save_to_an_impossible_path_fails_naming_it(void **s) {
    (void)s;
    nb_module *a = small_model(12);
    assert_int_equal(nb_module_save(a, path_of("no/such/dir/a.nbsd")), NB_ERR_ARG);
    tu_error_mentions("nb_module_save", "no/such/dir");
    nb_module_free(a);
}

static void an_optimiser_keeps_working_on_loaded_parameters(void **s) {
    (void)s;
    nb_module *a = small_model(13), *b = small_model(14);
    assert_int_equal(nb_module_save(a, path_of("a.nbsd")), NB_OK);
    nb_tensor *p[8];
    const int np = nb_module_parameters(b, p, 8);
    nb_optimizer *o = nb_adamw_new(np, p, 1e-3, 0.9, 0.999, 1e-8, 0.01);
    assert_int_equal(nb_module_load(b, path_of("a.nbsd")), NB_OK);
    nb_tensor *x = RAND(NB_FLOAT32, -1, 1, 3, 1, 4, 4), *y = nb_module_forward(b, x), *l = nb_sum_all(y);
    assert_int_equal(nb_backward(l, NULL, false), NB_OK);
    assert_int_equal(nb_optimizer_step(o), NB_OK);
    nb_tensor_release(x); nb_tensor_release(y); nb_tensor_release(l);
    nb_optimizer_free(o);
    nb_module_free(a); nb_module_free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        T(round_trip_restores_parameters_and_buffers_bit_for_bit),
        T(the_file_follows_the_documented_layout),
        T(every_truncated_prefix_is_refused_and_changes_nothing),
        T(every_flipped_byte_is_refused_and_changes_nothing),
        T(foreign_and_lying_headers_are_refused_with_a_reason),
        T(another_models_file_is_refused_by_name_or_shape),
        T(save_to_an_impossible_path_fails_naming_it),
        T(an_optimiser_keeps_working_on_loaded_parameters),
    };
    return nbt_run(tests);
}
