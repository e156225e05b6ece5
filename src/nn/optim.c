/* Optimisers: SGD (momentum, dampening, Nesterov, weight decay), Adam and
 * AdamW (decoupled weight decay), as torch.optim.
 * float32 parameters are updated by the active ISA's optimiser
 * micro-kernel (src/ukernel.h, "optimiser updates"): one in-place pass
 * over parameter, gradient and state (AdamW: a decay pass first). Other
 * dtypes, and SGD with dampening or Nesterov (which the kernel does not
 * have), run in no-grad mode through the tensor ops. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa_ops.h"
#include "parallel.h"
#include "tensor/tensor_internal.h"
#include <nabla/nn.h>

struct nb_optimizer {
    bool adam;
    int n;
    nb_tensor **params;
    nb_tensor **buf1, **buf2;     /* SGD: momentum; Adam: first and second moments */
    double lr, momentum, wd, beta1, beta2, eps;
    double dampening;
    bool nesterov;
    bool decoupled;               /* AdamW: p *= 1 - lr wd, then Adam without wd */
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

static nb_optimizer *sgd_new(const char *fn, int n, nb_tensor *const *params, const nb_sgd_options *op) {
    if (!op) { nb_error(NB_ERR_ARG, fn, "options is NULL"); return NULL; }
    if (!(op->lr >= 0) || !(op->momentum >= 0) || !(op->weight_decay >= 0) || !(op->dampening >= 0)) {
        nb_error(NB_ERR_ARG, fn, "lr, momentum, dampening and weight_decay must be >= 0");
        return NULL;
    }
    if (op->nesterov && (op->momentum <= 0 || op->dampening != 0)) {
        nb_error(NB_ERR_ARG, fn, "Nesterov momentum requires a momentum and zero dampening");
        return NULL;
    }
    nb_optimizer *o = opt_new(fn, n, params);
    if (o) {
        o->lr = op->lr; o->momentum = op->momentum; o->wd = op->weight_decay;
        o->dampening = op->dampening; o->nesterov = op->nesterov;
    }
    return o;
}
nb_optimizer *nb_sgd_new(int n, nb_tensor *const *params, double lr, double momentum, double weight_decay) {
    const nb_sgd_options op = {lr, momentum, 0, weight_decay, false};
    return sgd_new("nb_sgd_new", n, params, &op);
}
nb_optimizer *nb_sgd_new_ex(int n, nb_tensor *const *params, const nb_sgd_options *options) {
    return sgd_new("nb_sgd_new_ex", n, params, options);
}

static nb_optimizer *adam_new(const char *fn, bool decoupled, int n, nb_tensor *const *params, double lr,
                              double beta1, double beta2, double eps, double weight_decay) {
    if (!(lr >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0) || !(weight_decay >= 0)) {
        nb_error(NB_ERR_ARG, fn, "needs lr >= 0, betas in [0, 1), eps >= 0, weight_decay >= 0");
        return NULL;
    }
    nb_optimizer *o = opt_new(fn, n, params);
    if (o) {
        o->adam = true; o->decoupled = decoupled; o->lr = lr; o->beta1 = beta1; o->beta2 = beta2;
        o->eps = eps; o->wd = weight_decay;
    }
    return o;
}
nb_optimizer *nb_adam_new(int n, nb_tensor *const *params, double lr, double beta1, double beta2, double eps,
                          double weight_decay) {
    return adam_new("nb_adam_new", false, n, params, lr, beta1, beta2, eps, weight_decay);
}
nb_optimizer *nb_adamw_new(int n, nb_tensor *const *params, double lr, double beta1, double beta2, double eps,
                           double weight_decay) {
    return adam_new("nb_adamw_new", true, n, params, lr, beta1, beta2, eps, weight_decay);
}

double nb_optimizer_lr(const nb_optimizer *o) {
    if (!o) { nb_error(NB_ERR_ARG, "nb_optimizer_lr", "opt is NULL"); return NAN; }
    return o->lr;
}
nb_status nb_optimizer_set_lr(nb_optimizer *o, double lr) {
    if (!o) return nb_error(NB_ERR_ARG, "nb_optimizer_set_lr", "opt is NULL");
    if (!(lr >= 0)) return nb_error(NB_ERR_ARG, "nb_optimizer_set_lr", "lr = %g must be >= 0", lr);
    o->lr = lr;
    return NB_OK;
}

