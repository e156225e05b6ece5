/* nb_copy_strided against an element-by-element oracle (bit-exact), the
 * SIMD table against the reference table, and thread-count independence.
 * Buffers are guarded (any access outside a view's extent crashes) and
 * base pointers are offset by 0..7 elements. */
#include <stdlib.h>
#include <string.h>

#include "kernels_table.h"
#include "strided_view.h"

static int qemu_scale(void) { return getenv("NABLA_QEMU") ? 8 : 1; }

typedef struct {
    int ndim;
    int64_t shape[NB_MAX_DIMS], n;
    size_t es;
    nbt_view s, d;
} ccase;

static void fill_bytes(char *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (char)nbt_next();
}

static void case_make(ccase *c, size_t es, int ndim, const int64_t *shape, int sflags, int dflags) {
    memset(c, 0, sizeof *c);
    c->ndim = ndim;
    c->es = es;
    c->n = 1;
    for (int i = 0; i < ndim; i++) { c->shape[i] = shape[i]; c->n *= shape[i]; }
    nbt_view_make(&c->s, ndim, shape, es, sflags);
    nbt_view_make(&c->d, ndim, shape, es, dflags & ~NBT_ALLOW_ZERO);
    nbt_view_alloc(&c->s);
    nbt_view_alloc(&c->d);
    fill_bytes(c->s.buf, c->s.bytes);
    fill_bytes(c->d.buf, c->d.bytes);
}

static void case_free(ccase *c) { nbt_view_free(&c->s); nbt_view_free(&c->d); }

static nb_status case_run(const ccase *c, const struct nb_kernels *t) {
    if (t) return t->copy_strided(c->es, c->ndim, c->shape, c->s.base, c->s.strides, c->d.base, c->d.strides);
    return nb_copy_strided(c->es, c->ndim, c->shape, c->s.base, c->s.strides, c->d.base, c->d.strides);
}

/* Runs the copy and checks every dst element and every byte outside them. */
static void case_check(ccase *c, const struct nb_kernels *t) {
    char *want = malloc(c->d.bytes);
    assert_non_null(want);
    memcpy(want, c->d.buf, c->d.bytes);
    int64_t idx[NB_MAX_DIMS];
    for (int64_t k = 0; k < c->n; k++) {
        nbt_unravel(c->ndim, c->shape, k, idx);
        memcpy(want + (c->d.base - c->d.buf) + nbt_view_off(&c->d, idx) * (int64_t)c->es,
               c->s.base + nbt_view_off(&c->s, idx) * (int64_t)c->es, c->es);
    }
    assert_int_equal(case_run(c, t), NB_OK);
    if (memcmp(want, c->d.buf, c->d.bytes) != 0) {
        size_t b = 0;
        while (want[b] == c->d.buf[b]) b++;
        fail_msg("dst byte %zu differs (es=%zu ndim=%d n=%lld)", b, c->es, c->ndim, (long long)c->n);
    }
    free(want);
}

static void check_one(size_t es, int ndim, const int64_t *shape, int sflags, int dflags,
                      const struct nb_kernels *t) {
    ccase c;
    case_make(&c, es, ndim, shape, sflags, dflags);
    case_check(&c, t);
    case_free(&c);
}

static const int64_t edge_sizes[] = {0, 1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 31, 33, 64, 65};
#define NEDGE ((int)(sizeof edge_sizes / sizeof edge_sizes[0]))
static const size_t elem_sizes[] = {1, 2, 3, 4, 8, 12, 16};
#define NES ((int)(sizeof elem_sizes / sizeof elem_sizes[0]))

static void random_shape(int ndim, int64_t *shape, int64_t max_numel) {
    for (;;) {
        int64_t n = 1;
        for (int i = 0; i < ndim; i++) {
            shape[i] = nbt_range(0, 6) ? edge_sizes[nbt_range(1, NEDGE - 1)] : 0;
            if (ndim > 4 && shape[i] > 5) shape[i] = nbt_range(1, 5);
            n *= shape[i] ? shape[i] : 1;
        }
        if (n <= max_numel) return;
    }
}

