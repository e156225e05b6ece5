/* Elementwise ops: broadcasting binary ops with PyTorch type promotion,
 * scalar and in-place variants, unary functions (float32 through nb_sunary,
 * float64 in plain C for the gradient checks), dtype conversion. float32
 * arithmetic, eq and the ReLU gradient run the active ISA's elementwise
 * micro-kernels (nb_ukernels_active(), src/isa_ops.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tensor_internal.h"
#include "autograd/autograd_internal.h"
#include "isa_ops.h"

/* ---- broadcasting ---- */

nb_status nb__broadcast_shape(const char *fn, int na, const int64_t *sa, int nbd, const int64_t *sb,
                              int *nout, int64_t *out) {
    int n = na > nbd ? na : nbd;
    for (int i = 0; i < n; i++) {
        int ia = i - (n - na), ib = i - (n - nbd);
        int64_t da = ia >= 0 ? sa[ia] : 1, db = ib >= 0 ? sb[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char b1[128], b2[128];
            return nb_error(NB_ERR_SHAPE, fn, "shapes %s and %s cannot be broadcast",
                            nb__shape_str(b1, sizeof b1, na, sa), nb__shape_str(b2, sizeof b2, nbd, sb));
        }
        out[i] = da == 1 ? db : da;
    }
    *nout = n;
    return NB_OK;
}

/* Strides that read t as if expanded to shape (stride 0 on broadcast dims). */
static void broadcast_strides(const nb_tensor *t, int n, const int64_t *shape, int64_t *st) {
    for (int i = 0; i < n; i++) {
        int it = i - (n - t->ndim);
        st[i] = (it < 0 || (t->shape[it] == 1 && shape[i] != 1)) ? 0 : t->strides[it];
    }
}

/* ---- row kernels ---- */

static double gelu_grad(double x) {
    return 0.5 * (1.0 + erf(x * 0.70710678118654752440)) + x * 0.39894228040143267794 * exp(-0.5 * x * x);
}

/* float32 add, sub, mul, div, eq and the ReLU gradient: the active ISA's
   elementwise micro-kernels (src/ukernel.h), ctx = the op's entry of its
   configuration. The layouts nb__row_layout recognises map onto the three
   micro-kernel layouts; any other row is gathered into a stack block, run
   through the vector-vector micro-kernel and scattered back (same bits:
   each element is one IEEE operation whichever way it is reached). */
#define F32_BLOCK 256

static void f32_strided(const nb_f32_vbinary_ukernels *k, int64_t n, char **p, const int64_t *s) {
    float ta[F32_BLOCK], tb[F32_BLOCK];
    for (int64_t i0 = 0; i0 < n; i0 += F32_BLOCK) {
        const int64_t m = n - i0 < F32_BLOCK ? n - i0 : F32_BLOCK;
        for (int64_t i = 0; i < m; i++) {
            ta[i] = *(const float *)(p[1] + (i0 + i) * s[1]);
            tb[i] = *(const float *)(p[2] + (i0 + i) * s[2]);
        }
        k->vv((size_t)m, ta, tb, ta);
        for (int64_t i = 0; i < m; i++) *(float *)(p[0] + (i0 + i) * s[0]) = ta[i];
    }
}

static void f32_row(void *c, int64_t n, char **p, const int64_t *s) {
    const nb_f32_vbinary_ukernels *k = c;
    float *o = (float *)p[0];
    const float *a = (const float *)p[1], *b = (const float *)p[2];
    switch (nb__row_layout(n, p, s, (int64_t)sizeof(float))) {
    case NB_ROW_VV:
    case NB_ROW_VV_IP: k->vv((size_t)n, a, b, o); return;   /* in place: o == a */
    case NB_ROW_VS:
    case NB_ROW_VS_IP: k->vc((size_t)n, a, *b, o); return;
    case NB_ROW_SV: k->rc((size_t)n, b, *a, o); return;
    case NB_ROW_STRIDED: break;
    }
    f32_strided(k, n, p, s);
}

/* The micro-kernel family of each op (-1: none). */
static const int vbinary_of[NB_BIN_COUNT] = {
    [NB_BIN_ADD] = NB_VBIN_ADD, [NB_BIN_SUB] = NB_VBIN_SUB, [NB_BIN_MUL] = NB_VBIN_MUL,
    [NB_BIN_DIV] = NB_VBIN_DIV, [NB_BIN_POW] = -1, [NB_BIN_EQ] = NB_VBIN_EQ,
    [NB_BIN_RELU_GRAD] = NB_VBIN_RELU_GRAD, [NB_BIN_GELU_GRAD] = -1, [NB_BIN_LOG_GRAD] = -1,
    [NB_BIN_POW_GRAD] = -1, [NB_BIN_TANH_GRAD] = NB_VBIN_TANH_GRAD,
    [NB_BIN_SIGMOID_GRAD] = NB_VBIN_SIGMOID_GRAD,
};

