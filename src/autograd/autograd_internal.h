/* Private: graph nodes, saved tensors and the backward rules. */
#ifndef NB_AUTOGRAD_INTERNAL_H
#define NB_AUTOGRAD_INTERNAL_H

#include "tensor/tensor_internal.h"

#define NB_MAX_SAVED 4

/* Where the gradient of one input goes: the node that produced it, or the
   leaf that accumulates it, or nowhere (the input does not require grad). */
typedef struct {
    nb_node *node;      /* owned reference */
    nb_tensor *leaf;    /* owned reference */
} nb_edge;

/* Computes the gradient of each input from the gradient of the output.
   grads[i] is left NULL for inputs that need none (nb_node_needs(n, i)). */
typedef nb_status (*nb_backward_fn)(nb_node *n, nb_tensor *grad, nb_tensor **grads);

typedef struct {
    nb_tensor *t;        /* detached alias: no reference back into the graph */
    uint64_t version;
} nb_saved;

struct nb_node {
    _Atomic int64_t refcount;   /* atomic: references may be dropped on any thread */
    const char *name;            /* the public op, "nb_mul" */
    nb_backward_fn backward;
    int n_next;
    nb_edge *next;
    nb_saved saved[NB_MAX_SAVED];
    bool freed;                  /* saved tensors released by a backward */
    /* op parameters */
    double scalar;
    int n_ints;
    int64_t *ints;
    /* shape of the input(s) when the rule needs it */
    int in_ndim;
    int64_t in_shape[NB_MAX_DIMS];
    nb_dtype in_dtype;
    /* engine bookkeeping during one backward */
    int64_t deps;
    nb_tensor *pending;
};

bool nb__grad_mode(void);
/* Any of the n inputs requires grad and grad mode is on. */
bool nb__needs_graph(int n, nb_tensor *const *inputs);
/* A node with edges to the n inputs; NULL + NB_ERR_OOM. */
nb_node *nb__node_new(const char *name, nb_backward_fn fn, int n, nb_tensor *const *inputs);
nb_status nb__node_save(nb_node *n, int slot, const nb_tensor *t);
nb_status nb__node_ints(nb_node *n, int count, const int64_t *v);
void nb__node_release(nb_node *n);
static inline bool nb_node_needs(const nb_node *n, int i) {
    return n->next[i].node != NULL || n->next[i].leaf != NULL;
}
/* Attach node to out (which takes the reference). On failure out is released. */
nb_tensor *nb__attach(nb_tensor *out, nb_node *n);
/* Record fn's node for out when inputs need it: the common tail of every op.
   Releases out and returns NULL on failure. */
nb_tensor *nb__record(nb_tensor *out, const char *name, nb_backward_fn fn, int n,
                      nb_tensor *const *inputs, nb_node **node_out);

/* ---- grad_rules.c: one function per primitive ---- */
nb_status nb_grad_add(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_sub(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_mul(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_div(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_pow(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_neg(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_exp(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_log(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_tanh(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_sigmoid(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_relu(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_gelu(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_to_dtype(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_inplace_add(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_inplace_mul(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_inplace_div(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_inplace_copy(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_view(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_permute(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_expand(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_slice(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_select(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_identity(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_repeat(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_cat(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_stack(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_sum(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_mean(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_amax(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_matmul(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_softmax(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_log_softmax(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_conv2d(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_max_pool2d(nb_node *, nb_tensor *, nb_tensor **);
nb_status nb_grad_avg_pool2d(nb_node *, nb_tensor *, nb_tensor **);

/* Helpers implemented next to their forward ops, used by the rules. */
nb_tensor *nb__softmax_raw(const char *fn, nb_tensor *x, int dim, bool log);
nb_tensor *nb__conv2d_backward(nb_node *n, nb_tensor *g, int which);
nb_tensor *nb__max_pool2d_backward(nb_node *n, nb_tensor *g);
nb_tensor *nb__avg_pool2d_backward(nb_node *n, nb_tensor *g);

/* A pending gradient p that only its holder can see (no other reference,
   no view of its storage), dense, of b's dtype and shape and not sharing
   b's storage: an elementwise op of p and b may write its result into p
   (the same bits, one buffer fewer). engine.c. */
bool nb__grad_writable(const nb_tensor *p, const nb_tensor *b);
/* nb__binary_raw(fn, op, g, b) written into g itself where
   nb__grad_writable(g, b) (then a new reference to g). elementwise.c. */
nb_tensor *nb__binary_raw_into_grad(const char *fn, nb_binop op, nb_tensor *g, const nb_tensor *b);

#endif