static const int ALL = NBT_ALLOW_ZERO | NBT_ALLOW_NEG | NBT_ALLOW_PAD;

static void random_views_of_every_element_size_match_the_oracle(void **state) {
    (void)state;
    for (int r = 0; r < 400 / qemu_scale(); r++) {
        const int ndim = (int)nbt_range(0, NB_MAX_DIMS);
        int64_t shape[NB_MAX_DIMS];
        random_shape(ndim, shape, 20000);
        check_one(elem_sizes[nbt_range(0, NES - 1)], ndim, shape, ALL, NBT_ALLOW_NEG | NBT_ALLOW_PAD, NULL);
    }
}

/* dst[i][j] = src[j][i] for sizes around the 8x8 tile and the 64 block. */
static void transposes_of_edge_sizes_are_exact(void **state) {
    (void)state;
    static const int64_t sz[] = {1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 129};
    for (size_t a = 0; a < sizeof sz / sizeof *sz; a++)
        for (size_t b = 0; b < sizeof sz / sizeof *sz; b++)
            for (int es = 4; es <= 8; es += 4) {
                const int64_t m = sz[a], n = sz[b];
                ccase c;
                const int64_t shape[2] = {m, n};
                case_make(&c, (size_t)es, 2, shape, 0, 0);
                /* src is the n x m matrix read transposed; dst is m x n, row padding. */
                c.s.strides[0] = 1; c.s.strides[1] = m;
                c.d.strides[0] = n + (int64_t)(a % 3); c.d.strides[1] = 1;
                nbt_view_free(&c.s); nbt_view_free(&c.d);
                c.s.lo = c.d.lo = 0;
                c.s.hi = (m - 1) + (n - 1) * m;
                c.d.hi = (m - 1) * c.d.strides[0] + n - 1;
                nbt_view_alloc(&c.s); nbt_view_alloc(&c.d);
                fill_bytes(c.s.buf, c.s.bytes); fill_bytes(c.d.buf, c.d.bytes);
                case_check(&c, NULL);
                case_free(&c);
            }
}

static void transposes_with_negative_strides_are_exact(void **state) {
    (void)state;
    for (int r = 0; r < 40; r++) {
        const int64_t shape[2] = {nbt_range(1, 90), nbt_range(1, 90)};
        ccase c;
        case_make(&c, 4, 2, shape, NBT_ALLOW_NEG | NBT_ALLOW_PAD, NBT_ALLOW_NEG | NBT_ALLOW_PAD);
        case_check(&c, NULL);
        case_free(&c);
    }
}

/* NCHW -> NHWC: dst (N, H, W, C) dense; src the NCHW buffer permuted. */
static void nchw_to_nhwc_permute_is_exact(void **state) {
    (void)state;
    static const int64_t dims[][4] = {{2, 19, 7, 9}, {1, 64, 8, 8}, {3, 3, 17, 5}, {2, 8, 1, 1}};
    for (size_t k = 0; k < sizeof dims / sizeof *dims; k++) {
        const int64_t N = dims[k][0], C = dims[k][1], H = dims[k][2], W = dims[k][3];
        const int64_t shape[4] = {N, H, W, C};
        ccase c;
        case_make(&c, 4, 4, shape, 0, 0);
        nbt_view_free(&c.s); nbt_view_free(&c.d);
        const int64_t ss[4] = {C * H * W, W, 1, H * W}, ds[4] = {H * W * C, W * C, C, 1};
        memcpy(c.s.strides, ss, sizeof ss);
        memcpy(c.d.strides, ds, sizeof ds);
        c.s.lo = c.d.lo = 0;
        c.s.hi = c.d.hi = N * C * H * W - 1;
        nbt_view_alloc(&c.s); nbt_view_alloc(&c.d);
        fill_bytes(c.s.buf, c.s.bytes); fill_bytes(c.d.buf, c.d.bytes);
        case_check(&c, NULL);
        case_free(&c);
    }
}