/* float64 and int64: typed loops over restrict pointers for the layouts
   nb__row_layout recognises, which the compiler vectorizes at the
   baseline ISA; each element still one exactly rounded IEEE operation. */
#define FAST_ROW(NAME, T, OP)                                                                   \
    static void NAME##_vv(int64_t n, T *restrict o, const T *restrict a, const T *restrict b) {  \
        for (int64_t i = 0; i < n; i++) o[i] = OP(a[i], b[i]);                                   \
    }                                                                                            \
    static void NAME##_vv_ip(int64_t n, T *restrict o, const T *restrict b) {                   \
        for (int64_t i = 0; i < n; i++) o[i] = OP(o[i], b[i]);                                   \
    }                                                                                            \
    static void NAME##_vs(int64_t n, T *restrict o, const T *restrict a, T b) {                 \
        for (int64_t i = 0; i < n; i++) o[i] = OP(a[i], b);                                      \
    }                                                                                            \
    static void NAME##_vs_ip(int64_t n, T *restrict o, T b) {                                   \
        for (int64_t i = 0; i < n; i++) o[i] = OP(o[i], b);                                      \
    }                                                                                            \
    static void NAME##_sv(int64_t n, T *restrict o, T a, const T *restrict b) {                 \
        for (int64_t i = 0; i < n; i++) o[i] = OP(a, b[i]);                                      \
    }                                                                                            \
    static void NAME(void *c, int64_t n, char **p, const int64_t *s) {                          \
        (void)c;                                                                                 \
        switch (nb__row_layout(n, p, s, (int64_t)sizeof(T))) {                                   \
        case NB_ROW_VV: NAME##_vv(n, (T *)p[0], (const T *)p[1], (const T *)p[2]); return;       \
        case NB_ROW_VV_IP: NAME##_vv_ip(n, (T *)p[0], (const T *)p[2]); return;                  \
        case NB_ROW_VS: NAME##_vs(n, (T *)p[0], (const T *)p[1], *(const T *)p[2]); return;      \
        case NB_ROW_VS_IP: NAME##_vs_ip(n, (T *)p[0], *(const T *)p[2]); return;                 \
        case NB_ROW_SV: NAME##_sv(n, (T *)p[0], *(const T *)p[1], (const T *)p[2]); return;      \
        case NB_ROW_STRIDED: break;                                                              \
        }                                                                                        \
        for (int64_t i = 0; i < n; i++)                                                          \
            *(T *)(p[0] + i * s[0]) = OP(*(const T *)(p[1] + i * s[1]), *(const T *)(p[2] + i * s[2])); \
    }

#define OP_ADD(x, y) ((x) + (y))
#define OP_SUB(x, y) ((x) - (y))
#define OP_MUL(x, y) ((x) * (y))
#define OP_DIV(x, y) ((x) / (y))
/* Wrapping integer arithmetic (through uint64_t: signed overflow is UB). */
#define OP_ADD_I(x, y) ((int64_t)((uint64_t)(x) + (uint64_t)(y)))
#define OP_SUB_I(x, y) ((int64_t)((uint64_t)(x) - (uint64_t)(y)))
#define OP_MUL_I(x, y) ((int64_t)((uint64_t)(x) * (uint64_t)(y)))
#define OP_EQ_D(x, y) ((x) == (y) ? 1.0 : 0.0)
#define OP_EQ_I(x, y) ((int64_t)((x) == (y)))
#define OP_RELUG_D(x, y) ((y) <= 0 ? 0.0 : (x))   /* NaN y passes x (threshold_backward) */
#define OP_TANHG_D(x, y) ((x) * (1.0 - (y) * (y)))
#define OP_SIGMOIDG_D(x, y) ((x) * ((y) * (1.0 - (y))))

FAST_ROW(add_f64, double, OP_ADD)
FAST_ROW(sub_f64, double, OP_SUB)
FAST_ROW(mul_f64, double, OP_MUL)
FAST_ROW(div_f64, double, OP_DIV)
FAST_ROW(eq_f64, double, OP_EQ_D)
FAST_ROW(relug_f64, double, OP_RELUG_D)
FAST_ROW(tanhg_f64, double, OP_TANHG_D)
FAST_ROW(sigmoidg_f64, double, OP_SIGMOIDG_D)
FAST_ROW(add_i64, int64_t, OP_ADD_I)
FAST_ROW(sub_i64, int64_t, OP_SUB_I)
FAST_ROW(mul_i64, int64_t, OP_MUL_I)
FAST_ROW(eq_i64, int64_t, OP_EQ_I)

