/* Elementwise tensor ops give, bit for bit, what a plain scalar loop written
 * here gives: on every row layout the tensor layer specialises (dense,
 * broadcast scalar on either side, in place) and on the ones it does not
 * (broadcast rows/columns, transposed and stepped views), on sizes around
 * the vector widths (0, 1, 7, 8, 9, 1023), and on sizes large enough to be
 * split across threads (1 thread vs 2 threads, bit for bit).
 *
 * Oracles: the same IEEE operation in a scalar loop, element by element
 * through the broadcast index; for float32 add/sub/mul/div also the double
 * computation rounded once to float (exact for these four operations, as
 * double has more than 2 * 24 + 2 bits), so the oracle is checked too.
 * Inputs contain +-0, +-Inf, NaN (one payload, so every result NaN is
 * determined), subnormals and values that overflow. */
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "tensor_util.h"
#include "tensor/tensor_internal.h"

#define F32 NB_FLOAT32
#define F64 NB_FLOAT64
#define I64 NB_INT64

static int under_qemu(void) { return getenv("NABLA_QEMU") != NULL; }

/* ---- inputs ---- */

static const float special_f[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f, -3e-39f, 3e38f, -3e38f, 1.0f};
static const double special_d[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e-310, -3e-309, 1.7e308, -1.7e308, 1.0};
#define NSPECIAL (sizeof special_f / sizeof special_f[0])

/* Random values, one in eight special (finite: moderate values only, for
   conversions to int64, where out-of-range values are undefined). */
static void fill(nb_tensor *t, int finite) {
    assert_true(nb_tensor_is_contiguous(t));
    const int64_t n = nb_tensor_numel(t);
    void *p = nb_tensor_data(t);
    for (int64_t i = 0; i < n; i++) {
        const uint64_t r = nbt_next();
        const int special = !finite && (r & 7) == 0;
        const double u = -4.0 + 8.0 * (double)(r >> 11) * 0x1.0p-53;
        switch (nb_tensor_dtype(t)) {
        case NB_FLOAT32: ((float *)p)[i] = special ? special_f[(r >> 3) % NSPECIAL] : (float)u; break;
        case NB_FLOAT64: ((double *)p)[i] = special ? special_d[(r >> 3) % NSPECIAL] : u; break;
        case NB_INT64:   /* full-range values make add/sub/mul wrap */
            ((int64_t *)p)[i] = finite ? (int64_t)floor(1000 * u) : (r & 3) == 0 ? (int64_t)nbt_next()
                                                                                  : (int64_t)floor(8 * u);
            break;
        }
    }
}

static nb_tensor *rand_t(nb_dtype dt, int ndim, const int64_t *shape, int finite) {
    nb_tensor *t = nb_empty(ndim, shape, dt);
    assert_non_null(t);
    fill(t, finite);
    return t;
}

/* ---- the scalar oracle ---- */

typedef enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW, OP_EQ, OP_RELUG, OP_COUNT } op_t;
static const char *const op_names[OP_COUNT] = {"add", "sub", "mul", "div", "pow", "eq", "relu_grad"};

static int same_value_d(double x, double y) { return (isnan(x) && isnan(y)) || x == y; }

static void oracle_f32(op_t op, float a, float b, float *out) {
    float r = 0;
    double d = 0;
    switch (op) {
    case OP_ADD: r = a + b; d = (double)a + (double)b; break;
    case OP_SUB: r = a - b; d = (double)a - (double)b; break;
    case OP_MUL: r = a * b; d = (double)a * (double)b; break;
    case OP_DIV: r = a / b; d = (double)a / (double)b; break;
    case OP_POW: r = powf(a, b); break;
    case OP_EQ: r = a == b ? 1.0f : 0.0f; break;
    case OP_RELUG: r = b <= 0 ? 0.0f : a; break;   /* PyTorch: NaN b passes a */
    default: fail();
    }
    if (op <= OP_DIV && !same_value_d(r, (float)d))
        fail_msg("oracle disagrees with itself: %s(%a, %a) = %a, via double %a", op_names[op], a, b, r, (float)d);
    *out = r;
}

