/* Private definitions shared by the tensor, autograd and nn layers. */
#ifndef NB_TENSOR_INTERNAL_H
#define NB_TENSOR_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <nabla/tensor.h>
#include <nabla/autograd.h>

#include "internal.h"

typedef struct nb_node nb_node;

/* Shared by a tensor and all its views. The version counter counts in-place
   writes; a saved tensor remembers the version it was saved at. */
typedef struct nb_storage {
    _Atomic int64_t refcount;   /* atomic: references may be dropped on any thread */
    void *data;
    size_t nbytes;
    nb_free_fn free_fn;      /* NULL with owned == false: borrowed memory */
    void *user;
    bool owned;              /* one block with the data (NB_STORAGE_HDR bytes in), from nb_cache_get */
    int cls;                 /* owned: the block's size class (bufcache.h) */
    uint64_t version;
} nb_storage;
/* An owned storage's data starts this many bytes into its block: the
   header, rounded up so that the data keeps the block's 64-byte alignment. */
#define NB_STORAGE_HDR 64

struct nb_tensor {
    _Atomic int64_t refcount;   /* atomic: references may be dropped on any thread */
    nb_dtype dtype;
    int ndim;
    int64_t shape[NB_MAX_DIMS];
    int64_t strides[NB_MAX_DIMS];
    int64_t offset;
    nb_storage *storage;
    /* autograd */
    bool requires_grad;      /* leaf flag; a non-leaf requires grad iff grad_fn */
    bool is_grad_view;       /* a view of a tensor that requires grad */
    nb_node *grad_fn;        /* owned reference; NULL for leaves */
    nb_tensor *grad;         /* owned reference */
    int cls;                 /* this object's size class (bufcache.h) */
};

static inline size_t nb_esize(nb_dtype d) { return d == NB_FLOAT32 ? 4 : 8; }
static inline bool nb_is_float(nb_dtype d) { return d == NB_FLOAT32 || d == NB_FLOAT64; }
static inline char *nb_ptr(const nb_tensor *t) {
    return (char *)t->storage->data + t->offset * (int64_t)nb_esize(t->dtype);
}
static inline bool nb_requires_grad(const nb_tensor *t) {
    return t->grad_fn != NULL || t->requires_grad;
}

/* ---- live_count.c: nb_tensor_live_count's per-thread counts ---- */
/* Adds d to the calling thread's count of live tensor objects. */
void nb__live_add(int64_t d);

/* ---- tensor.c ---- */
/* A new tensor object viewing t's storage with the given geometry. */
nb_tensor *nb__alias(const nb_tensor *t, int ndim, const int64_t *shape,
                     const int64_t *strides, int64_t offset);
/* Uninitialised contiguous tensor; fn names the caller for errors. */
nb_tensor *nb__empty(const char *fn, int ndim, const int64_t *shape, nb_dtype dtype);
void nb__contiguous_strides(int ndim, const int64_t *shape, int64_t *strides);
nb_status nb__check_dtype(const char *fn, nb_dtype d);
/* NB_ERR_OVERFLOW (naming fn) when the element count of a shape of
   non-negative sizes, or its size in bytes, does not fit int64: every
   function that makes a shape (views too) checks it, so nb_tensor_numel
   never overflows. */
nb_status nb__check_numel(const char *fn, int ndim, const int64_t *shape, nb_dtype dtype);
/* Normalise dim against ndim (negative counts from the end); -1 + error. */
int nb__dim(const char *fn, int dim, int ndim);
/* "[2, 3]" into buf. */
const char *nb__shape_str(char *buf, size_t n, int ndim, const int64_t *shape);
/* Refuse an in-place write into t (overlapping elements, leaf requiring grad). */
nb_status nb__check_writable(const char *fn, const nb_tensor *t);
void nb__bump_version(nb_tensor *t);

/* ---- iter.c: strided loops over up to 3 operands ---- */
/* One row: n elements, operand k at p[k] stepping bstrides[k] BYTES.
   Operand 0 is the output. A row must write only its own output elements
   and treat ctx as read-only: nb__foreach may call it from several threads
   at once, on disjoint pieces of the iteration space. */
