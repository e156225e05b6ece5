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
/* Losses. reduction as PyTorch's: the mean, the sum, or one loss per element. */
typedef enum { NB_REDUCTION_MEAN = 0, NB_REDUCTION_SUM, NB_REDUCTION_NONE } nb_reduction;
/* PyTorch's default ignore_index. */
#define NB_IGNORE_INDEX ((int64_t)-100)
/* F.mse_loss(input, target), mean reduction; _ex: any reduction. */
NB_API nb_tensor *nb_mse_loss(nb_tensor *input, nb_tensor *target);
NB_API nb_tensor *nb_mse_loss_ex(nb_tensor *input, nb_tensor *target, nb_reduction reduction);
/* F.nll_loss(log_probs, target, ignore_index=-100, reduction="mean"):
   log_probs [N, C, d...] (or [C]), target int64 [N, d...] (or 0-dim).
   Targets equal to ignore_index are skipped: "mean" divides by the number
   of the others (NaN when all are ignored, as PyTorch), "none" gives 0 for
   them. Any other target outside [0, C) is NB_ERR_ARG. */
NB_API nb_tensor *nb_nll_loss(nb_tensor *log_probs, nb_tensor *target);
NB_API nb_tensor *nb_nll_loss_ex(nb_tensor *log_probs, nb_tensor *target, int64_t ignore_index,
                                 nb_reduction reduction);
/* F.cross_entropy(logits, target, ignore_index, reduction): log_softmax
   over the class dim (dim 1, or 0 for [C]) then nll_loss. No class weights
   and no label smoothing. */
NB_API nb_tensor *nb_cross_entropy(nb_tensor *logits, nb_tensor *target);
NB_API nb_tensor *nb_cross_entropy_ex(nb_tensor *logits, nb_tensor *target, int64_t ignore_index,
                                      nb_reduction reduction);

typedef struct {
    int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups;
} nb_conv2d_params;
/* {1, 1, 0, 0, 1, 1, 1}: torch's defaults. */
NB_API nb_conv2d_params nb_conv2d_defaults(void);
/* F.conv2d(x [N, C, H, W], w [K, C/groups, R, S], b [K] or NULL). */
NB_API nb_tensor *nb_conv2d(nb_tensor *x, nb_tensor *w, nb_tensor *b, const nb_conv2d_params *p);
/* F.batch_norm(x, running_mean, running_var, weight, bias, training,
   momentum, eps) on x [N, C, ...]: per-channel statistics over all dims
   but 1. Training normalises with the batch mean and biased variance and,
   when the running tensors are given, updates them in place (no graph):
   r = (1 - momentum) r + momentum * batch stat, with the UNBIASED variance
   for running_var, as PyTorch (needs more than 1 value per channel).
   Eval (training false) normalises with running_mean / running_var
   (required). weight, bias, running_* are [C] of x's dtype, each may be
   NULL. Differentiable in x, weight and bias. */
NB_API nb_tensor *nb_batch_norm(nb_tensor *x, nb_tensor *running_mean, nb_tensor *running_var, nb_tensor *weight,
                                nb_tensor *bias, bool training, double momentum, double eps);
/* F.dropout(x, p, training, generator): each element zeroed with
   probability p, the others scaled by 1 / (1 - p); x itself (retained)
   when training is false or p is 0. gen may be NULL (the default
   generator). */
NB_API nb_tensor *nb_dropout(nb_tensor *x, double p, bool training, nb_generator *gen);
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

/* A module whose forward takes two inputs (a loss: input and target). */
typedef struct {
    const char *name;                                                   /* "CrossEntropyLoss" */
    nb_tensor *(*forward2)(nb_module *m, nb_tensor *a, nb_tensor *b);   /* new reference or NULL */
    void (*destroy)(void *impl);                                        /* may be NULL */
} nb_module_vtable2;

/* A new module starts in training mode, as PyTorch's. */
NB_API nb_module *nb_module_new(const nb_module_vtable *vt, void *impl);
NB_API nb_module *nb_module_new2(const nb_module_vtable2 *vt, void *impl);
NB_API void      *nb_module_impl(const nb_module *m);
NB_API const char *nb_module_name(const nb_module *m);
/* Registers p (retained) as a parameter of m, named "param<i>" (i: its
   index among m's parameters); _named gives it PyTorch's attribute name
   ("weight"). Names are local: not empty, no '.', at most 63 bytes, and
   unique among m's parameters, buffers and children (NB_ERR_ARG). */
NB_API nb_status  nb_module_add_parameter(nb_module *m, nb_tensor *p);
NB_API nb_status  nb_module_add_parameter_named(nb_module *m, const char *name, nb_tensor *p);
/* register_buffer(name, b): state that is saved and loaded with the
   parameters but not trained ("running_mean"). Retained. */
NB_API nb_status  nb_module_add_buffer(nb_module *m, const char *name, nb_tensor *b);
/* m's own buffer of that name (borrowed); NULL + NB_ERR_ARG when none. */
NB_API nb_tensor *nb_module_buffer(const nb_module *m, const char *name);
/* m takes ownership of child. A module has one owner and the tree has no
   cycle: a child that already has a parent, m itself, or an ancestor of m is
   refused (NB_ERR_ARG, nothing changed, the caller keeps child). */