static void oracle_f64(op_t op, double a, double b, double *out) {
    switch (op) {
    case OP_ADD: *out = a + b; break;
    case OP_SUB: *out = a - b; break;
    case OP_MUL: *out = a * b; break;
    case OP_DIV: *out = a / b; break;
    case OP_POW: *out = pow(a, b); break;
    case OP_EQ: *out = a == b ? 1.0 : 0.0; break;
    case OP_RELUG: *out = b <= 0 ? 0.0 : a; break;
    default: fail();
    }
}

static void oracle_i64(op_t op, int64_t a, int64_t b, int64_t *out) {
    const uint64_t x = (uint64_t)a, y = (uint64_t)b;
    switch (op) {
    case OP_ADD: *out = (int64_t)(x + y); break;
    case OP_SUB: *out = (int64_t)(x - y); break;
    case OP_MUL: *out = (int64_t)(x * y); break;
    case OP_EQ: *out = a == b; break;
    default: fail();
    }
}

/* Address of the element of t that broadcasting reads at index idx of an
   ndim-d result (missing leading dims and size-1 dims read index 0). */
static const char *elem(const nb_tensor *t, int ndim, const int64_t *idx) {
    const int nd = nb_tensor_ndim(t);
    const int64_t *sh = nb_tensor_shape(t), *st = nb_tensor_strides(t);
    const int64_t es = (int64_t)nb_dtype_size(nb_tensor_dtype(t));
    const char *p = nb_tensor_data(t);
    for (int d = 0; d < nd; d++) p += (sh[d] == 1 ? 0 : idx[d + ndim - nd]) * st[d] * es;
    return p;
}

/* Every element of y equals, bit for bit, the oracle on the elements of a
   and b that broadcasting pairs with it. */
static void assert_matches_oracle(op_t op, const nb_tensor *y, const nb_tensor *a, const nb_tensor *b,
                                  const char *what) {
    const int nd = nb_tensor_ndim(y);
    const int64_t *shape = nb_tensor_shape(y), n = nb_tensor_numel(y);
    const nb_dtype dt = nb_tensor_dtype(y);
    const size_t es = nb_dtype_size(dt);
    int64_t idx[NB_MAX_DIMS] = {0};
    for (int64_t k = 0; k < n; k++, tu_next_index(nd, shape, idx)) {
        const char *pa = elem(a, nd, idx), *pb = elem(b, nd, idx), *py = elem(y, nd, idx);
        char want[8];
        if (dt == F32) {
            float x, z;
            memcpy(&x, pa, 4);
            memcpy(&z, pb, 4);
            oracle_f32(op, x, z, (float *)want);
        } else if (dt == F64) {
            double x, z;
            memcpy(&x, pa, 8);
            memcpy(&z, pb, 8);
            oracle_f64(op, x, z, (double *)want);
        } else {
            int64_t x, z;
            memcpy(&x, pa, 8);
            memcpy(&z, pb, 8);
            oracle_i64(op, x, z, (int64_t *)want);
        }
        if (memcmp(want, py, es) != 0) {
            uint64_t g = 0, w = 0;
            memcpy(&g, py, es);
            memcpy(&w, want, es);
            fail_msg("%s %s %s: element %lld: got bits %#llx, want %#llx", what, nb_dtype_name(dt), op_names[op],
                     (long long)k, (unsigned long long)g, (unsigned long long)w);
        }
    }
}

static nb_tensor *apply(op_t op, nb_tensor *a, nb_tensor *b) {
    switch (op) {
    case OP_ADD: return nb_add(a, b);
    case OP_SUB: return nb_sub(a, b);
    case OP_MUL: return nb_mul(a, b);
    case OP_DIV: return nb_div(a, b);
    case OP_POW: return nb_pow(a, b);
    case OP_EQ: return nb__binary_raw("test", NB_BIN_EQ, a, b);
    case OP_RELUG: return nb__binary_raw("test", NB_BIN_RELU_GRAD, a, b);
    default: return NULL;
    }
}

static int op_defined(op_t op, nb_dtype dt) {
    return dt != I64 || op == OP_ADD || op == OP_SUB || op == OP_MUL || op == OP_EQ;
}

/* y = op(a, b) through the library, checked against the oracle. */
static void check_op(op_t op, nb_tensor *a, nb_tensor *b, const char *what) {
    nb_tensor *y = apply(op, a, b);
    if (!y) fail_msg("%s %s: %s", what, op_names[op], nb_last_error());
    assert_int_equal(nb_tensor_dtype(y), nb_tensor_dtype(a));
    assert_matches_oracle(op, y, a, b, what);
    nb_tensor_release(y);
}