typedef void (*nb_row_fn)(void *ctx, int64_t n, char **p, const int64_t *bstrides);
/* Calls row() for every row (last dim, after coalescing dims that every
   operand steps through as one) of shape; strides in elements. Problems of
   at least 2 * min_per_thread elements are split across threads (contiguous
   ranges of the flattened iteration space); elementwise rows give the same
   bits for any split. */
void nb__foreach_grain(int ndim, const int64_t *shape, int nops, char **base,
                       const int64_t *const *strides, const size_t *esize, nb_row_fn row, void *ctx,
                       int64_t min_per_thread);
/* nb__foreach_grain for cheap rows (arithmetic, copies, conversions: a
   fraction of a ns per element). Measured (bench tensor/nabla/add_*, 2
   threads already running): a second thread pays from 16K float adds a
   thread on; 32K leaves a margin for threads that have to be woken. */
#define NB_FOREACH_GRAIN ((int64_t)1 << 15)
void nb__foreach(int ndim, const int64_t *shape, int nops, char **base,
                 const int64_t *const *strides, const size_t *esize, nb_row_fn row, void *ctx);

/* How a row's operands are laid out, for rows with typed fast paths:
   output contiguous (stride == element size e) and each input contiguous
   or a broadcast scalar (stride 0). "_IP": the output IS input a (in
   place). A fast layout also guarantees that the output overlaps no input
   (other than being a itself), so the fast loops may use restrict
   pointers. Anything else is NB_ROW_STRIDED (the generic loop). */
typedef enum {
    NB_ROW_STRIDED,
    NB_ROW_VV,      /* o[i] = f(a[i], b[i]) */
    NB_ROW_VV_IP,   /* o[i] = f(o[i], b[i]) */
    NB_ROW_VS,      /* o[i] = f(a[i], *b)   */
    NB_ROW_VS_IP,   /* o[i] = f(o[i], *b)   */
    NB_ROW_SV,      /* o[i] = f(*a, b[i])   */
} nb_row_layout;
nb_row_layout nb__row_layout(int64_t n, char *const *p, const int64_t *bstrides, int64_t e);
/* The 2-operand version (o, a): true when o[i] = f(a[i]) may run on
   contiguous restrict pointers (oe, ae: element sizes). */
bool nb__row_dense2(int64_t n, char *const *p, const int64_t *bstrides, int64_t oe, int64_t ae);
/* dst <- src (same shape, any strides, any dtypes: converts). */
nb_status nb__copy_into(const char *fn, nb_tensor *dst, const nb_tensor *src);

/* ---- elementwise.c: raw ops (no autograd), for backward rules ---- */
typedef enum {
    NB_BIN_ADD, NB_BIN_SUB, NB_BIN_MUL, NB_BIN_DIV, NB_BIN_POW,
    NB_BIN_EQ,            /* 1 where a == b else 0 */
    NB_BIN_RELU_GRAD,     /* a where b > 0 else 0    (a = grad, b = relu output) */
    NB_BIN_GELU_GRAD,     /* a * gelu'(b)            (b = input) */
    NB_BIN_LOG_GRAD,      /* a * log(b)              (pow's exponent rule) */
    NB_BIN_POW_GRAD,      /* b * a^(b-1)             (pow's base rule, without grad) */
    NB_BIN_TANH_GRAD,     /* a * (1 - b * b)         (b = tanh output) */
    NB_BIN_SIGMOID_GRAD,  /* a * (b * (1 - b))       (b = sigmoid output) */
    NB_BIN_COUNT
} nb_binop;
nb_tensor *nb__binary_raw(const char *fn, nb_binop op, const nb_tensor *a, const nb_tensor *b);
/* The broadcast shape of a and b; NB_ERR_SHAPE naming both. */
nb_status nb__broadcast_shape(const char *fn, int na, const int64_t *sa, int nb_, const int64_t *sb,
                              int *nout, int64_t *out);
/* Sum g down to shape (the backward of broadcasting). */
nb_tensor *nb__sum_to(nb_tensor *g, int ndim, const int64_t *shape);

/* ---- reduce.c ---- */
nb_tensor *nb__reduce_mask(const char *fn, nb_reduce_op op, nb_tensor *t, uint64_t mask, bool keepdim);

#endif