NB_API nb_status  nb_module_add_child(nb_module *m, nb_module *child);   /* named "<index>" */
NB_API nb_status  nb_module_add_child_named(nb_module *m, const char *name, nb_module *child);
/* module(x) for one-input modules; module(a, b) for two-input ones (each
   refuses the other kind with NB_ERR_ARG). */
NB_API nb_tensor *nb_module_forward(nb_module *m, nb_tensor *x);
NB_API nb_tensor *nb_module_forward2(nb_module *m, nb_tensor *a, nb_tensor *b);
/* model.train(training) / model.eval(): sets the mode of m and of all its
   descendants. Dropout and BatchNorm2d read it in their forward. */
NB_API nb_status  nb_module_train(nb_module *m, bool training);
NB_API bool       nb_module_is_training(const nb_module *m);   /* false + error on NULL */
/* A full name ("features.0.weight") and a borrowed tensor. */
#define NB_NAME_MAX 256
typedef struct {
    char name[NB_NAME_MAX];
    nb_tensor *tensor;
} nb_named_tensor;
/* named_parameters(), named_buffers(), state_dict(): PyTorch's names and
   order (a module's parameters, then its buffers, then each child's
   entries under "<child name>.", depth first). Same conventions as
   nb_module_parameters; -1 + NB_ERR_ARG when a full name does not fit
   NB_NAME_MAX - 1 bytes. */
NB_API int        nb_module_named_parameters(const nb_module *m, nb_named_tensor *out, int cap);
NB_API int        nb_module_named_buffers(const nb_module *m, nb_named_tensor *out, int cap);
NB_API int        nb_module_state_dict(const nb_module *m, nb_named_tensor *out, int cap);
/* model.parameters(): own parameters first, then the children's, depth first.
   Writes up to cap borrowed pointers into out (may be NULL) and returns the
   total count; -1 + error for a NULL m or a negative cap. The accessors
   below set the last error (naming themselves) on a NULL m and return -1
   (num_children) or NULL; nb_module_child also on an index out of range. */
NB_API int        nb_module_parameters(const nb_module *m, nb_tensor **out, int cap);
NB_API int        nb_module_num_children(const nb_module *m);
NB_API nb_module *nb_module_child(const nb_module *m, int i);      /* borrowed */
NB_API const char *nb_module_child_name(const nb_module *m, int i); /* "0", "features" */
NB_API void       nb_module_zero_grad(nb_module *m);                /* grads set to NULL */
/* Frees m and its children. Free only roots (modules without a parent):
   a child is freed by its parent. */
NB_API void       nb_module_free(nb_module *m);

/* nn.Linear(in, out, bias): weight [out, in] and bias [out] uniform in
   (-1/sqrt(in), 1/sqrt(in)): PyTorch's default init (kaiming_uniform_
   with a = sqrt(5) gives exactly that bound), drawn from gen (NULL: the
   default generator) in PyTorch's order, weight then bias. The values
   differ from PyTorch's (another random generator). Conv2d likewise with
   fan_in = in / groups * kh * kw. */
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
/* The weight / bias of a Linear, Conv2d or BatchNorm2d (borrowed; NULL
   when the module has none): its first and second parameter. */
NB_API nb_tensor *nb_module_weight(const nb_module *m);
NB_API nb_tensor *nb_module_bias(const nb_module *m);

/* nn.GELU() (exact erf form), nn.Tanh(), nn.Sigmoid(). */
NB_API nb_module *nb_gelu_new(void);
NB_API nb_module *nb_tanh_new(void);
NB_API nb_module *nb_sigmoid_new(void);
/* nn.MaxPool2d / nn.AvgPool2d((kh, kw), (stride_h, stride_w), (pad_h,
   pad_w)): stride 0 means the kernel size (PyTorch's stride=None). */
NB_API nb_module *nb_max_pool2d_new(int64_t kh, int64_t kw, int64_t stride_h, int64_t stride_w, int64_t pad_h,
                                    int64_t pad_w);
NB_API nb_module *nb_avg_pool2d_new(int64_t kh, int64_t kw, int64_t stride_h, int64_t stride_w, int64_t pad_h,
                                    int64_t pad_w);
/* nn.Dropout(p): F.dropout in training mode, the identity in eval mode.
   The module owns a generator seeded with seed, so runs are reproducible
   (PyTorch draws from its global generator instead). */
NB_API nb_module *nb_dropout_new(double p, uint64_t seed);
/* nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine): float32
   parameters "weight" (ones) and "bias" (zeros) when affine; buffers
   "running_mean" (zeros), "running_var" (ones), "num_batches_tracked"
   (int64 0-dim, counts training forwards). Input [N, C, H, W]. */
NB_API nb_module *nb_batch_norm2d_new(int64_t num_features, double eps, double momentum, bool affine);
/* nn.CrossEntropyLoss(ignore_index, reduction) and nn.MSELoss(reduction):
   two-input modules, called with nb_module_forward2(loss, input, target). */