/* A step is atomic: every new value (each parameter's update, each new
 * state buffer) is computed out of place first; only when all of them
 * exist are they applied, by in-place adds of same-dtype, same-shape
 * tensors and pointer swaps, which allocate nothing and cannot fail. Out
 * of memory half way therefore changes no parameter and no state (the
 * price: the new values of every parameter are alive at once). */

/* What one parameter's update needs, computed before anything changes. */
typedef struct {
    nb_tensor *delta;        /* added to the parameter */
    nb_tensor *nbuf1, *nbuf2; /* the new state buffers (NULL: unchanged) */
    /* float32: the micro-kernel's contiguous operands (the parameter
       itself, or a copy written back after the pass; the gradient or a
       copy), and whether this is the state's first step. */
    nb_tensor *fp, *fg;
    bool first;
} pending;

#define TRY(x) do { if (!(x)) goto fail; } while (0)

/* The update as torch.optim.SGD: d = grad + wd p; buf = d on the first
   step, else momentum buf + (1 - dampening) d; then d = buf, or
   d + momentum buf with Nesterov; p -= lr d. */
static bool sgd_compute(const nb_optimizer *o, int i, pending *out) {
    nb_tensor *p = o->params[i], *d = NULL, *t = NULL, *u = NULL;
    if (o->wd != 0) { TRY(t = nb_mul_scalar(p, o->wd)); TRY(d = nb_add(p->grad, t)); }
    else d = nb_tensor_retain(p->grad);
    nb_tensor_release(t);
    t = NULL;
    if (o->momentum != 0) {
        if (!o->buf1[i]) { TRY(out->nbuf1 = nb_clone(d)); }
        else {
            TRY(t = nb_mul_scalar(o->buf1[i], o->momentum));
            TRY(u = o->dampening != 0 ? nb_mul_scalar(d, 1 - o->dampening) : nb_tensor_retain(d));
            TRY(out->nbuf1 = nb_add(t, u));
            nb_tensor_release(t); nb_tensor_release(u); t = u = NULL;
        }
        if (o->nesterov) {
            TRY(t = nb_mul_scalar(out->nbuf1, o->momentum));
            TRY(u = nb_add(d, t));
            nb_tensor_release(t);
            t = NULL;
        } else {
            u = nb_tensor_retain(out->nbuf1);
        }
        nb_tensor_release(d);
        d = u;
        u = NULL;
    }
    nb_tensor_release(t);
    TRY(t = nb_mul_scalar(d, -o->lr));
    TRY(out->delta = nb_to_dtype(t, p->dtype));
    nb_tensor_release(t);
    nb_tensor_release(d);
    return true;
fail:
    nb_tensor_release(t);
    nb_tensor_release(u);
    nb_tensor_release(d);
    return false;
}

