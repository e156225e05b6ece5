/* Every backward rule, one function per primitive.
 *
 * Notation: g is the gradient of the loss L with respect to the op's output
 * y (dL/dy, same shape as y); each rule writes grads[i] = dL/d(input i) for
 * the inputs that need it (nb_node_needs). Rules run in no-grad mode and
 * build their results with the ordinary tensor ops. sum_to(t, shape) sums a
 * broadcast gradient back to an input's shape (the adjoint of broadcasting).
 */
#include <math.h>
#include <string.h>

#include "autograd_internal.h"

#define OOM_IF(cond) do { if (cond) return NB_ERR_OOM; } while (0)

/* Binary ops store [ndim_a, shape_a..., ndim_b, shape_b...] in ints. */
static int in_shape(const nb_node *n, int which, int64_t *shape) {
    const int64_t *v = n->ints;
    if (which == 1) v += 1 + v[0];
    memcpy(shape, v + 1, sizeof(int64_t) * (size_t)v[0]);
    return (int)v[0];
}

/* grads[i] = sum_to(t, shape of input i); consumes t. */
static nb_status give(nb_node *n, int i, nb_tensor *t, nb_tensor **grads) {
    if (!t) return NB_ERR_OOM;
    int64_t shape[NB_MAX_DIMS];
    int nd = in_shape(n, i, shape);
    grads[i] = nb__sum_to(t, nd, shape);
    nb_tensor_release(t);
    return grads[i] ? NB_OK : NB_ERR_OOM;
}

static nb_tensor *saved(nb_node *n, int i) { return n->saved[i].t; }

/* A gradient rule that is one elementwise row g op y (y saved by the
   forward op), computed in y's dtype (g has it already: the engine checks
   the seed's dtype and every rule returns its input's). */
static nb_tensor *fused_rule(const char *fn, nb_binop op, nb_tensor *g, nb_tensor *y) {
    nb_tensor *gc = nb_to_dtype(g, y->dtype);
    nb_tensor *r = gc ? nb__binary_raw(fn, op, gc, y) : NULL;
    nb_tensor_release(gc);
    return r;
}

/* y = a + b:  dL/da = sum_to(g),  dL/db = sum_to(g) */
nb_status nb_grad_add(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    nb_status s = NB_OK;
    if (nb_node_needs(n, 0)) s = give(n, 0, nb_tensor_retain(g), grads);
    if (!s && nb_node_needs(n, 1)) s = give(n, 1, nb_tensor_retain(g), grads);
    return s;
}

/* y = a - b:  dL/da = sum_to(g),  dL/db = sum_to(-g) */
nb_status nb_grad_sub(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    nb_status s = NB_OK;
    if (nb_node_needs(n, 0)) s = give(n, 0, nb_tensor_retain(g), grads);
    if (!s && nb_node_needs(n, 1)) s = give(n, 1, nb_neg(g), grads);
    return s;
}

/* y = a * b:  dL/da = sum_to(g * b),  dL/db = sum_to(g * a) */
nb_status nb_grad_mul(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    nb_status s = NB_OK;
    if (nb_node_needs(n, 0)) s = give(n, 0, nb_mul(g, saved(n, 1)), grads);
    if (!s && nb_node_needs(n, 1)) s = give(n, 1, nb_mul(g, saved(n, 0)), grads);
    return s;
}

/* y = a / b:  dL/da = sum_to(g / b),  dL/db = sum_to(-g * a / b^2) */
nb_status nb_grad_div(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    nb_tensor *a = saved(n, 0), *b = saved(n, 1);
    nb_status s = NB_OK;
    if (nb_node_needs(n, 0)) s = give(n, 0, nb_div(g, b), grads);
    if (!s && nb_node_needs(n, 1)) {
        nb_tensor *ga = nb_mul(g, a), *bb = ga ? nb_mul(b, b) : NULL, *q = bb ? nb_div(ga, bb) : NULL;
        nb_tensor *r = q ? nb_neg(q) : NULL;
        nb_tensor_release(ga); nb_tensor_release(bb); nb_tensor_release(q);
        s = give(n, 1, r, grads);
    }
    return s;
}

