/* nabla — reverse-mode automatic differentiation (torch.autograd).
 *
 * A leaf tensor that requires grad (nb_tensor_requires_grad_) makes every op
 * that uses it record a node: the op's name, edges to the nodes of its
 * inputs, and the tensors its backward needs (saved with the version of their
 * storage). nb_backward walks the graph in reverse topological order and
 * accumulates gradients into the .grad of leaves.
 */
#ifndef NABLA_AUTOGRAD_H
#define NABLA_AUTOGRAD_H

#include <stdbool.h>

#include <nabla/export.h>
#include <nabla/kernels.h>
#include <nabla/tensor.h>

#ifdef __cplusplus
extern "C" {
#endif

/* x.requires_grad_(flag): O(1), no copy. Only leaves (NB_ERR_STATE on a
   non-leaf) and floating dtypes (NB_ERR_DTYPE). */
NB_API nb_status nb_tensor_requires_grad_(nb_tensor *t, bool requires_grad);
/* Given NULL, the four accessors below set the last error (NB_ERR_ARG,
   naming themselves) and return false or NULL. */
NB_API bool      nb_tensor_requires_grad(const nb_tensor *t);
NB_API bool      nb_tensor_is_leaf(const nb_tensor *t);
/* x.grad: borrowed (do not release), NULL when none has been accumulated. */
NB_API nb_tensor *nb_tensor_grad(const nb_tensor *t);
/* x.grad = g (retained; NULL drops it). g must match t's shape and dtype. */
NB_API nb_status nb_tensor_set_grad(nb_tensor *t, nb_tensor *g);
/* Fills x.grad with zeros when it exists (keeps the tensor). */
NB_API nb_status nb_tensor_zero_grad(nb_tensor *t);
/* Name of the op that produced t ("nb_mul"), NULL for a leaf. */
NB_API const char *nb_tensor_grad_fn_name(const nb_tensor *t);

/* x.detach(): O(1), a new tensor sharing t's storage, requires_grad false. */
NB_API nb_tensor *nb_detach(nb_tensor *t);

/* t.backward(grad, retain_graph). grad may be NULL only when t has one
   element (it is then 1). Errors (NB_ERR_STATE unless said): t does not
   require grad; a non-scalar t without grad (NB_ERR_SHAPE); grad of the
   wrong shape or dtype (NB_ERR_SHAPE / NB_ERR_DTYPE); a second backward
   through a graph whose saved tensors were freed by a backward without
   retain_graph; a saved tensor modified in place since it was saved (the
   message names the op). The checks run before any gradient is written. */
NB_API nb_status nb_backward(nb_tensor *t, nb_tensor *grad, bool retain_graph);

/* with torch.no_grad(): a thread-local scope; nests. Each exit restores the
   mode that was active at the matching enter. */
NB_API void nb_no_grad_enter(void);
NB_API void nb_no_grad_exit(void);
NB_API bool nb_is_grad_enabled(void);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_AUTOGRAD_H */