/* torch.optim.Adam at step o->steps + 1. */
static bool adam_compute(const nb_optimizer *o, int i, pending *out) {
    nb_tensor *p = o->params[i], *g = NULL, *t = NULL, *u = NULL, *m0 = NULL, *v0 = NULL;
    if (o->wd != 0 && !o->decoupled) { TRY(t = nb_mul_scalar(p, o->wd)); TRY(g = nb_add(p->grad, t)); nb_tensor_release(t); t = NULL; }
    else g = nb_tensor_retain(p->grad);
    if (o->buf1[i]) { m0 = nb_tensor_retain(o->buf1[i]); v0 = nb_tensor_retain(o->buf2[i]); }
    else { TRY(m0 = nb_zeros_like(p)); TRY(v0 = nb_zeros_like(p)); }
    /* m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2 */
    TRY(t = nb_mul_scalar(m0, o->beta1));
    TRY(u = nb_mul_scalar(g, 1 - o->beta1));
    TRY(out->nbuf1 = nb_add(t, u));
    nb_tensor_release(t); nb_tensor_release(u); t = u = NULL;
    TRY(t = nb_mul_scalar(v0, o->beta2));
    TRY(u = nb_mul(g, g));
    TRY(nb_mul_scalar_(u, 1 - o->beta2) == NB_OK);
    TRY(out->nbuf2 = nb_add(t, u));
    nb_tensor_release(t); nb_tensor_release(u); t = u = NULL;
    /* p -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps) */
    const double steps = (double)(o->steps + 1);
    const double bc1 = 1 - pow(o->beta1, steps), bc2 = 1 - pow(o->beta2, steps);
    TRY(t = nb_div_scalar(out->nbuf2, bc2));
    TRY(u = nb_pow_scalar(t, 0.5));
    TRY(nb_add_scalar_(u, o->eps) == NB_OK);
    nb_tensor_release(t);
    TRY(t = nb_div(out->nbuf1, u));
    TRY(nb_mul_scalar_(t, -o->lr / bc1) == NB_OK);
    if (o->wd != 0 && o->decoupled) {   /* AdamW: - lr wd p, from the old p */
        nb_tensor_release(u);
        TRY(u = nb_mul_scalar(p, -o->lr * o->wd));
        TRY(nb_add_(t, u) == NB_OK);
    }
    TRY(out->delta = nb_to_dtype(t, p->dtype));
    nb_tensor_release(g); nb_tensor_release(t); nb_tensor_release(u);
    nb_tensor_release(m0); nb_tensor_release(v0);
    return true;
fail:
    nb_tensor_release(g); nb_tensor_release(t); nb_tensor_release(u);
    nb_tensor_release(m0); nb_tensor_release(v0);
    return false;
}

/* ---- float32: one micro-kernel pass ---- */

static bool fused_prepare(const nb_optimizer *o, int i, pending *out) {
    nb_tensor *p = o->params[i], *g = p->grad;
    out->first = !o->buf1[i];
    TRY(out->fp = nb_contiguous(p));
    TRY(out->fg = nb_tensor_is_contiguous(g) && !nb_tensor_shares_storage(g, p) ? nb_tensor_retain(g)
                                                                                  : nb_clone(g));
    if (out->first && (o->adam || o->momentum != 0)) TRY(out->nbuf1 = nb_zeros_like(p));
    if (out->first && o->adam) TRY(out->nbuf2 = nb_zeros_like(p));
    return true;
fail:
    return false;
}

typedef struct {
    const nb_ukernel_config *cfg;
    float *p, *b1, *b2;
    const float *g;
    nb_sgd_hparams sgd;
    nb_adam_hparams adam;
    bool is_adam;
    float decay;   /* AdamW: p *= decay before the Adam pass; 1: none */
} fused_run;

static void fused_body(void *ctx, int64_t lo, int64_t hi) {
    const fused_run *r = ctx;
    const size_t n = (size_t)(hi - lo);
    if (r->decay != 1.0f)
        for (int64_t i = lo; i < hi; i++) r->p[i] *= r->decay;
    if (r->is_adam) r->cfg->adam(n, r->p + lo, r->g + lo, r->b1 + lo, r->b2 + lo, &r->adam);
    else r->cfg->sgd(n, r->p + lo, r->g + lo, r->b1 ? r->b1 + lo : NULL, &r->sgd);
}

/* Runs the pass of parameter i (its state already installed); allocates
   nothing and cannot fail. Hyperparameters are rounded to float32 once,
   as the tensor-op composition rounds its scalar operands. */
static void fused_apply(const nb_optimizer *o, int i, const pending *w) {
    fused_run r = {.cfg = nb_ukernels_active(), .is_adam = o->adam, .decay = 1.0f};
    r.p = (float *)nb_ptr(w->fp);
    r.g = (const float *)nb_ptr(w->fg);
    r.b1 = o->buf1[i] ? (float *)nb_ptr(o->buf1[i]) : NULL;
    r.b2 = o->buf2[i] ? (float *)nb_ptr(o->buf2[i]) : NULL;
    if (o->adam) {
        const double steps = (double)o->steps;   /* already counted */
        const double bc1 = 1 - pow(o->beta1, steps), bc2 = 1 - pow(o->beta2, steps);
        const bool l2 = o->wd != 0 && !o->decoupled;
        r.adam = (nb_adam_hparams){l2 ? (float)o->wd : 0.0f, (float)o->beta1, (float)(1 - o->beta1), (float)o->beta2,
                                   (float)(1 - o->beta2), (float)bc2, (float)o->eps,
                                   (float)(-o->lr / bc1), l2};
        if (o->decoupled && o->wd != 0) r.decay = (float)(1 - o->lr * o->wd);
    } else {
        r.sgd = (nb_sgd_hparams){(float)o->wd, (float)o->momentum, (float)-o->lr, o->wd != 0,
                                 o->momentum != 0, w->first};
    }
    nb_parallel_for(nb_tensor_numel(w->fp), NB_FOREACH_GRAIN, fused_body, &r);
    nb_tensor *p = o->params[i];
    if (w->fp != p) (void)nb__copy_into("nb_optimizer_step", p, w->fp);   /* same shape and dtype */
    nb__bump_version(p);
}