/* y = a ^ b:  dL/da = sum_to(g * b * a^(b-1))     (0 where b == 0)
               dL/db = sum_to(g * y * log(a))      (0 where a == 0 and g*y == 0) */
nb_status nb_grad_pow(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    nb_tensor *a = saved(n, 0), *b = saved(n, 1), *y = saved(n, 2);
    nb_status s = NB_OK;
    if (nb_node_needs(n, 0)) {
        nb_tensor *d = nb__binary_raw("nb_pow", NB_BIN_POW_GRAD, a, b);
        nb_tensor *r = d ? nb_mul(g, d) : NULL;
        nb_tensor_release(d);
        s = give(n, 0, r, grads);
    }
    if (!s && nb_node_needs(n, 1)) {
        nb_tensor *gy = nb_mul(g, y);
        nb_tensor *r = gy ? nb__binary_raw("nb_pow", NB_BIN_LOG_GRAD, gy, a) : NULL;
        nb_tensor_release(gy);
        s = give(n, 1, r, grads);
    }
    return s;
}

/* y = -x:  dL/dx = -g */
nb_status nb_grad_neg(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    (void)n;
    return (grads[0] = nb_neg(g)) ? NB_OK : NB_ERR_OOM;
}

/* y = exp(x):  dL/dx = g * y */
nb_status nb_grad_exp(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    return (grads[0] = nb_mul(g, saved(n, 0))) ? NB_OK : NB_ERR_OOM;
}

/* y = log(x):  dL/dx = g / x */
nb_status nb_grad_log(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    return (grads[0] = nb_div(g, saved(n, 0))) ? NB_OK : NB_ERR_OOM;
}

/* y = tanh(x):  dL/dx = g * (1 - y^2), rounded after each operation in
   that order (one pass of the active ISA's micro-kernel). */
nb_status nb_grad_tanh(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    return (grads[0] = fused_rule("nb_tanh", NB_BIN_TANH_GRAD, g, saved(n, 0))) ? NB_OK : NB_ERR_OOM;
}

/* y = sigmoid(x) = 1 / (1 + exp(-x)):  dL/dx = g * (y * (1 - y)), rounded
   after each operation in that order. */
nb_status nb_grad_sigmoid(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    return (grads[0] = fused_rule("nb_sigmoid", NB_BIN_SIGMOID_GRAD, g, saved(n, 0))) ? NB_OK : NB_ERR_OOM;
}

/* y = max(x, 0):  dL/dx = g where y > 0, else 0 (also at x == 0 and for NaN);
   into g itself when nobody else sees it (a pool's or GEMM's fresh dx) */
nb_status nb_grad_relu(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    return (grads[0] = nb__binary_raw_into_grad("nb_relu", NB_BIN_RELU_GRAD, g, saved(n, 0))) ? NB_OK : NB_ERR_OOM;
}

/* y = x Phi(x), Phi the standard normal CDF:  dL/dx = g * (Phi(x) + x phi(x)) */
nb_status nb_grad_gelu(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    return (grads[0] = nb__binary_raw("nb_gelu", NB_BIN_GELU_GRAD, g, saved(n, 0))) ? NB_OK : NB_ERR_OOM;
}

/* y = x.to(dtype):  dL/dx = g.to(x.dtype) */
nb_status nb_grad_to_dtype(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    return (grads[0] = nb_to_dtype(g, n->in_dtype)) ? NB_OK : NB_ERR_OOM;
}

/* a += c b (c = +1 for add_, -1 for sub_):  dL/da_old = g,  dL/db = sum_to(c g) */
nb_status nb_grad_inplace_add(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    nb_status s = NB_OK;
    if (nb_node_needs(n, 0)) OOM_IF(!(grads[0] = nb_tensor_retain(g)));
    if (nb_node_needs(n, 1)) s = give(n, 1, n->scalar < 0 ? nb_neg(g) : nb_tensor_retain(g), grads);
    return s;
}

/* a *= b (b does not require grad):  dL/da_old = g * b */
nb_status nb_grad_inplace_mul(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    if (!nb_node_needs(n, 0)) return NB_OK;
    return (grads[0] = nb_mul(g, saved(n, 1))) ? NB_OK : NB_ERR_OOM;
}