static void check_all_ops(nb_tensor *a, nb_tensor *b, const char *what) {
    for (op_t op = 0; op < OP_COUNT; op++)
        if (op_defined(op, nb_tensor_dtype(a))) check_op(op, a, b, what);
}

static const nb_dtype dtypes[] = {F32, F64, I64};
static const int64_t sizes[] = {0, 1, 7, 8, 9, 1023};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* ---- the specialised layouts ---- */

static void dense_operands_match_the_scalar_loop(void **s) {
    (void)s;
    for (size_t d = 0; d < 3; d++)
        for (size_t i = 0; i < NSIZES; i++) {
            nb_tensor *a = rand_t(dtypes[d], 1, SHAPE(sizes[i]), 0), *b = rand_t(dtypes[d], 1, SHAPE(sizes[i]), 0);
            check_all_ops(a, b, "dense");
            /* a and b the same tensor */
            check_all_ops(a, a, "dense a op a");
            nb_tensor_release(a);
            nb_tensor_release(b);
        }
}

static void dense_operands_at_unaligned_offsets_match_the_scalar_loop(void **s) {
    (void)s;
    for (size_t d = 0; d < 3; d++)
        for (int64_t off = 1; off < 4; off++) {
            nb_tensor *ba = rand_t(dtypes[d], 1, SHAPE(1030), 0), *bb = rand_t(dtypes[d], 1, SHAPE(1030), 0);
            nb_tensor *a = nb_narrow(ba, 0, off, 1023), *b = nb_narrow(bb, 0, 4 - off, 1023);
            check_all_ops(a, b, "dense unaligned");
            nb_tensor_release(a); nb_tensor_release(b); nb_tensor_release(ba); nb_tensor_release(bb);
        }
}

static void broadcast_scalar_on_either_side_matches_the_scalar_loop(void **s) {
    (void)s;
    for (size_t d = 0; d < 3; d++)
        for (size_t i = 0; i < NSIZES; i++) {
            nb_tensor *a = rand_t(dtypes[d], 1, SHAPE(sizes[i]), 0);
            nb_tensor *z = rand_t(dtypes[d], 0, NULL, 0), *one = rand_t(dtypes[d], 1, SHAPE(1), 0);
            check_all_ops(a, z, "vector op 0-d");
            check_all_ops(z, a, "0-d op vector");
            check_all_ops(a, one, "vector op [1]");
            check_all_ops(one, a, "[1] op vector");
            check_all_ops(z, z, "0-d op 0-d");
            nb_tensor_release(a); nb_tensor_release(z); nb_tensor_release(one);
        }
}

/* nb_add_scalar & co. wrap the number in a 0-d tensor of a's dtype. */
static void scalar_variants_match_the_scalar_loop(void **s) {
    (void)s;
    for (size_t d = 0; d < 2; d++)
        for (size_t i = 0; i < NSIZES; i++) {
            nb_tensor *a = rand_t(dtypes[d], 1, SHAPE(sizes[i]), 0);
            nb_tensor *c = nb_scalar(-2.5, dtypes[d]);
            nb_tensor *y[4] = {nb_add_scalar(a, -2.5), nb_sub_scalar(a, -2.5), nb_mul_scalar(a, -2.5),
                               nb_div_scalar(a, -2.5)};
            for (int k = 0; k < 4; k++) {
                assert_non_null(y[k]);
                assert_matches_oracle((op_t)k, y[k], a, c, "scalar variant");
                nb_tensor_release(y[k]);
            }
            nb_tensor_release(a); nb_tensor_release(c);
        }
}

