/* Optimisers: SGD (momentum, weight decay) and Adam, as torch.optim. Updates
 * run in no-grad mode through the tensor ops, so any parameter layout works. */
#include <math.h>
#include <stdlib.h>

#include "tensor/tensor_internal.h"
#include <nabla/nn.h>

struct nb_optimizer {
    bool adam;
    int n;
    nb_tensor **params;
    nb_tensor **buf1, **buf2;     /* SGD: momentum; Adam: first and second moments */
    double lr, momentum, wd, beta1, beta2, eps;
    int64_t steps;
};

static nb_optimizer *opt_new(const char *fn, int n, nb_tensor *const *params) {
    if (n < 0 || (n > 0 && !params)) { nb_error(NB_ERR_ARG, fn, "params is NULL"); return NULL; }
    for (int i = 0; i < n; i++)
        if (!params[i] || !nb_is_float(params[i]->dtype)) {
            nb_error(NB_ERR_ARG, fn, "parameter %d is NULL or not floating point", i);
            return NULL;
        }
    nb_optimizer *o = calloc(1, sizeof *o);
    size_t k = (size_t)(n ? n : 1);
    if (o) { o->params = calloc(k, sizeof *o->params); o->buf1 = calloc(k, sizeof *o->buf1); o->buf2 = calloc(k, sizeof *o->buf2); }
    if (!o || !o->params || !o->buf1 || !o->buf2) {
        if (o) { free(o->params); free(o->buf1); free(o->buf2); free(o); }
        nb_error(NB_ERR_OOM, fn, "cannot allocate");
        return NULL;
    }
    o->n = n;
    for (int i = 0; i < n; i++) o->params[i] = nb_tensor_retain(params[i]);
    return o;
}

nb_optimizer *nb_sgd_new(int n, nb_tensor *const *params, double lr, double momentum, double weight_decay) {
    if (!(lr >= 0) || !(momentum >= 0) || !(weight_decay >= 0)) {
        nb_error(NB_ERR_ARG, "nb_sgd_new", "lr, momentum and weight_decay must be >= 0");
        return NULL;
    }
    nb_optimizer *o = opt_new("nb_sgd_new", n, params);
    if (o) { o->lr = lr; o->momentum = momentum; o->wd = weight_decay; }
    return o;
}

nb_optimizer *nb_adam_new(int n, nb_tensor *const *params, double lr, double beta1, double beta2, double eps,
                          double weight_decay) {
    if (!(lr >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0) || !(weight_decay >= 0)) {
        nb_error(NB_ERR_ARG, "nb_adam_new", "needs lr >= 0, betas in [0, 1), eps >= 0, weight_decay >= 0");
        return NULL;
    }
    nb_optimizer *o = opt_new("nb_adam_new", n, params);
    if (o) { o->adam = true; o->lr = lr; o->beta1 = beta1; o->beta2 = beta2; o->eps = eps; o->wd = weight_decay; }
    return o;
}

#define TRY(x) do { if (!(x)) { s = NB_ERR_OOM; goto done; } } while (0)
#define TRYS(x) do { if ((s = (x)) != NB_OK) goto done; } while (0)

static nb_status sgd_one(nb_optimizer *o, int i) {
    nb_tensor *p = o->params[i], *d = NULL, *t = NULL;
    nb_status s = NB_OK;
    /* d = grad + wd * p */
    if (o->wd != 0) { TRY(t = nb_mul_scalar(p, o->wd)); TRY(d = nb_add(p->grad, t)); }
    else d = nb_tensor_retain(p->grad);
    if (o->momentum != 0) {
        if (!o->buf1[i]) { TRY(o->buf1[i] = nb_clone(d)); }   /* buf = d on the first step */
        else { TRYS(nb_mul_scalar_(o->buf1[i], o->momentum)); TRYS(nb_add_(o->buf1[i], d)); }
        nb_tensor_release(d);
        d = nb_tensor_retain(o->buf1[i]);
    }
    nb_tensor_release(t);
    TRY(t = nb_mul_scalar(d, -o->lr));
    TRYS(nb_add_(p, t));
done:
    nb_tensor_release(t);
    nb_tensor_release(d);
    return s;
}

static nb_status adam_one(nb_optimizer *o, int i) {
    nb_tensor *p = o->params[i], *g = NULL, *t = NULL, *u = NULL, *v = NULL;
    nb_status s = NB_OK;
    if (o->wd != 0) { TRY(t = nb_mul_scalar(p, o->wd)); TRY(g = nb_add(p->grad, t)); nb_tensor_release(t); t = NULL; }
    else g = nb_tensor_retain(p->grad);
    if (!o->buf1[i]) { TRY(o->buf1[i] = nb_zeros_like(p)); TRY(o->buf2[i] = nb_zeros_like(p)); }
    /* m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2 */
    TRYS(nb_mul_scalar_(o->buf1[i], o->beta1));
    TRY(t = nb_mul_scalar(g, 1 - o->beta1));
    TRYS(nb_add_(o->buf1[i], t));
    nb_tensor_release(t); t = NULL;
    TRYS(nb_mul_scalar_(o->buf2[i], o->beta2));
    TRY(t = nb_mul(g, g));
    TRYS(nb_mul_scalar_(t, 1 - o->beta2));
    TRYS(nb_add_(o->buf2[i], t));
    nb_tensor_release(t); t = NULL;
    /* p -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps) */
    double bc1 = 1 - pow(o->beta1, (double)o->steps), bc2 = 1 - pow(o->beta2, (double)o->steps);
    TRY(t = nb_div_scalar(o->buf2[i], bc2));
    TRY(u = nb_pow_scalar(t, 0.5));
    TRYS(nb_add_scalar_(u, o->eps));
    TRY(v = nb_div(o->buf1[i], u));
    TRYS(nb_mul_scalar_(v, -o->lr / bc1));
    TRYS(nb_add_(p, v));
done:
    nb_tensor_release(g); nb_tensor_release(t); nb_tensor_release(u); nb_tensor_release(v);
    return s;
}

nb_status nb_optimizer_step(nb_optimizer *o) {
    if (!o) return nb_error(NB_ERR_ARG, "nb_optimizer_step", "opt is NULL");
    nb_status s = NB_OK;
    nb_no_grad_enter();
    o->steps++;
    for (int i = 0; i < o->n && s == NB_OK; i++)
        if (o->params[i]->grad) s = o->adam ? adam_one(o, i) : sgd_one(o, i);
    nb_no_grad_exit();
    return s;
}

void nb_optimizer_zero_grad(nb_optimizer *o) {
    if (!o) return;
    for (int i = 0; i < o->n; i++) nb_tensor_set_grad(o->params[i], NULL);
}

void nb_optimizer_free(nb_optimizer *o) {
    if (!o) return;
    for (int i = 0; i < o->n; i++) {
        nb_tensor_release(o->params[i]);
        nb_tensor_release(o->buf1[i]);
        nb_tensor_release(o->buf2[i]);
    }
    free(o->params); free(o->buf1); free(o->buf2); free(o);
}