/* a /= b (b does not require grad):  dL/da_old = g / b */
nb_status nb_grad_inplace_div(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    if (!nb_node_needs(n, 0)) return NB_OK;
    return (grads[0] = nb_div(g, saved(n, 1))) ? NB_OK : NB_ERR_OOM;
}

/* dst.copy_(src) (dst's old values are gone):  dL/ddst_old = 0,
   dL/dsrc = sum_to(g).to(src.dtype) */
nb_status nb_grad_inplace_copy(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    if (!nb_node_needs(n, 1)) return NB_OK;
    nb_tensor *c = nb_to_dtype(g, n->in_dtype);
    return give(n, 1, c, grads);
}

/* y = x.view(shape) / reshape / squeeze / unsqueeze:  dL/dx = g.reshape(x.shape) */
nb_status nb_grad_view(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    return (grads[0] = nb_reshape(g, n->in_ndim, n->in_shape)) ? NB_OK : NB_ERR_OOM;
}

/* y = x.permute(p):  dL/dx = g.permute(p^-1) */
nb_status nb_grad_permute(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    int inv[NB_MAX_DIMS];
    for (int i = 0; i < n->n_ints; i++) inv[n->ints[i]] = i;
    return (grads[0] = nb_permute(g, inv)) ? NB_OK : NB_ERR_OOM;
}

/* y = x.expand(shape):  dL/dx = sum_to(g, x.shape) */
nb_status nb_grad_expand(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    return (grads[0] = nb__sum_to(g, n->in_ndim, n->in_shape)) ? NB_OK : NB_ERR_OOM;
}

/* y = x[..., start::step (len), ...] on dim:  dL/dx = zeros, with g written
   into the same slice */
nb_status nb_grad_slice(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    int d = (int)n->ints[0];
    int64_t start = n->ints[1], step = n->ints[2];
    nb_tensor *z = nb_zeros(n->in_ndim, n->in_shape, g->dtype);
    nb_tensor *v = z ? nb_slice(z, d, start, start + g->shape[d] * step, step) : NULL;
    nb_status s = v ? nb__copy_into("nb_backward", v, g) : NB_ERR_OOM;
    nb_tensor_release(v);
    if (s) { nb_tensor_release(z); return s; }
    grads[0] = z;
    return NB_OK;
}

/* y = x.select(dim, i):  dL/dx = zeros with dL/dx.select(dim, i) = g */
nb_status nb_grad_select(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    nb_tensor *z = nb_zeros(n->in_ndim, n->in_shape, g->dtype);
    nb_tensor *v = z ? nb_select(z, (int)n->ints[0], n->ints[1]) : NULL;
    nb_status s = v ? nb__copy_into("nb_backward", v, g) : NB_ERR_OOM;
    nb_tensor_release(v);
    if (s) { nb_tensor_release(z); return s; }
    grads[0] = z;
    return NB_OK;
}

/* y = clone(x) / contiguous(x):  dL/dx = g */
nb_status nb_grad_identity(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    (void)n;
    grads[0] = nb_tensor_retain(g);
    return NB_OK;
}

/* y = x.repeat(r):  x (padded with leading 1s) is tiled r[d] times along each
   dim d, so dL/dx = the sum of the r[d] blocks of g along every dim */
nb_status nb_grad_repeat(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    nb_tensor *acc = nb_tensor_retain(g);
    for (int d = 0; d < n->n_ints && acc; d++) {
        int64_t r = n->ints[d], size = acc->shape[d] / (r ? r : 1);
        if (r <= 1) continue;
        nb_tensor *sum = nb_narrow(acc, d, 0, size);
        for (int64_t k = 1; sum && k < r; k++) {
            nb_tensor *blk = nb_narrow(acc, d, k * size, size);
            nb_tensor *t = blk ? nb_add(sum, blk) : NULL;
            nb_tensor_release(blk);
            nb_tensor_release(sum);
            sum = t;
        }
        nb_tensor_release(acc);
        acc = sum;
    }
    if (acc) {
        grads[0] = nb_reshape(acc, n->in_ndim, n->in_shape);
        nb_tensor_release(acc);
    }
    return grads[0] ? NB_OK : NB_ERR_OOM;
}