static void in_place_ops_match_the_scalar_loop(void **s) {
    (void)s;
    nb_status (*fns[4])(nb_tensor *, nb_tensor *) = {nb_add_, nb_sub_, nb_mul_, nb_div_};
    for (size_t d = 0; d < 3; d++)
        for (size_t i = 0; i < NSIZES; i++)
            for (int bkind = 0; bkind < 3; bkind++)   /* b dense, 0-d, [1] */
                for (int k = 0; k < 4; k++) {
                    if (!op_defined((op_t)k, dtypes[d])) continue;
                    const int64_t n = sizes[i];
                    nb_tensor *a = rand_t(dtypes[d], 1, SHAPE(n), 0);
                    nb_tensor *b = bkind == 0 ? rand_t(dtypes[d], 1, SHAPE(n), 0)
                                 : bkind == 1 ? rand_t(dtypes[d], 0, NULL, 0) : rand_t(dtypes[d], 1, SHAPE(1), 0);
                    nb_tensor *before = nb_clone(a);
                    assert_int_equal(fns[k](a, b), NB_OK);
                    assert_matches_oracle((op_t)k, a, before, b, "in place");
                    nb_tensor_release(a); nb_tensor_release(b); nb_tensor_release(before);
                }
}

static void in_place_scalar_variants_match_the_scalar_loop(void **s) {
    (void)s;
    for (size_t d = 0; d < 2; d++)
        for (size_t i = 0; i < NSIZES; i++) {
            nb_tensor *a = rand_t(dtypes[d], 1, SHAPE(sizes[i]), 0), *c = nb_scalar(0.75, dtypes[d]);
            nb_tensor *before = nb_clone(a);
            assert_int_equal(nb_add_scalar_(a, 0.75), NB_OK);
            assert_matches_oracle(OP_ADD, a, before, c, "add_scalar_");
            nb_tensor_release(before);
            before = nb_clone(a);
            assert_int_equal(nb_mul_scalar_(a, 0.75), NB_OK);
            assert_matches_oracle(OP_MUL, a, before, c, "mul_scalar_");
            nb_tensor_release(a); nb_tensor_release(c); nb_tensor_release(before);
        }
}

/* ---- layouts on the strided path ---- */

static void broadcast_rows_and_columns_match_the_scalar_loop(void **s) {
    (void)s;
    for (size_t d = 0; d < 3; d++)
        for (size_t i = 0; i < NSIZES; i++) {
            const int64_t c = sizes[i], r = 5;
            nb_tensor *a = rand_t(dtypes[d], 2, SHAPE(r, c), 0);
            nb_tensor *row = rand_t(dtypes[d], 1, SHAPE(c), 0), *col = rand_t(dtypes[d], 2, SHAPE(r, 1), 0);
            check_all_ops(a, row, "a[r,c] op row[c]");
            check_all_ops(row, a, "row[c] op a[r,c]");
            check_all_ops(a, col, "a[r,c] op col[r,1]");
            check_all_ops(col, row, "col[r,1] op row[c] (outer)");
            nb_tensor_release(a); nb_tensor_release(row); nb_tensor_release(col);
        }
}

static void transposed_and_stepped_views_match_the_scalar_loop(void **s) {
    (void)s;
    for (size_t d = 0; d < 3; d++)
        for (size_t i = 0; i < NSIZES; i++) {
            const int64_t n = sizes[i];
            nb_tensor *base = rand_t(dtypes[d], 2, SHAPE(n, 3), 0);
            nb_tensor *at = nb_t(base);                                  /* [3, n], strides [1, 3] */
            nb_tensor *b = rand_t(dtypes[d], 2, SHAPE(3, n), 0);
            check_all_ops(at, b, "transposed op dense");
            check_all_ops(b, at, "dense op transposed");
            nb_tensor *long1 = rand_t(dtypes[d], 1, SHAPE(2 * n + 1), 0);
            nb_tensor *stepped = nb_slice(long1, 0, 1, 2 * n + 1, 2);   /* n elements, stride 2 */
            nb_tensor *v = rand_t(dtypes[d], 1, SHAPE(n), 0);
            check_all_ops(stepped, v, "stepped op dense");
            check_all_ops(v, stepped, "dense op stepped");
            check_all_ops(stepped, stepped, "stepped op stepped");
            nb_tensor *sc = rand_t(dtypes[d], 0, NULL, 0);
            check_all_ops(stepped, sc, "stepped op 0-d");
            nb_tensor_release(base); nb_tensor_release(at); nb_tensor_release(b); nb_tensor_release(long1);
            nb_tensor_release(stepped); nb_tensor_release(v); nb_tensor_release(sc);
        }
}