/* Ops through libm (tens of ns per element): the strided loop; they are
   threaded at a smaller grain (SLOW_GRAIN). */
#define SLOW_ROWS(T, SUF, POW, LOG)                                                          \
    static void pow_##SUF(void *c, int64_t n, char **p, const int64_t *s) { (void)c;          \
        for (int64_t i = 0; i < n; i++) *(T *)(p[0] + i * s[0]) = POW(*(T *)(p[1] + i * s[1]), *(T *)(p[2] + i * s[2])); } \
    static void gelug_##SUF(void *c, int64_t n, char **p, const int64_t *s) { (void)c;        \
        for (int64_t i = 0; i < n; i++) *(T *)(p[0] + i * s[0]) = *(T *)(p[1] + i * s[1]) * (T)gelu_grad(*(T *)(p[2] + i * s[2])); } \
    static void logg_##SUF(void *c, int64_t n, char **p, const int64_t *s) { (void)c;         \
        for (int64_t i = 0; i < n; i++) { T b = *(T *)(p[2] + i * s[2]), a = *(T *)(p[1] + i * s[1]); \
            *(T *)(p[0] + i * s[0]) = (b == 0 && a == 0) ? 0 : a * LOG(b); } }                  \
    static void powg_##SUF(void *c, int64_t n, char **p, const int64_t *s) { (void)c;         \
        for (int64_t i = 0; i < n; i++) { T b = *(T *)(p[2] + i * s[2]), a = *(T *)(p[1] + i * s[1]); \
            *(T *)(p[0] + i * s[0]) = b == 0 ? 0 : b * POW(a, b - 1); } }                       \


SLOW_ROWS(float, f32, powf, logf)
SLOW_ROWS(double, f64, pow, log)

static const nb_row_fn rows_f32[NB_BIN_COUNT] = {
    f32_row, f32_row, f32_row, f32_row, pow_f32, f32_row, f32_row, gelug_f32, logg_f32, powg_f32,
    f32_row, f32_row};
static const nb_row_fn rows_f64[NB_BIN_COUNT] = {
    add_f64, sub_f64, mul_f64, div_f64, pow_f64, eq_f64, relug_f64, gelug_f64, logg_f64, powg_f64,
    tanhg_f64, sigmoidg_f64};

static const nb_row_fn rows_i64[NB_BIN_COUNT] = {add_i64, sub_i64, mul_i64, NULL, NULL, eq_i64};

/* Elements per thread below which a libm-bound op stays on one thread.
   float32 pow is 2.5-5 ns per element (glibc), and measured with 2 threads
   already running it pays from 512 elements a thread; 4K (10-20 us of
   work) also covers waking sleeping threads. */
#define SLOW_GRAIN ((int64_t)1 << 12)

static bool is_slow(nb_binop op) {
    return op == NB_BIN_POW || op == NB_BIN_GELU_GRAD || op == NB_BIN_LOG_GRAD || op == NB_BIN_POW_GRAD;
}

static const char *const binop_names[NB_BIN_COUNT] = {"add", "sub", "mul", "div", "pow", "eq"};

/* The row of op on dtype d and its ctx (the micro-kernel entry of a
   float32 op that has one). */
static nb_row_fn binop_row(const char *fn, nb_binop op, nb_dtype d, void **ctx) {
    nb_row_fn row = d == NB_FLOAT32 ? rows_f32[op] : d == NB_FLOAT64 ? rows_f64[op] : rows_i64[op];
    *ctx = NULL;
    if (!row)
        nb_error(NB_ERR_DTYPE, fn, "%s is not defined for %s", binop_names[op] ? binop_names[op] : "this op",
                 nb_dtype_name(d));
    else if (row == f32_row)
        *ctx = (void *)&nb_ukernels_active()->vbinary[vbinary_of[op]];
    return row;
}

/* out <- op(a, b) elementwise; out has the broadcast shape, all one dtype.
   out may be a itself (each element is read before it is written). */
static void binary_into(nb_binop op, nb_row_fn row, void *ctx, nb_tensor *out, const nb_tensor *a,
                        const nb_tensor *b) {
    int64_t sa[NB_MAX_DIMS], sb[NB_MAX_DIMS];
    broadcast_strides(a, out->ndim, out->shape, sa);
    broadcast_strides(b, out->ndim, out->shape, sb);
    char *base[3] = {nb_ptr(out), nb_ptr(a), nb_ptr(b)};
    const int64_t *st[3] = {out->strides, sa, sb};
    size_t es = nb_esize(a->dtype), esz[3] = {es, es, es};
    nb__foreach_grain(out->ndim, out->shape, 3, base, st, esz, row, ctx,
                      is_slow(op) ? SLOW_GRAIN : NB_FOREACH_GRAIN);
}