NB_API nb_module *nb_cross_entropy_loss_new(int64_t ignore_index, nb_reduction reduction);
NB_API nb_module *nb_mse_loss_new(nb_reduction reduction);

/* ---- saving and loading (torch.save(model.state_dict()) / load_state_dict) ---- */

/* Writes m's state_dict (parameters and buffers, their names, dtypes,
   shapes and values) to path in the format of docs/state-format.md, through
   "<path>.tmp" renamed over path at the end (a failure leaves no partial
   file under path). I/O errors: NB_ERR_ARG naming the path and the reason. */
NB_API nb_status nb_module_save(const nb_module *m, const char *path);
/* load_state_dict(strict=True): every entry of m's state_dict must be in
   the file with the same dtype and shape, and nothing else. A missing,
   truncated, corrupt (checksum) or foreign file, or one that does not
   match m, is an error naming nb_module_load, the path and what is wrong
   (NB_ERR_SHAPE / NB_ERR_DTYPE for a shape / dtype mismatch,
   NB_ERR_UNSUPPORTED for another format version, NB_ERR_ARG otherwise),
   and m is left unchanged: every entry is checked and staged before the
   first tensor is written. Values are written in place (no-grad, version
   counters bumped), so optimisers holding the parameters keep working. */
NB_API nb_status nb_module_load(nb_module *m, const char *path);

/* Module.to(dtype) (.double() with NB_FLOAT64, .float() with NB_FLOAT32):
   every floating parameter, buffer and parameter grad is converted in
   place (the same tensor objects, new storage; integer buffers unchanged).
   Build optimisers after it, as PyTorch advises. NB_ERR_DTYPE for a
   non-floating dtype, NB_ERR_ARG for a non-leaf entry, NB_ERR_OOM; on any
   error the module is unchanged. */
NB_API nb_status nb_module_to_dtype(nb_module *m, nb_dtype dtype);

/* ---- optimisers (torch.optim) -------------------------------------------------- */

typedef struct nb_optimizer nb_optimizer;
/* torch.optim.SGD(params, lr, momentum, weight_decay) (dampening 0, no
   Nesterov). The parameters are retained. */
NB_API nb_optimizer *nb_sgd_new(int n, nb_tensor *const *params, double lr, double momentum,
                                double weight_decay);
/* torch.optim.SGD(params, lr, momentum, dampening, weight_decay,
   nesterov). Nesterov needs momentum > 0 and dampening 0 (NB_ERR_ARG), as
   PyTorch. With dampening or Nesterov the update runs through the tensor
   ops, not the optimiser micro-kernel. */
typedef struct {
    double lr, momentum, dampening, weight_decay;
    bool nesterov;
} nb_sgd_options;
NB_API nb_optimizer *nb_sgd_new_ex(int n, nb_tensor *const *params, const nb_sgd_options *options);
/* torch.optim.Adam(params, lr, betas=(beta1, beta2), eps, weight_decay). */
NB_API nb_optimizer *nb_adam_new(int n, nb_tensor *const *params, double lr, double beta1, double beta2,
                                 double eps, double weight_decay);
/* torch.optim.AdamW: decoupled weight decay, p *= 1 - lr * weight_decay,
   then Adam's update without weight decay (PyTorch's default
   weight_decay is 0.01). */
NB_API nb_optimizer *nb_adamw_new(int n, nb_tensor *const *params, double lr, double beta1, double beta2,
                                  double eps, double weight_decay);
/* optimizer.param_groups[0]["lr"]: read (NaN + error on NULL) and set
   (NB_ERR_ARG when negative or NaN). */
NB_API double    nb_optimizer_lr(const nb_optimizer *opt);
NB_API nb_status nb_optimizer_set_lr(nb_optimizer *opt, double lr);
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

/* ---- learning-rate schedules (torch.optim.lr_scheduler) ---------------------- */

/* A schedule borrows its optimiser (which must outlive it) and takes the
   optimiser's current lr as base_lr. nb_lr_scheduler_step() is
   scheduler.step(): epoch += 1, then sets the optimiser's lr to the
   closed form at that epoch (PyTorch's _get_closed_form_lr):
     StepLR:            base_lr * gamma^floor(epoch / step_size)
     CosineAnnealingLR: eta_min + (base_lr - eta_min) (1 + cos(pi epoch / t_max)) / 2 */
typedef struct nb_lr_scheduler nb_lr_scheduler;
NB_API nb_lr_scheduler *nb_step_lr_new(nb_optimizer *opt, int64_t step_size, double gamma);
NB_API nb_lr_scheduler *nb_cosine_lr_new(nb_optimizer *opt, int64_t t_max, double eta_min);
NB_API nb_status        nb_lr_scheduler_step(nb_lr_scheduler *s);
/* get_last_lr(): the lr set by the last step (base_lr before any); NaN + error on NULL. */
NB_API double           nb_lr_scheduler_last_lr(const nb_lr_scheduler *s);
NB_API void             nb_lr_scheduler_free(nb_lr_scheduler *s);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_NN_H */