static void in_place_into_a_transposed_view_matches_the_scalar_loop(void **s) {
    (void)s;
    for (size_t d = 0; d < 3; d++)
        for (size_t i = 0; i < NSIZES; i++) {
            const int64_t n = sizes[i];
            nb_tensor *base = rand_t(dtypes[d], 2, SHAPE(n, 4), 0);
            nb_tensor *at = nb_t(base);
            nb_tensor *b = rand_t(dtypes[d], 1, SHAPE(n), 0);
            nb_tensor *before = nb_clone(at);
            assert_int_equal(nb_add_(at, b), NB_OK);
            assert_matches_oracle(OP_ADD, at, before, b, "add_ into transposed");
            nb_tensor_release(base); nb_tensor_release(at); nb_tensor_release(b); nb_tensor_release(before);
        }
}

/* ---- unary rows ---- */

static void negation_matches_the_scalar_loop(void **s) {
    (void)s;
    for (size_t d = 0; d < 3; d++)
        for (size_t i = 0; i < NSIZES; i++) {
            nb_tensor *base = rand_t(dtypes[d], 2, SHAPE(sizes[i], 2), 0);
            nb_tensor *views[2] = {base, nb_t(base)};
            for (int v = 0; v < 2; v++) {
                nb_tensor *y = nb_neg(views[v]), *zero = nb_zeros(0, NULL, dtypes[d]);
                assert_non_null(y);
                if (dtypes[d] == I64) {
                    assert_matches_oracle(OP_SUB, y, zero, views[v], "neg");
                } else {   /* -x flips the sign bit only (0 - x would not, for +0) */
                    const int64_t n = nb_tensor_numel(y);
                    int64_t idx[NB_MAX_DIMS] = {0};
                    const int nd = nb_tensor_ndim(y);
                    for (int64_t k = 0; k < n; k++, tu_next_index(nd, nb_tensor_shape(y), idx)) {
                        uint64_t x = 0, g = 0;
                        const size_t es = nb_dtype_size(dtypes[d]);
                        memcpy(&x, elem(views[v], nd, idx), es);
                        memcpy(&g, elem(y, nd, idx), es);
                        assert_int_equal(g, x ^ ((uint64_t)1 << (8 * es - 1)));
                    }
                }
                nb_tensor_release(y); nb_tensor_release(zero);
            }
            nb_tensor_release(base); nb_tensor_release(views[1]);
        }
}

/* dst[k] == (TD)src[k] for every element, bit for bit. */
static void assert_converted(const nb_tensor *dst, const nb_tensor *src) {
    const int nd = nb_tensor_ndim(dst);
    const int64_t n = nb_tensor_numel(dst);
    int64_t idx[NB_MAX_DIMS] = {0};
    for (int64_t k = 0; k < n; k++, tu_next_index(nd, nb_tensor_shape(dst), idx)) {
        const char *ps = elem(src, nd, idx), *pd = elem(dst, nd, idx);
        char want[8];
        float f; double x; int64_t i;
        switch (nb_tensor_dtype(src)) {
        case NB_FLOAT32: memcpy(&f, ps, 4); x = f; i = (int64_t)f; break;
        case NB_FLOAT64: memcpy(&x, ps, 8); f = (float)x; i = (int64_t)x; break;
        default: memcpy(&i, ps, 8); f = (float)i; x = (double)i; break;
        }
        switch (nb_tensor_dtype(dst)) {
        case NB_FLOAT32: memcpy(want, &f, 4); break;
        case NB_FLOAT64: memcpy(want, &x, 8); break;
        default: memcpy(want, &i, 8); break;
        }
        if (memcmp(want, pd, nb_dtype_size(nb_tensor_dtype(dst))) != 0)
            fail_msg("%s -> %s: element %lld differs", nb_dtype_name(nb_tensor_dtype(src)),
                     nb_dtype_name(nb_tensor_dtype(dst)), (long long)k);
    }
}

static void dtype_conversions_match_c_casts(void **s) {
    (void)s;
    for (size_t from = 0; from < 3; from++)
        for (size_t to = 0; to < 3; to++) {
            if (from == to) continue;
            for (size_t i = 0; i < NSIZES; i++) {
                /* Values that fit int64 when the target is int64 (else the cast is undefined). */
                nb_tensor *base = rand_t(dtypes[from], 2, SHAPE(sizes[i], 3), dtypes[to] == I64);
                nb_tensor *views[2] = {base, nb_t(base)};
                for (int v = 0; v < 2; v++) {
                    nb_tensor *y = nb_to_dtype(views[v], dtypes[to]);
                    assert_non_null(y);
                    assert_converted(y, views[v]);
                    nb_tensor_release(y);
                }
                nb_tensor_release(base); nb_tensor_release(views[1]);
            }
        }
}