/* a and b have the same dtype; out is allocated with the broadcast shape. */
nb_tensor *nb__binary_raw(const char *fn, nb_binop op, const nb_tensor *a, const nb_tensor *b) {
    int n;
    int64_t shape[NB_MAX_DIMS];
    if (nb__broadcast_shape(fn, a->ndim, a->shape, b->ndim, b->shape, &n, shape)) return NULL;
    void *ctx;
    nb_row_fn row = binop_row(fn, op, a->dtype, &ctx);
    if (!row) return NULL;
    nb_tensor *out = nb__empty(fn, n, shape, a->dtype);
    if (out) binary_into(op, row, ctx, out, a, b);
    return out;
}

nb_tensor *nb__binary_raw_into_grad(const char *fn, nb_binop op, nb_tensor *g, const nb_tensor *b) {
    void *ctx;
    nb_row_fn row = nb__grad_writable(g, b) ? binop_row(fn, op, g->dtype, &ctx) : NULL;
    if (!row) return nb__binary_raw(fn, op, g, b);
    binary_into(op, row, ctx, g, g, b);   /* elementwise: out[i] reads only a[i], b[i] */
    return nb_tensor_retain(g);
}

/* ---- type promotion (torch.result_type, for two operands) ---- */

static int category(nb_dtype d) { return nb_is_float(d) ? 1 : 0; }
static nb_dtype promote2(nb_dtype a, nb_dtype b) {
    if (a == NB_FLOAT64 || b == NB_FLOAT64) return NB_FLOAT64;
    if (a == NB_FLOAT32 || b == NB_FLOAT32) return NB_FLOAT32;
    return NB_INT64;
}
static nb_dtype result_type(const nb_tensor *a, const nb_tensor *b) {
    bool za = a->ndim == 0, zb = b->ndim == 0;
    if (za == zb) return promote2(a->dtype, b->dtype);
    const nb_tensor *d = za ? b : a, *z = za ? a : b;   /* dimensioned operands win ties of category */
    return category(z->dtype) > category(d->dtype) ? z->dtype : d->dtype;
}

/* ---- binary ops with autograd ---- */

static nb_status store_shapes(nb_node *n, const nb_tensor *a, const nb_tensor *b) {
    int64_t v[2 + 2 * NB_MAX_DIMS];
    int k = 0;
    v[k++] = a->ndim;
    for (int i = 0; i < a->ndim; i++) v[k++] = a->shape[i];
    v[k++] = b->ndim;
    for (int i = 0; i < b->ndim; i++) v[k++] = b->shape[i];
    return nb__node_ints(n, k, v);
}

static nb_tensor *binary(const char *fn, nb_binop op, nb_tensor *a, nb_tensor *b, nb_backward_fn rule) {
    if (!a || !b) { nb_error(NB_ERR_ARG, fn, "%s is NULL", a ? "b" : "a"); return NULL; }
    nb_dtype rt = result_type(a, b);
    if ((op == NB_BIN_DIV || op == NB_BIN_POW) && rt == NB_INT64) rt = NB_FLOAT32;   /* true division */
    nb_tensor *ac = nb_to_dtype(a, rt), *bc = ac ? nb_to_dtype(b, rt) : NULL;
    nb_tensor *out = bc ? nb__binary_raw(fn, op, ac, bc) : NULL;
    nb_node *node = NULL;
    nb_tensor *in[2] = {ac, bc};
    out = nb__record(out, fn, rule, 2, in, &node);
    if (node) {
        nb_status s = store_shapes(node, ac, bc);
        /* Save only what the needed grads read (as PyTorch), so that an
           operand whose grad is not needed may change afterwards:
           mul: da needs b, db needs a; div: da needs b, db needs a and b;
           pow: da needs a and b, db needs a and the output. */
        const bool da = nb_node_needs(node, 0), db = nb_node_needs(node, 1);
        bool save_a = false, save_b = false, save_out = false;
        if (op == NB_BIN_MUL) { save_a = db; save_b = da; }
        if (op == NB_BIN_DIV) { save_a = db; save_b = true; }
        if (op == NB_BIN_POW) { save_a = save_b = true; save_out = db; }
        if (!s && save_a) s = nb__node_save(node, 0, ac);
        if (!s && save_b) s = nb__node_save(node, 1, bc);
        if (!s && save_out) s = nb__node_save(node, 2, out);
        if (s) { nb_tensor_release(out); out = NULL; }
    }
    nb_tensor_release(ac);
    nb_tensor_release(bc);
    return out;
}