/* float32 parameters take the micro-kernel, unless their memory is shared
   with another parameter (tied or listed twice): the pass updates in the
   commit loop, so it would read a neighbour's new values where the
   tensor-op path computes every update from the old ones. */
static bool takes_fused(const nb_optimizer *o, int i) {
    const nb_tensor *p = o->params[i], *g = p->grad;
    if (!o->adam && (o->nesterov || o->dampening != 0)) return false;   /* not in the kernel */
    if (p->dtype != NB_FLOAT32 || g->dtype != NB_FLOAT32 || g->ndim != p->ndim ||
        memcmp(g->shape, p->shape, sizeof(int64_t) * (size_t)p->ndim) != 0)
        return false;
    for (int j = 0; j < o->n; j++)
        if (j != i && nb_tensor_shares_storage(p, o->params[j])) return false;
    return true;
}

static void pending_release(pending *w, int n) {
    for (int i = 0; i < n; i++) {
        nb_tensor_release(w[i].fp);
        nb_tensor_release(w[i].fg);
        nb_tensor_release(w[i].delta);
        nb_tensor_release(w[i].nbuf1);
        nb_tensor_release(w[i].nbuf2);
    }
}

nb_status nb_optimizer_step(nb_optimizer *o) {
    static const char fn[] = "nb_optimizer_step";
    if (!o) return nb_error(NB_ERR_ARG, fn, "opt is NULL");
    nb_no_grad_enter();
    for (int i = 0; i < o->n; i++) {
        const nb_status s = o->params[i]->grad ? nb__check_writable(fn, o->params[i]) : NB_OK;
        if (s != NB_OK) { nb_no_grad_exit(); return s; }
    }
    pending *w = calloc((size_t)(o->n ? o->n : 1), sizeof *w);
    if (!w) { nb_no_grad_exit(); return nb_error(NB_ERR_OOM, fn, "cannot allocate"); }
    for (int i = 0; i < o->n; i++) {
        if (!o->params[i]->grad) continue;
        const bool ok = takes_fused(o, i) ? fused_prepare(o, i, &w[i])
                        : o->adam         ? adam_compute(o, i, &w[i])
                                          : sgd_compute(o, i, &w[i]);
        if (!ok) {
            const nb_status s = nb_last_status();
            char msg[512];
            snprintf(msg, sizeof msg, "%s", nb_last_error());
            nb_no_grad_exit();
            pending_release(w, o->n);
            free(w);
            return nb_error(s != NB_OK ? s : NB_ERR_OOM, fn,
                            "parameter %d: %s (nothing was updated)", i, msg);
        }
    }
    /* Commit: nothing below allocates. */
    o->steps++;
    for (int i = 0; i < o->n; i++) {
        if (!w[i].delta && !w[i].fp) continue;
        if (w[i].delta)
            (void)nb_add_(o->params[i], w[i].delta);   /* same dtype and shape, own storage: no allocation */
        if (w[i].nbuf1) { nb_tensor_release(o->buf1[i]); o->buf1[i] = w[i].nbuf1; w[i].nbuf1 = NULL; }
        if (w[i].nbuf2) { nb_tensor_release(o->buf2[i]); o->buf2[i] = w[i].nbuf2; w[i].nbuf2 = NULL; }
        if (w[i].fp) fused_apply(o, i, &w[i]);
    }
    nb_no_grad_exit();
    pending_release(w, o->n);
    free(w);
    return NB_OK;
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