static void broadcast_sources_fill_every_element(void **state) {
    (void)state;
    static const int64_t lens[] = {1, 7, 8, 9, 31, 32, 33, 100};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
        for (int e = 0; e < NES; e++) {
            const int64_t shape[2] = {3, lens[i]};
            ccase c;
            case_make(&c, elem_sizes[e], 2, shape, 0, NBT_ALLOW_PAD);
            nbt_view_free(&c.s);
            c.s.strides[0] = (int64_t)nbt_range(0, 1); c.s.strides[1] = 0;
            c.s.lo = 0; c.s.hi = c.s.strides[0] * 2;
            nbt_view_alloc(&c.s);
            fill_bytes(c.s.buf, c.s.bytes);
            case_check(&c, NULL);
            case_free(&c);
        }
}

static void large_contiguous_and_transposed_copies_are_exact(void **state) {
    (void)state;
    const int64_t n = 1000003 / qemu_scale();
    const int64_t one[1] = {n};
    check_one(4, 1, one, 0, 0, NULL);
    check_one(1, 1, one, 0, 0, NULL);
    const int64_t sq[2] = {700 / qemu_scale(), 1001};
    ccase c;
    case_make(&c, 4, 2, sq, 0, 0);
    /* Read the source column-major. */
    int64_t t = c.s.strides[0]; c.s.strides[0] = c.s.strides[1]; c.s.strides[1] = t;
    c.s.strides[0] = 1; c.s.strides[1] = sq[0];
    case_check(&c, NULL);
    case_free(&c);
}

static const struct nb_kernels *simd_table(void) {
    const struct nb_kernels *t = nb_kernels_for(NB_ISA_AVX2);
    if (!t) t = nb_kernels_for(NB_ISA_NEON);
    return t;
}

static void simd_table_matches_the_oracle_bit_for_bit(void **state) {
    (void)state;
    const struct nb_kernels *t = simd_table();
    if (!t) skip();
    for (int r = 0; r < 400 / qemu_scale(); r++) {
        const int ndim = (int)nbt_range(0, NB_MAX_DIMS);
        int64_t shape[NB_MAX_DIMS];
        random_shape(ndim, shape, 40000);
        check_one(nbt_range(0, 1) ? 4 : elem_sizes[nbt_range(0, NES - 1)], ndim, shape, ALL,
                  NBT_ALLOW_NEG | NBT_ALLOW_PAD, t);
    }
}

static void thread_count_does_not_change_the_result(void **state) {
    (void)state;
    const int64_t s = qemu_scale();
    const struct { int ndim; int64_t shape[3]; } cases[] = {
        {1, {1500007 / s}}, {2, {900 / s, 1003}}, {3, {64 / s, 61, 67}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        ccase c;
        case_make(&c, 4, cases[k].ndim, cases[k].shape, NBT_ALLOW_NEG, 0);
        for (int nt = 1; nt <= 3; nt++) {
            nb_set_num_threads(nt);
            case_check(&c, NULL);
        }
        nb_set_num_threads(0);
        case_free(&c);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_views_of_every_element_size_match_the_oracle),
        cmocka_unit_test(transposes_of_edge_sizes_are_exact),
        cmocka_unit_test(transposes_with_negative_strides_are_exact),
        cmocka_unit_test(nchw_to_nhwc_permute_is_exact),
        cmocka_unit_test(broadcast_sources_fill_every_element),
        cmocka_unit_test(large_contiguous_and_transposed_copies_are_exact),
        cmocka_unit_test(simd_table_matches_the_oracle_bit_for_bit),
        cmocka_unit_test(thread_count_does_not_change_the_result),
    };
    return nbt_run(tests);
}