nb_tensor *nb_add(nb_tensor *a, nb_tensor *b) { return binary("nb_add", NB_BIN_ADD, a, b, nb_grad_add); }
nb_tensor *nb_sub(nb_tensor *a, nb_tensor *b) { return binary("nb_sub", NB_BIN_SUB, a, b, nb_grad_sub); }
nb_tensor *nb_mul(nb_tensor *a, nb_tensor *b) { return binary("nb_mul", NB_BIN_MUL, a, b, nb_grad_mul); }
nb_tensor *nb_div(nb_tensor *a, nb_tensor *b) { return binary("nb_div", NB_BIN_DIV, a, b, nb_grad_div); }
nb_tensor *nb_pow(nb_tensor *a, nb_tensor *b) { return binary("nb_pow", NB_BIN_POW, a, b, nb_grad_pow); }

/* A Python number next to a tensor: the tensor's dtype, unless an integer
   tensor meets a fractional number (then the default float dtype). */
static nb_tensor *scalar_for(const nb_tensor *a, double s, bool force_float) {
    nb_dtype d = a->dtype;
    if (d == NB_INT64 && (force_float || s != floor(s) || !isfinite(s))) d = NB_FLOAT32;
    return nb_scalar(s, d);
}

static nb_tensor *binary_scalar(const char *fn, nb_binop op, nb_tensor *a, double s, nb_backward_fn rule) {
    if (!a) { nb_error(NB_ERR_ARG, fn, "a is NULL"); return NULL; }
    nb_tensor *b = scalar_for(a, s, op == NB_BIN_DIV || op == NB_BIN_POW);
    if (!b) return NULL;
    nb_tensor *out = binary(fn, op, a, b, rule);
    nb_tensor_release(b);
    return out;
}

nb_tensor *nb_add_scalar(nb_tensor *a, double s) { return binary_scalar("nb_add_scalar", NB_BIN_ADD, a, s, nb_grad_add); }
nb_tensor *nb_sub_scalar(nb_tensor *a, double s) { return binary_scalar("nb_sub_scalar", NB_BIN_SUB, a, s, nb_grad_sub); }
nb_tensor *nb_mul_scalar(nb_tensor *a, double s) { return binary_scalar("nb_mul_scalar", NB_BIN_MUL, a, s, nb_grad_mul); }
nb_tensor *nb_div_scalar(nb_tensor *a, double s) { return binary_scalar("nb_div_scalar", NB_BIN_DIV, a, s, nb_grad_div); }
nb_tensor *nb_pow_scalar(nb_tensor *a, double e) { return binary_scalar("nb_pow_scalar", NB_BIN_POW, a, e, nb_grad_pow); }

/* ---- dtype conversion ---- */

nb_tensor *nb_to_dtype(nb_tensor *t, nb_dtype dtype) {
    const char *fn = "nb_to_dtype";
    if (!t) { nb_error(NB_ERR_ARG, fn, "t is NULL"); return NULL; }
    if (nb__check_dtype(fn, dtype)) return NULL;
    if (t->dtype == dtype) return nb_tensor_retain(t);
    nb_tensor *out = nb__empty(fn, t->ndim, t->shape, dtype);
    if (!out) return NULL;
    nb_status s = nb__copy_into(fn, out, t);
    if (s) { nb_tensor_release(out); return NULL; }
    if (!nb_is_float(dtype) || !nb_is_float(t->dtype)) return out;   /* not differentiable */
    nb_node *node;
    out = nb__record(out, fn, nb_grad_to_dtype, 1, &t, &node);
    if (node) node->in_dtype = t->dtype;
    return out;
}

/* ---- unary ---- */

/* o[i] = OP(a[i]); a dense fast path as for the binary rows. */
#define FAST_ROW1(NAME, T, OP)                                                \
    static void NAME##_dense(int64_t n, T *restrict o, const T *restrict a) {  \
        for (int64_t i = 0; i < n; i++) o[i] = OP(a[i]);                       \
    }                                                                          \
    static void NAME(void *c, int64_t n, char **p, const int64_t *s) {        \
        (void)c;                                                               \
        if (nb__row_dense2(n, p, s, sizeof(T), sizeof(T))) {                   \
            NAME##_dense(n, (T *)p[0], (const T *)p[1]);                       \
            return;                                                            \
        }                                                                      \
        for (int64_t i = 0; i < n; i++)                                        \
            *(T *)(p[0] + i * s[0]) = OP(*(const T *)(p[1] + i * s[1]));       \
    }
#define OP_NEG(x) (-(x))
#define OP_NEG_I(x) ((int64_t)(0 - (uint64_t)(x)))
#define OP_RELU_I(x) ((x) > 0 ? (x) : 0)
FAST_ROW1(neg_f32, float, OP_NEG)
FAST_ROW1(neg_f64, double, OP_NEG)
FAST_ROW1(neg_i64, int64_t, OP_NEG_I)
FAST_ROW1(relu_i64_row, int64_t, OP_RELU_I)

