/* nabla — neural-network layer (torch.nn, torch.nn.functional, torch.optim).
 *
 * Layouts as PyTorch: activations NCHW, conv weights OIHW (KCRS), linear
 * weights [out_features, in_features].
 */
#ifndef NABLA_NN_H
#define NABLA_NN_H

#include <stdbool.h>
#include <stdint.h>

#include <nabla/export.h>
#include <nabla/kernels.h>
#include <nabla/tensor.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- functional (torch.nn.functional) --------------------------------------- */

/* F.linear: x @ w^T + b; w is [out, in], b ([out]) may be NULL. */
NB_API nb_tensor *nb_linear(nb_tensor *x, nb_tensor *w, nb_tensor *b);
/* F.softmax / F.log_softmax along dim (nb_ssoftmax on the last dim; other
   dims are moved last and back). */
NB_API nb_tensor *nb_softmax(nb_tensor *x, int dim);
NB_API nb_tensor *nb_log_softmax(nb_tensor *x, int dim);
/* F.mse_loss(input, target), mean reduction. */
NB_API nb_tensor *nb_mse_loss(nb_tensor *input, nb_tensor *target);
/* F.nll_loss(log_probs [N, C], target [N] int64), mean reduction. */
NB_API nb_tensor *nb_nll_loss(nb_tensor *log_probs, nb_tensor *target);
/* F.cross_entropy(logits [N, C], target [N] int64), mean reduction. */
NB_API nb_tensor *nb_cross_entropy(nb_tensor *logits, nb_tensor *target);

typedef struct {
    int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups;
} nb_conv2d_params;
/* {1, 1, 0, 0, 1, 1, 1}: torch's defaults. */
NB_API nb_conv2d_params nb_conv2d_defaults(void);
/* F.conv2d(x [N, C, H, W], w [K, C/groups, R, S], b [K] or NULL). */
NB_API nb_tensor *nb_conv2d(nb_tensor *x, nb_tensor *w, nb_tensor *b, const nb_conv2d_params *p);
/* F.max_pool2d / F.avg_pool2d (count_include_pad=True) on NCHW; stride 0
   means stride = kernel. float32 runs the active ISA's pooling-row
   micro-kernels (src/ukernel.h), threaded over output rows. As PyTorch, max_pool2d's gradient goes to the first maximum of each
   window in row-major scan order (the last one when several are NaN). */
NB_API nb_tensor *nb_max_pool2d(nb_tensor *x, int64_t kh, int64_t kw, int64_t stride_h, int64_t stride_w,
                                int64_t pad_h, int64_t pad_w);
NB_API nb_tensor *nb_avg_pool2d(nb_tensor *x, int64_t kh, int64_t kw, int64_t stride_h, int64_t stride_w,
                                int64_t pad_h, int64_t pad_w);

/* ---- modules (torch.nn.Module) ------------------------------------------------- */

typedef struct nb_module nb_module;
/* A module kind: its forward and how to free its private data. Parameters
   and children are held by the module itself (nb_module_add_*). */
typedef struct {
    const char *name;                                       /* "Linear" */
    nb_tensor *(*forward)(nb_module *m, nb_tensor *x);      /* new reference or NULL */
    void (*destroy)(void *impl);                            /* may be NULL */
} nb_module_vtable;

NB_API nb_module *nb_module_new(const nb_module_vtable *vt, void *impl);
NB_API void      *nb_module_impl(const nb_module *m);
NB_API const char *nb_module_name(const nb_module *m);
/* Registers p (retained) as a parameter of m. */
NB_API nb_status  nb_module_add_parameter(nb_module *m, nb_tensor *p);
/* m takes ownership of child. A module has one owner and the tree has no
   cycle: a child that already has a parent, m itself, or an ancestor of m is
   refused (NB_ERR_ARG, nothing changed, the caller keeps child). */
NB_API nb_status  nb_module_add_child(nb_module *m, nb_module *child);
NB_API nb_tensor *nb_module_forward(nb_module *m, nb_tensor *x);   /* module(x) */
/* model.parameters(): own parameters first, then the children's, depth first.
   Writes up to cap borrowed pointers into out (may be NULL) and returns the
   total count; -1 + error for a NULL m or a negative cap. The accessors
   below set the last error (naming themselves) on a NULL m and return -1
   (num_children) or NULL; nb_module_child also on an index out of range. */
NB_API int        nb_module_parameters(const nb_module *m, nb_tensor **out, int cap);
NB_API int        nb_module_num_children(const nb_module *m);
NB_API nb_module *nb_module_child(const nb_module *m, int i);      /* borrowed */
NB_API void       nb_module_zero_grad(nb_module *m);                /* grads set to NULL */
/* Frees m and its children. Free only roots (modules without a parent):
   a child is freed by its parent. */
NB_API void       nb_module_free(nb_module *m);

/* nn.Linear(in, out, bias): weight [out, in] and bias [out] uniform in
   (-1/sqrt(in), 1/sqrt(in)) as PyTorch's default init; gen may be NULL. */
NB_API nb_module *nb_linear_new(int64_t in_features, int64_t out_features, bool bias, nb_generator *gen);
/* nn.Conv2d(in, out, (kh, kw), stride, padding, bias): weight OIHW. */
NB_API nb_module *nb_conv2d_new(int64_t in_channels, int64_t out_channels, int64_t kh, int64_t kw,
                                const nb_conv2d_params *p, bool bias, nb_generator *gen);
NB_API nb_module *nb_relu_new(void);
/* nn.Flatten(): [N, ...] -> [N, prod(...)] */
NB_API nb_module *nb_flatten_new(void);
/* nn.Sequential(m_0, ..., m_{n-1}): takes ownership of the modules. A
   module listed twice, or that already has a parent, is refused: NULL
   (nb_last_error() names it), and on any failure the caller still owns
   every module, unchanged. */
NB_API nb_module *nb_sequential_new(int n, nb_module *const *modules);
/* The weight / bias of a Linear or Conv2d (borrowed; bias may be NULL). */
NB_API nb_tensor *nb_module_weight(const nb_module *m);
NB_API nb_tensor *nb_module_bias(const nb_module *m);

/* ---- optimisers (torch.optim) -------------------------------------------------- */

typedef struct nb_optimizer nb_optimizer;
/* torch.optim.SGD(params, lr, momentum, weight_decay) (dampening 0, no
   Nesterov). The parameters are retained. */
NB_API nb_optimizer *nb_sgd_new(int n, nb_tensor *const *params, double lr, double momentum,
                                double weight_decay);
/* torch.optim.Adam(params, lr, betas=(beta1, beta2), eps, weight_decay). */
NB_API nb_optimizer *nb_adam_new(int n, nb_tensor *const *params, double lr, double beta1, double beta2,
                                 double eps, double weight_decay);
/* One update from the current .grad (parameters without grad are skipped).
   Atomic: every new value is computed before any parameter or state buffer
   changes, so a failure (NB_ERR_OOM, ...) leaves the parameters, the
   moments and the step count as they were, and a retried step equals a
   clean one. The price is memory: the updates of all parameters (and their
   new state buffers) are alive at once. */
NB_API nb_status nb_optimizer_step(nb_optimizer *opt);
/* optimizer.zero_grad(): sets every .grad to NULL (PyTorch's set_to_none). */
NB_API void      nb_optimizer_zero_grad(nb_optimizer *opt);
NB_API void      nb_optimizer_free(nb_optimizer *opt);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_NN_H */