/* y = cat(x_0, ..., x_k, dim):  dL/dx_i = g.narrow(dim, offset_i, size_i) */
nb_status nb_grad_cat(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    int d = (int)n->scalar;
    int64_t at = 0;
    for (int i = 0; i < n->n_next; i++) {
        if (nb_node_needs(n, i)) OOM_IF(!(grads[i] = nb_narrow(g, d, at, n->ints[i])));
        at += n->ints[i];
    }
    return NB_OK;
}

/* g of a reduction, put back in the input's rank (size 1 on reduced dims). */
static nb_tensor *keepdim_grad(nb_node *n, nb_tensor *g) {
    if (n->scalar != 0) return nb_tensor_retain(g);
    int64_t ks[NB_MAX_DIMS];
    for (int d = 0; d < n->in_ndim; d++) ks[d] = (n->ints[0] >> d & 1) ? 1 : n->in_shape[d];
    return nb_reshape(g, n->in_ndim, ks);
}

/* y = sum(x, dims):  dL/dx = g broadcast over the reduced dims */
nb_status nb_grad_sum(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    nb_tensor *k = keepdim_grad(n, g);
    grads[0] = k ? nb_expand(k, n->in_ndim, n->in_shape) : NULL;
    nb_tensor_release(k);
    return grads[0] ? NB_OK : NB_ERR_OOM;
}

/* y = mean(x, dims) = sum(x, dims) / m, m = the number of reduced elements:
   dL/dx = g / m broadcast over the reduced dims */
nb_status nb_grad_mean(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    double m = 1;
    for (int d = 0; d < n->in_ndim; d++)
        if (n->ints[0] >> d & 1) m *= (double)n->in_shape[d];
    nb_tensor *k = keepdim_grad(n, g), *q = k ? nb_div_scalar(k, m) : NULL;
    grads[0] = q ? nb_expand(q, n->in_ndim, n->in_shape) : NULL;
    nb_tensor_release(k);
    nb_tensor_release(q);
    return grads[0] ? NB_OK : NB_ERR_OOM;
}

/* y = amax(x, dims) (or amin):  the gradient is split evenly between the
   elements equal to the extremum:  mask = (x == y),
   dL/dx = mask * g / sum(mask, dims) */
nb_status nb_grad_amax(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    nb_tensor *x = saved(n, 0), *y = saved(n, 1);
    nb_tensor *yk = keepdim_grad(n, y), *gk = yk ? keepdim_grad(n, g) : NULL;
    nb_tensor *mask = gk ? nb__binary_raw("nb_max", NB_BIN_EQ, x, yk) : NULL;
    nb_tensor *cnt = mask ? nb__reduce_mask("nb_max", NB_REDUCE_SUM, mask, (uint64_t)n->ints[0], true) : NULL;
    nb_tensor *share = cnt ? nb_div(gk, cnt) : NULL;
    grads[0] = share ? nb_mul(mask, share) : NULL;
    nb_tensor_release(yk); nb_tensor_release(gk); nb_tensor_release(mask);
    nb_tensor_release(cnt); nb_tensor_release(share);
    return grads[0] ? NB_OK : NB_ERR_OOM;
}

/* The last two dims of t are stored column-major (t is a transposed view,
   like the w^T inside linear). */
static bool col_major(const nb_tensor *t) {
    int n = t->ndim;
    return n >= 2 && t->shape[n - 2] > 1 && t->shape[n - 1] > 1 && t->strides[n - 2] == 1 &&
           t->strides[n - 1] >= t->shape[n - 2];
}

/* x @ y, or (y^T @ x^T)^T when the result should come out column-major:
   the same values, laid out like the operand whose gradient it is, so that
   the gradient of a transposed view (w^T in linear) is dense in w's layout
   and reaches w.grad without a transposing copy. */