static nb_tensor *map_rows(const char *fn, nb_tensor *x, nb_row_fn row, void *ctx, int64_t grain) {
    nb_tensor *out = nb__empty(fn, x->ndim, x->shape, x->dtype);
    if (!out) return NULL;
    char *base[2] = {nb_ptr(out), nb_ptr(x)};
    const int64_t *st[2] = {out->strides, x->strides};
    size_t es[2] = {nb_esize(x->dtype), nb_esize(x->dtype)};
    nb__foreach_grain(x->ndim, x->shape, 2, base, st, es, row, ctx, grain);
    return out;
}

nb_tensor *nb_neg(nb_tensor *x) {
    if (!x) { nb_error(NB_ERR_ARG, "nb_neg", "x is NULL"); return NULL; }
    nb_dtype d = x->dtype;
    nb_row_fn row = d == NB_FLOAT32 ? neg_f32 : d == NB_FLOAT64 ? neg_f64 : neg_i64;
    nb_tensor *out = map_rows("nb_neg", x, row, NULL, NB_FOREACH_GRAIN);
    return nb__record(out, "nb_neg", nb_grad_neg, 1, &x, NULL);
}

static double sigmoid_d(double v) { return 1.0 / (1.0 + exp(-v)); }
static double gelu_d(double v) { return 0.5 * v * (1.0 + erf(v * 0.70710678118654752440)); }
static double relu_d(double v) { return v > 0 ? v : (v != v ? v : 0.0); }   /* NaN propagates */

static double apply_d(nb_unary_op op, double v) {
    switch (op) {
    case NB_UNARY_EXP: return exp(v);
    case NB_UNARY_LOG: return log(v);
    case NB_UNARY_TANH: return tanh(v);
    case NB_UNARY_SIGMOID: return sigmoid_d(v);
    case NB_UNARY_GELU: return gelu_d(v);
    case NB_UNARY_RELU: return relu_d(v);
    }
    return NAN;
}

static void f64_row(void *c, int64_t n, char **p, const int64_t *s) {
    nb_unary_op op = *(nb_unary_op *)c;
    for (int64_t i = 0; i < n; i++) *(double *)(p[0] + i * s[0]) = apply_d(op, *(double *)(p[1] + i * s[1]));
}

/* out = f(x) without autograd. float32 goes through the nb_sunary kernel on a
   dense buffer; float64 is plain C (reference precision for gradient checks). */
static nb_tensor *unary_raw(const char *fn, nb_unary_op op, nb_tensor *x) {
    if (x->dtype == NB_FLOAT64) return map_rows(fn, x, f64_row, &op, SLOW_GRAIN);
    nb_tensor *out = nb__empty(fn, x->ndim, x->shape, x->dtype);
    if (!out) return NULL;
    nb_tensor *src = x;
    nb_status s = NB_OK;
    if (!nb_tensor_is_contiguous(x)) {   /* densify into out, then transform in place */
        s = nb__copy_into(fn, out, x);
        src = out;
    }
    if (!s) s = nb_sunary(op, nb_tensor_numel(x), (const float *)nb_ptr(src), (float *)nb_ptr(out));
    if (s) { nb_tensor_release(out); return NULL; }
    return out;
}

static nb_tensor *unary(const char *fn, nb_unary_op op, nb_tensor *x, nb_backward_fn rule, bool save_out) {
    if (!x) { nb_error(NB_ERR_ARG, fn, "x is NULL"); return NULL; }
    if (x->dtype == NB_INT64) {
        if (op == NB_UNARY_RELU) return map_rows(fn, x, relu_i64_row, NULL, NB_FOREACH_GRAIN);
        /* As PyTorch: integer inputs of float functions give float32. */
        nb_tensor *xf = nb_to_dtype(x, NB_FLOAT32);
        nb_tensor *out = xf ? unary(fn, op, xf, rule, save_out) : NULL;
        nb_tensor_release(xf);
        return out;
    }
    nb_tensor *out = unary_raw(fn, op, x);
    nb_node *node;
    out = nb__record(out, fn, rule, 1, &x, &node);
    if (node && nb__node_save(node, 0, save_out ? out : x)) { nb_tensor_release(out); return NULL; }
    return out;
}

nb_tensor *nb_exp(nb_tensor *x) { return unary("nb_exp", NB_UNARY_EXP, x, nb_grad_exp, true); }
nb_tensor *nb_log(nb_tensor *x) { return unary("nb_log", NB_UNARY_LOG, x, nb_grad_log, false); }
nb_tensor *nb_tanh(nb_tensor *x) { return unary("nb_tanh", NB_UNARY_TANH, x, nb_grad_tanh, true); }
nb_tensor *nb_sigmoid(nb_tensor *x) { return unary("nb_sigmoid", NB_UNARY_SIGMOID, x, nb_grad_sigmoid, true); }
nb_tensor *nb_relu(nb_tensor *x) { return unary("nb_relu", NB_UNARY_RELU, x, nb_grad_relu, true); }
nb_tensor *nb_gelu(nb_tensor *x) { return unary("nb_gelu", NB_UNARY_GELU, x, nb_grad_gelu, false); }