/* ---- threads ---- */

/* op(a, b) on 1, 2 and 3 threads (3 > the cores of a small machine: the
   split still differs): the same bits, and the oracle's. */
static void check_threads(op_t op, nb_tensor *a, nb_tensor *b, const char *what) {
    nb_tensor *y[3];
    for (int t = 0; t < 3; t++) {
        nb_set_num_threads(t + 1);
        y[t] = apply(op, a, b);
    }
    nb_set_num_threads(0);
    for (int t = 0; t < 3; t++) assert_non_null(y[t]);
    const size_t bytes = (size_t)nb_tensor_numel(y[0]) * nb_dtype_size(nb_tensor_dtype(y[0]));
    for (int t = 1; t < 3; t++)
        if (memcmp(nb_tensor_data(y[0]), nb_tensor_data(y[t]), bytes) != 0)
            fail_msg("%s %s: 1 thread and %d threads differ", what, op_names[op], t + 1);
    assert_matches_oracle(op, y[1], a, b, what);
    for (int t = 0; t < 3; t++) nb_tensor_release(y[t]);
}

/* Enough elements for three threads, not a multiple of anything. */
#define BIG_N (3 * NB_FOREACH_GRAIN + 13)
#define BIG_R 389
#define BIG_C 509

static void large_ops_give_the_same_bits_on_one_two_and_three_threads(void **s) {
    (void)s;
    const op_t ops[] = {OP_ADD, OP_MUL, OP_DIV, OP_RELUG};
    const size_t nops = under_qemu() ? 2 : sizeof ops / sizeof ops[0];
    assert_true(BIG_R * BIG_C >= 3 * NB_FOREACH_GRAIN);
    for (size_t d = 0; d < 3; d++)
        for (size_t o = 0; o < nops; o++) {
            if (!op_defined(ops[o], dtypes[d]) || (ops[o] == OP_RELUG && dtypes[d] == I64)) continue;
            nb_tensor *a = rand_t(dtypes[d], 1, SHAPE(BIG_N), 0), *b = rand_t(dtypes[d], 1, SHAPE(BIG_N), 0);
            nb_tensor *z = rand_t(dtypes[d], 0, NULL, 0);
            check_threads(ops[o], a, b, "large dense");
            check_threads(ops[o], a, z, "large dense op 0-d");
            check_threads(ops[o], z, a, "large 0-d op dense");
            nb_tensor *m = rand_t(dtypes[d], 2, SHAPE(BIG_R, BIG_C), 0), *row = rand_t(dtypes[d], 1, SHAPE(BIG_C), 0);
            nb_tensor *col = rand_t(dtypes[d], 2, SHAPE(BIG_R, 1), 0);
            check_threads(ops[o], m, row, "large row broadcast");
            check_threads(ops[o], m, col, "large column broadcast");
            /* Transposed: thread boundaries fall inside short strided rows. */
            nb_tensor *mt = rand_t(dtypes[d], 2, SHAPE(BIG_C, BIG_R), 0), *t = nb_t(mt);
            check_threads(ops[o], t, m, "large transposed");
            nb_tensor *l = rand_t(dtypes[d], 1, SHAPE(2 * BIG_N), 0), *st = nb_slice(l, 0, 0, 2 * BIG_N, 2);
            check_threads(ops[o], st, b, "large stepped");
            nb_tensor_release(a); nb_tensor_release(b); nb_tensor_release(z); nb_tensor_release(m);
            nb_tensor_release(row); nb_tensor_release(col); nb_tensor_release(mt); nb_tensor_release(t);
            nb_tensor_release(l); nb_tensor_release(st);
        }
}

/* pow goes through libm and is split at a smaller size. */
static void pow_gives_the_same_bits_on_one_two_and_three_threads(void **s) {
    (void)s;
    for (size_t d = 0; d < 2; d++) {
        nb_tensor *a = rand_t(dtypes[d], 1, SHAPE(40009), 0), *b = rand_t(dtypes[d], 1, SHAPE(40009), 0);
        check_threads(OP_POW, a, b, "pow");
        nb_tensor_release(a); nb_tensor_release(b);
    }
}