static nb_tensor *matmul_as(nb_tensor *x, nb_tensor *y, bool transposed) {
    if (!transposed) return nb_matmul(x, y);
    nb_tensor *yt = nb_transpose(y, -1, -2), *xt = yt ? nb_transpose(x, -1, -2) : NULL;
    nb_tensor *r = xt ? nb_matmul(yt, xt) : NULL, *rt = r ? nb_transpose(r, -1, -2) : NULL;
    nb_tensor_release(yt); nb_tensor_release(xt); nb_tensor_release(r);
    return rt;
}

/* Y = A @ B (batched, broadcast batch dims):  dL/dA = sum_to(G @ B^T),
   dL/dB = sum_to(A^T @ G); transposes are views handed to GEMM as
   transposed operands */
nb_status nb_grad_matmul(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    nb_tensor *a = saved(n, 0), *b = saved(n, 1);
    if (nb_node_needs(n, 0)) {
        nb_tensor *bt = nb_transpose(b, -1, -2), *r = bt ? matmul_as(g, bt, col_major(a)) : NULL;
        nb_tensor_release(bt);
        OOM_IF(!r);
        grads[0] = nb__sum_to(r, a->ndim, a->shape);
        nb_tensor_release(r);
        OOM_IF(!grads[0]);
    }
    if (nb_node_needs(n, 1)) {
        nb_tensor *at = nb_transpose(a, -1, -2), *r = at ? matmul_as(at, g, col_major(b)) : NULL;
        nb_tensor_release(at);
        OOM_IF(!r);
        grads[1] = nb__sum_to(r, b->ndim, b->shape);
        nb_tensor_release(r);
        OOM_IF(!grads[1]);
    }
    return NB_OK;
}

/* y = softmax(x, dim):  dL/dx = y * (g - sum(g * y, dim, keepdim)) */
nb_status nb_grad_softmax(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    nb_tensor *y = saved(n, 0);
    int d = (int)n->scalar;
    nb_tensor *gy = nb_mul(g, y), *s = gy ? nb_sum(gy, 1, &d, true) : NULL;
    nb_tensor *diff = s ? nb_sub(g, s) : NULL;
    grads[0] = diff ? nb_mul(y, diff) : NULL;
    nb_tensor_release(gy); nb_tensor_release(s); nb_tensor_release(diff);
    return grads[0] ? NB_OK : NB_ERR_OOM;
}

/* y = log_softmax(x, dim):  dL/dx = g - exp(y) * sum(g, dim, keepdim) */
nb_status nb_grad_log_softmax(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    nb_tensor *y = saved(n, 0);
    int d = (int)n->scalar;
    nb_tensor *p = nb_exp(y), *s = p ? nb_sum(g, 1, &d, true) : NULL;
    nb_tensor *ps = s ? nb_mul(p, s) : NULL;
    grads[0] = ps ? nb_sub(g, ps) : NULL;
    nb_tensor_release(p); nb_tensor_release(s); nb_tensor_release(ps);
    return grads[0] ? NB_OK : NB_ERR_OOM;
}

/* y = conv2d(x, w) + b:  dL/dx = conv_transpose(g, w) (backward_data),
   dL/dw = correlate(x, g) (backward_filter), dL/db = sum of g over n, p, q */
nb_status nb_grad_conv2d(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    for (int i = 0; i < n->n_next; i++) {
        if (!nb_node_needs(n, i)) continue;
        OOM_IF(!(grads[i] = nb__conv2d_backward(n, g, i)));
    }
    return NB_OK;
}

/* y[n, c, p, q] = max over the window of x:  dL/dx at the argmax of each
   window += g[n, c, p, q] (the first maximum, or the last NaN, as PyTorch) */
nb_status nb_grad_max_pool2d(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    return (grads[0] = nb__max_pool2d_backward(n, g)) ? NB_OK : NB_ERR_OOM;
}

/* y[n, c, p, q] = mean over the window of x (padding counted):
   dL/dx[window] += g[n, c, p, q] / (kh * kw) */
nb_status nb_grad_avg_pool2d(nb_node *n, nb_tensor *g, nb_tensor **grads) {
    return (grads[0] = nb__avg_pool2d_backward(n, g)) ? NB_OK : NB_ERR_OOM;
}