/* ---- in place ---- */

/* a <- op(a, b), b broadcast to a's shape and converted to a's dtype. */
static nb_status inplace(const char *fn, nb_binop op, nb_tensor *a, nb_tensor *b, nb_backward_fn rule) {
    if (!a || !b) return nb_error(NB_ERR_ARG, fn, "%s is NULL", a ? "b" : "a");
    nb_status s = nb__check_writable(fn, a);
    if (s) return s;
    int n;
    int64_t shape[NB_MAX_DIMS];
    if ((s = nb__broadcast_shape(fn, a->ndim, a->shape, b->ndim, b->shape, &n, shape))) return s;
    if (n != a->ndim || memcmp(shape, a->shape, sizeof(int64_t) * (size_t)n)) {
        char b1[128], b2[128];
        return nb_error(NB_ERR_SHAPE, fn, "the shape %s of b does not broadcast to the shape %s of a",
                        nb__shape_str(b1, sizeof b1, b->ndim, b->shape), nb__shape_str(b2, sizeof b2, a->ndim, a->shape));
    }
    nb_dtype rt = result_type(a, b);
    if (op == NB_BIN_DIV && rt == NB_INT64) rt = NB_FLOAT32;
    if (nb_is_float(rt) && !nb_is_float(a->dtype))
        return nb_error(NB_ERR_DTYPE, fn, "result type %s can't be cast to the dtype %s of a",
                        nb_dtype_name(rt), nb_dtype_name(a->dtype));
    const bool graph = nb__needs_graph(2, (nb_tensor *[]){a, b});
    if (graph && a->is_grad_view)
        return nb_error(NB_ERR_UNSUPPORTED, fn, "in-place ops on a view of a tensor that requires grad are not "
                        "supported; use the out-of-place op");
    if (graph && !nb_requires_grad(a) && a->storage->refcount > 1)
        return nb_error(NB_ERR_UNSUPPORTED, fn, "writing a value that requires grad into a tensor that shares its "
                        "storage (a view) is not supported: the other views would not record it; use nb_cat, "
                        "nb_stack or out-of-place ops");
    if (graph && (op == NB_BIN_MUL || op == NB_BIN_DIV) && nb_requires_grad(b))
        return nb_error(NB_ERR_UNSUPPORTED, fn, "in-place mul/div by a tensor that requires grad is not "
                        "supported; use the out-of-place op");

    void *ctx;
    nb_row_fn row = binop_row(fn, op, a->dtype, &ctx);
    if (!row) return NB_ERR_DTYPE;
    nb_no_grad_enter();
    nb_tensor *bc = nb_to_dtype(b, a->dtype);
    nb_no_grad_exit();
    if (!bc) return NB_ERR_OOM;
    nb_node *node = NULL;
    if (graph) {
        node = nb__node_new(fn, rule, 2, (nb_tensor *[]){a, b});
        if (node && (s = store_shapes(node, a, b)) == NB_OK && op != NB_BIN_ADD && op != NB_BIN_SUB)
            s = nb__node_save(node, 1, bc);
        if (!node || s) {
            if (node) nb__node_release(node);
            nb_tensor_release(bc);
            return NB_ERR_OOM;
        }
        node->scalar = op == NB_BIN_SUB ? -1.0 : 1.0;
    }
    if (!nb_tensor_shares_storage(a, bc)) {
        binary_into(op, row, ctx, a, a, bc);   /* straight into a: no temporary */
    } else {                          /* b reads a's memory: go through a copy */
        nb_tensor *r = nb__binary_raw(fn, op, a, bc);
        s = r ? nb__copy_into(fn, a, r) : NB_ERR_OOM;
        nb_tensor_release(r);
        if (s) { nb_tensor_release(bc); if (node) nb__node_release(node); return s; }
    }
    nb_tensor_release(bc);
    nb__bump_version(a);
    if (node) {
        if (a->grad_fn) nb__node_release(a->grad_fn);   /* the node holds it now */
        nb__attach(a, node);
    }
    return NB_OK;
}

nb_status nb_add_(nb_tensor *a, nb_tensor *b) { return inplace("nb_add_", NB_BIN_ADD, a, b, nb_grad_inplace_add); }
nb_status nb_sub_(nb_tensor *a, nb_tensor *b) { return inplace("nb_sub_", NB_BIN_SUB, a, b, nb_grad_inplace_add); }
nb_status nb_mul_(nb_tensor *a, nb_tensor *b) { return inplace("nb_mul_", NB_BIN_MUL, a, b, nb_grad_inplace_mul); }
nb_status nb_div_(nb_tensor *a, nb_tensor *b) { return inplace("nb_div_", NB_BIN_DIV, a, b, nb_grad_inplace_div); }