static void large_in_place_and_conversions_give_the_same_bits_on_one_two_and_three_threads(void **s) {
    (void)s;
    nb_tensor *a1 = rand_t(F32, 2, SHAPE(BIG_R, BIG_C), 0), *b = rand_t(F32, 1, SHAPE(BIG_C), 0);
    nb_tensor *a2 = nb_clone(a1), *before = nb_clone(a1);
    nb_set_num_threads(1);
    assert_int_equal(nb_mul_(a1, b), NB_OK);
    nb_tensor *c1 = nb_to_dtype(a1, F64), *n1 = nb_neg(a1);
    nb_set_num_threads(2);
    assert_int_equal(nb_mul_(a2, b), NB_OK);
    nb_tensor *c2 = nb_to_dtype(a2, F64), *n2 = nb_neg(a2);
    nb_set_num_threads(0);
    assert_matches_oracle(OP_MUL, a2, before, b, "large mul_");
    assert_memory_equal(nb_tensor_data(a1), nb_tensor_data(a2), (size_t)BIG_R * BIG_C * 4);
    assert_memory_equal(nb_tensor_data(c1), nb_tensor_data(c2), (size_t)BIG_R * BIG_C * 8);
    assert_memory_equal(nb_tensor_data(n1), nb_tensor_data(n2), (size_t)BIG_R * BIG_C * 4);
    assert_converted(c2, a2);
    nb_tensor_release(a1); nb_tensor_release(a2); nb_tensor_release(before); nb_tensor_release(b);
    nb_tensor_release(c1); nb_tensor_release(c2); nb_tensor_release(n1); nb_tensor_release(n2);
}

/* From inside a user's parallel region the op runs on the calling thread
   alone (no nested region) and gives the bits it gives outside. */
static void ops_called_from_a_parallel_region_give_the_same_bits(void **s) {
    (void)s;
    nb_tensor *a = rand_t(F32, 1, SHAPE(BIG_N), 0), *b = rand_t(F32, 1, SHAPE(BIG_N), 0);
    nb_set_num_threads(2);
    nb_tensor *want = nb_add(a, b);
    assert_non_null(want);
    nb_tensor *got[2] = {NULL, NULL};
#pragma omp parallel num_threads(2)
    {
#ifdef _OPENMP
        const int t = omp_get_thread_num();
#else
        const int t = 0;
#endif
        if (t < 2) got[t] = nb_add(a, b);
    }
    nb_set_num_threads(0);
    for (int t = 0; t < 2; t++) {
        if (!got[t]) continue;   /* a team of one (no OpenMP): one result */
        assert_memory_equal(nb_tensor_data(got[t]), nb_tensor_data(want), (size_t)BIG_N * sizeof(float));
        nb_tensor_release(got[t]);
    }
    assert_non_null(got[0]);
    nb_tensor_release(want); nb_tensor_release(a); nb_tensor_release(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dense_operands_match_the_scalar_loop),
        cmocka_unit_test(dense_operands_at_unaligned_offsets_match_the_scalar_loop),
        cmocka_unit_test(broadcast_scalar_on_either_side_matches_the_scalar_loop),
        cmocka_unit_test(scalar_variants_match_the_scalar_loop),
        cmocka_unit_test(in_place_ops_match_the_scalar_loop),
        cmocka_unit_test(in_place_scalar_variants_match_the_scalar_loop),
        cmocka_unit_test(broadcast_rows_and_columns_match_the_scalar_loop),
        cmocka_unit_test(transposed_and_stepped_views_match_the_scalar_loop),
        cmocka_unit_test(in_place_into_a_transposed_view_matches_the_scalar_loop),
        cmocka_unit_test(negation_matches_the_scalar_loop),
        cmocka_unit_test(dtype_conversions_match_c_casts),
        cmocka_unit_test(large_ops_give_the_same_bits_on_one_two_and_three_threads),
        cmocka_unit_test(pow_gives_the_same_bits_on_one_two_and_three_threads),
        cmocka_unit_test(large_in_place_and_conversions_give_the_same_bits_on_one_two_and_three_threads),
        cmocka_unit_test(ops_called_from_a_parallel_region_give_the_same_bits),
    };
    return nbt_run(tests);
}