static nb_status inplace_scalar(const char *fn, nb_binop op, nb_tensor *a, double v, nb_backward_fn rule) {
    if (!a) return nb_error(NB_ERR_ARG, fn, "a is NULL");
    /* PyTorch: a float scalar makes the result float, which an integer
       tensor cannot hold. A C double cannot say "2" from "2.0": integral
       values count as integer scalars. */
    if (!nb_is_float(a->dtype) && v != floor(v))
        return nb_error(NB_ERR_DTYPE, fn, "result type float32 (the scalar %g) can't be cast to the dtype %s of a",
                        v, nb_dtype_name(a->dtype));
    nb_tensor *b = nb_scalar(v, a->dtype);
    if (!b) return NB_ERR_OOM;
    nb_status s = inplace(fn, op, a, b, rule);
    nb_tensor_release(b);
    return s;
}
nb_status nb_add_scalar_(nb_tensor *a, double v) { return inplace_scalar("nb_add_scalar_", NB_BIN_ADD, a, v, nb_grad_inplace_add); }
nb_status nb_mul_scalar_(nb_tensor *a, double v) { return inplace_scalar("nb_mul_scalar_", NB_BIN_MUL, a, v, nb_grad_inplace_mul); }
nb_status nb_sub_scalar_(nb_tensor *a, double v) { return inplace_scalar("nb_sub_scalar_", NB_BIN_SUB, a, v, nb_grad_inplace_add); }
nb_status nb_div_scalar_(nb_tensor *a, double v) { return inplace_scalar("nb_div_scalar_", NB_BIN_DIV, a, v, nb_grad_inplace_div); }

nb_status nb_copy_(nb_tensor *dst, nb_tensor *src) {
    const char *fn = "nb_copy_";
    if (!dst || !src) return nb_error(NB_ERR_ARG, fn, "%s is NULL", dst ? "src" : "dst");
    nb_status s = nb__check_writable(fn, dst);
    if (s) return s;
    int n;
    int64_t shape[NB_MAX_DIMS];
    if ((s = nb__broadcast_shape(fn, dst->ndim, dst->shape, src->ndim, src->shape, &n, shape))) return s;
    if (n != dst->ndim || memcmp(shape, dst->shape, sizeof(int64_t) * (size_t)n)) {
        char b1[128], b2[128];
        return nb_error(NB_ERR_SHAPE, fn, "the shape %s of src does not broadcast to the shape %s of dst",
                        nb__shape_str(b1, sizeof b1, src->ndim, src->shape),
                        nb__shape_str(b2, sizeof b2, dst->ndim, dst->shape));
    }
    const bool graph = nb__needs_graph(2, (nb_tensor *[]){dst, src});
    if (graph && dst->is_grad_view)
        return nb_error(NB_ERR_UNSUPPORTED, fn, "in-place copy into a view of a tensor that requires grad is "
                        "not supported");
    if (graph && !nb_requires_grad(dst) && dst->storage->refcount > 1)
        return nb_error(NB_ERR_UNSUPPORTED, fn, "copying a value that requires grad into a tensor that shares its "
                        "storage (a view) is not supported: the other views would not record it; use nb_cat, "
                        "nb_stack or out-of-place ops");
    /* Read src through broadcast strides; a private copy when it overlaps dst. */
    int64_t st[NB_MAX_DIMS];
    broadcast_strides(src, n, shape, st);
    nb_tensor *view = nb__alias(src, n, shape, st, src->offset);
    if (!view) return NB_ERR_OOM;
    if (nb_tensor_shares_storage(dst, src)) {
        nb_tensor *c = nb__empty(fn, n, shape, src->dtype);
        if (!c || nb__copy_into(fn, c, view)) { nb_tensor_release(c); nb_tensor_release(view); return NB_ERR_OOM; }
        nb_tensor_release(view);
        view = c;
    }
    nb_node *node = NULL;
    if (graph) {
        node = nb__node_new(fn, nb_grad_inplace_copy, 2, (nb_tensor *[]){dst, src});
        if (!node || store_shapes(node, dst, src)) {
            if (node) nb__node_release(node);
            nb_tensor_release(view);
            return NB_ERR_OOM;
        }
        node->in_dtype = src->dtype;
    }
    s = nb__copy_into(fn, dst, view);
    nb_tensor_release(view);
    if (s) { if (node) nb__node_release(node); return s; }
    nb__bump_version(dst);
    if (node) {
        if (dst->grad_fn) nb__node_release(dst->grad_fn);
        nb__attach(dst, node);
    }
    return NB_OK;
}
