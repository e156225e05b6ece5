/* nabla — tensors: a thin PyTorch-like layer over the kernel ABI.
 *
 * An nb_tensor is opaque and reference counted (nb_tensor_retain /
 * nb_tensor_release). It is a strided view (shape, strides in ELEMENTS,
 * storage offset) of a reference-counted storage that its views share.
 *
 * Conventions:
 *   - functions returning a tensor return a NEW reference (release it), or
 *     NULL with nb_last_error() set ("nb_add: shapes [2, 3] and [4] cannot be
 *     broadcast"); functions returning nb_status leave outputs untouched on
 *     failure;
 *   - dims may be negative (counted from the end), as in PyTorch;
 *   - every op on tensors that require grad records a graph node (see
 *     nabla/autograd.h), except inside no-grad mode;
 *   - threads: reference counts are atomic (a tensor may be released on
 *     another thread) and grad mode is per thread; writing a tensor while
 *     another thread uses it, and two backward passes through one graph at
 *     the same time, are not supported.
 * The PyTorch equivalent of each function is given in its comment.
 */
#ifndef NABLA_TENSOR_H
#define NABLA_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nabla/export.h>
#include <nabla/kernels.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { NB_FLOAT32 = 0, NB_FLOAT64, NB_INT64 } nb_dtype;

typedef struct nb_tensor nb_tensor;
typedef struct nb_generator nb_generator;
/* Called once when the last tensor using a wrapped buffer goes away. */
typedef void (*nb_free_fn)(void *data, void *user);

/* The status of the last failure on this thread (with nb_last_error()'s
   message): how functions that return NULL tell NB_ERR_SHAPE from
   NB_ERR_DTYPE. */
NB_API nb_status nb_last_status(void);

NB_API const char *nb_dtype_name(nb_dtype dtype);   /* "float32", ... */
NB_API size_t      nb_dtype_size(nb_dtype dtype);   /* 0 for a bad dtype */

/* ---- creation ------------------------------------------------------------- */

/* torch.tensor(data): COPIES ndim/shape elements of dtype from data (row-major). */
NB_API nb_tensor *nb_tensor_new(const void *data, nb_dtype dtype, int ndim, const int64_t *shape);
/* torch.as_tensor / torch.from_numpy: wraps data WITHOUT copying. strides may
   be NULL (row-major). free_fn (may be NULL: the caller keeps ownership and
   must outlive every view) is called with (data, user) when the last tensor
   sharing the buffer is released. */
NB_API nb_tensor *nb_tensor_wrap(void *data, nb_dtype dtype, int ndim, const int64_t *shape,
                                 const int64_t *strides, nb_free_fn free_fn, void *user);
NB_API nb_tensor *nb_empty(int ndim, const int64_t *shape, nb_dtype dtype);
NB_API nb_tensor *nb_zeros(int ndim, const int64_t *shape, nb_dtype dtype);
NB_API nb_tensor *nb_ones(int ndim, const int64_t *shape, nb_dtype dtype);
NB_API nb_tensor *nb_full(int ndim, const int64_t *shape, nb_dtype dtype, double value);
NB_API nb_tensor *nb_scalar(double value, nb_dtype dtype);          /* 0-dim */
NB_API nb_tensor *nb_zeros_like(const nb_tensor *t);
NB_API nb_tensor *nb_ones_like(const nb_tensor *t);
/* torch.arange(start, end, step): ceil((end - start) / step) elements. */
NB_API nb_tensor *nb_arange(double start, double end, double step, nb_dtype dtype);

/* Random numbers. gen == NULL uses the default generator (nb_manual_seed);
   the default generator is process-wide and not thread-safe: use one
   nb_generator per thread. */
NB_API void          nb_manual_seed(uint64_t seed);
NB_API nb_generator *nb_generator_new(uint64_t seed);
NB_API void          nb_generator_free(nb_generator *g);
/* torch.rand: uniform in [0, 1). torch.randn: standard normal. Float dtypes. */
NB_API nb_tensor *nb_rand(int ndim, const int64_t *shape, nb_dtype dtype, nb_generator *gen);
NB_API nb_tensor *nb_randn(int ndim, const int64_t *shape, nb_dtype dtype, nb_generator *gen);
/* torch.randint(low, high, shape, generator=gen): int64, uniform in
   [low, high) (unbiased). NB_ERR_ARG when high <= low. */
NB_API nb_tensor *nb_randint(int64_t low, int64_t high, int ndim, const int64_t *shape, nb_generator *gen);
/* torch.randperm(n, generator=gen): int64 [n], a uniformly random
   permutation of 0..n-1 (for shuffling a data set). */
NB_API nb_tensor *nb_randperm(int64_t n, nb_generator *gen);

/* ---- lifetime and properties -------------------------------------------------- */

NB_API nb_tensor *nb_tensor_retain(nb_tensor *t);      /* returns t */
NB_API void       nb_tensor_release(nb_tensor *t);     /* NULL is a no-op */
/* Debug counter: tensor objects currently alive in this process (leak tests). */
NB_API int64_t    nb_tensor_live_count(void);

/* Storage cache. A released tensor's storage (and the tensor object) goes
   back to a per-thread cache of free blocks sorted by size class, and the
   next tensor of that size class made on the same thread reuses it,
   instead of going through malloc/free each op. Each thread keeps at most
   a cap of bytes there: NABLA_CACHE_BYTES (read once; bytes, or with a K,
   M or G suffix), or nb_set_buffer_cache_limit(), which wins; default
   256 MiB; 0 turns the cache off (a lowered cap applies to blocks released
   from then on). nb_free_buffers() (nabla/kernels.h) frees the calling
   thread's cached blocks now, every other thread's at its next tensor
   allocation or release, and a thread's blocks are freed when it exits.
   Data stays 64-byte aligned. nb_buffer_cache_bytes(): the bytes the
   calling thread's cache holds now. */
NB_API void       nb_set_buffer_cache_limit(size_t bytes);
NB_API size_t     nb_buffer_cache_bytes(void);

/* Given NULL, each accessor sets the last error (NB_ERR_ARG, naming it)
   and returns an error value: -1 for ndim, size, stride, offset and numel,
   NULL for shape, strides and data, false for is_contiguous, and
   (nb_dtype)-1 for dtype (not a dtype: nb_dtype_size() gives 0). */
NB_API nb_dtype       nb_tensor_dtype(const nb_tensor *t);
NB_API int            nb_tensor_ndim(const nb_tensor *t);
NB_API const int64_t *nb_tensor_shape(const nb_tensor *t);
NB_API const int64_t *nb_tensor_strides(const nb_tensor *t);  /* in elements */
NB_API int64_t        nb_tensor_size(const nb_tensor *t, int dim);   /* -1 + error on a bad dim */
NB_API int64_t        nb_tensor_stride(const nb_tensor *t, int dim);
NB_API int64_t        nb_tensor_offset(const nb_tensor *t);   /* storage offset, elements */
NB_API int64_t        nb_tensor_numel(const nb_tensor *t);
NB_API bool           nb_tensor_is_contiguous(const nb_tensor *t);
/* torch: a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr(). */
NB_API bool           nb_tensor_shares_storage(const nb_tensor *a, const nb_tensor *b);
/* Pointer to element [0, ..., 0] (storage + offset). Writing through it
   bypasses the version counter: prefer nb_tensor_set / in-place ops. */
NB_API void          *nb_tensor_data(const nb_tensor *t);

/* Element access by a full index (ndim entries; negative counts from the end). */
NB_API nb_status nb_tensor_get(const nb_tensor *t, const int64_t *index, double *out);
NB_API nb_status nb_tensor_set(nb_tensor *t, const int64_t *index, double value);
/* x.item(): the value of a one-element tensor. */
NB_API nb_status nb_tensor_item(const nb_tensor *t, double *out);
/* Copies all elements, row-major, into dst (numel * dtype size bytes). */
NB_API nb_status nb_tensor_read(const nb_tensor *t, void *dst);
/* Prints "name: tensor([...], dtype)" to stdout, for examples. */
NB_API void      nb_tensor_print(const nb_tensor *t, const char *name);

/* ---- views (never copy) ----------------------------------------------------- */

/* x.view(shape): one -1 inferred. Fails (NB_ERR_SHAPE, "use nb_reshape")
   when the strides do not allow a view. */
NB_API nb_tensor *nb_view(nb_tensor *t, int ndim, const int64_t *shape);
/* x.reshape(shape): a view when the strides allow it (PyTorch's rule), else a copy. */
NB_API nb_tensor *nb_reshape(nb_tensor *t, int ndim, const int64_t *shape);
NB_API nb_tensor *nb_flatten(nb_tensor *t);                      /* x.reshape(-1) */
/* torch.flatten(x, start_dim, end_dim): dims start..end (inclusive,
   negative allowed) merged into one; a view when the strides allow, else a
   copy (as PyTorch). A 0-dim tensor gives [1]. */
NB_API nb_tensor *nb_flatten_dims(nb_tensor *t, int start_dim, int end_dim);
NB_API nb_tensor *nb_permute(nb_tensor *t, const int *dims);     /* ndim entries */
NB_API nb_tensor *nb_transpose(nb_tensor *t, int dim0, int dim1);
NB_API nb_tensor *nb_t(nb_tensor *t);                            /* x.t(): ndim <= 2 */
NB_API nb_tensor *nb_squeeze(nb_tensor *t, int dim);             /* x.squeeze(dim) */
NB_API nb_tensor *nb_squeeze_all(nb_tensor *t);                  /* x.squeeze() */
NB_API nb_tensor *nb_unsqueeze(nb_tensor *t, int dim);
/* x.expand(shape): stride 0 on broadcast dims; -1 keeps a size.
   NB_ERR_OVERFLOW when the element count or the size in bytes of the
   expanded shape does not fit int64 (as for every function that makes a
   shape: creation, views, copies). */
NB_API nb_tensor *nb_expand(nb_tensor *t, int ndim, const int64_t *shape);
NB_API nb_tensor *nb_narrow(nb_tensor *t, int dim, int64_t start, int64_t length);
/* x[..., start:end:step, ...] on dim; start/end are clamped as in Python, step >= 1. */
NB_API nb_tensor *nb_slice(nb_tensor *t, int dim, int64_t start, int64_t end, int64_t step);
NB_API nb_tensor *nb_select(nb_tensor *t, int dim, int64_t index);   /* x.select(dim, i) */

/* ---- copies ------------------------------------------------------------------ */

/* x.contiguous(): t itself (retained) when already contiguous, else a copy. */
NB_API nb_tensor *nb_contiguous(nb_tensor *t);
NB_API nb_tensor *nb_clone(nb_tensor *t);
NB_API nb_tensor *nb_repeat(nb_tensor *t, int nreps, const int64_t *reps);
NB_API nb_tensor *nb_stack(int n, nb_tensor *const *ts, int dim);
NB_API nb_tensor *nb_cat(int n, nb_tensor *const *ts, int dim);
/* x.to(dtype): t itself (retained) when it already has the dtype. */
NB_API nb_tensor *nb_to_dtype(nb_tensor *t, nb_dtype dtype);

/* ---- elementwise (NumPy broadcasting, PyTorch type promotion) ------------------ */

NB_API nb_tensor *nb_add(nb_tensor *a, nb_tensor *b);
NB_API nb_tensor *nb_sub(nb_tensor *a, nb_tensor *b);
NB_API nb_tensor *nb_mul(nb_tensor *a, nb_tensor *b);
NB_API nb_tensor *nb_div(nb_tensor *a, nb_tensor *b);   /* true division: int64 / int64 is float32 */
NB_API nb_tensor *nb_pow(nb_tensor *a, nb_tensor *b);
NB_API nb_tensor *nb_add_scalar(nb_tensor *a, double s);
NB_API nb_tensor *nb_sub_scalar(nb_tensor *a, double s);
NB_API nb_tensor *nb_mul_scalar(nb_tensor *a, double s);
NB_API nb_tensor *nb_div_scalar(nb_tensor *a, double s);
NB_API nb_tensor *nb_pow_scalar(nb_tensor *a, double exponent);
NB_API nb_tensor *nb_neg(nb_tensor *a);
NB_API nb_tensor *nb_exp(nb_tensor *a);
NB_API nb_tensor *nb_log(nb_tensor *a);
NB_API nb_tensor *nb_tanh(nb_tensor *a);
NB_API nb_tensor *nb_sigmoid(nb_tensor *a);
NB_API nb_tensor *nb_relu(nb_tensor *a);
NB_API nb_tensor *nb_gelu(nb_tensor *a);                /* exact (erf) form */

/* In place (a.add_(b), ...): b broadcasts to a's shape, the result keeps a's
   dtype (a non-integral scalar on an int64 tensor is NB_ERR_DTYPE, as
   PyTorch's "result type Float can't be cast to Long"). Refused (a status, nothing written) on a tensor whose elements
   overlap (an expanded tensor) and on a leaf that requires grad outside
   no-grad mode. Each bumps the version counter of a's storage. */
NB_API nb_status nb_add_(nb_tensor *a, nb_tensor *b);
NB_API nb_status nb_sub_(nb_tensor *a, nb_tensor *b);
NB_API nb_status nb_mul_(nb_tensor *a, nb_tensor *b);
NB_API nb_status nb_div_(nb_tensor *a, nb_tensor *b);
NB_API nb_status nb_add_scalar_(nb_tensor *a, double s);
NB_API nb_status nb_mul_scalar_(nb_tensor *a, double s);
NB_API nb_status nb_sub_scalar_(nb_tensor *a, double s);   /* a.sub_(s) */
NB_API nb_status nb_div_scalar_(nb_tensor *a, double s);   /* a.div_(s): a must be floating */
NB_API nb_status nb_fill_(nb_tensor *a, double value);
NB_API nb_status nb_zero_(nb_tensor *a);
NB_API nb_status nb_copy_(nb_tensor *dst, nb_tensor *src);   /* dst.copy_(src) */

/* ---- reductions --------------------------------------------------------------- */

/* dims: ndims entries (negative allowed, no repeats); ndims == 0 reduces all
   dims. keepdim keeps reduced dims with size 1. sum of an empty set is 0,
   mean of an empty set is NaN, max/min of an empty set is NB_ERR_SHAPE.
   mean needs a floating dtype (NB_ERR_DTYPE otherwise). max/min propagate
   NaN and spread the gradient evenly over ties (torch.amax/amin). */
NB_API nb_tensor *nb_sum(nb_tensor *t, int ndims, const int *dims, bool keepdim);
NB_API nb_tensor *nb_mean(nb_tensor *t, int ndims, const int *dims, bool keepdim);
NB_API nb_tensor *nb_max(nb_tensor *t, int ndims, const int *dims, bool keepdim);
NB_API nb_tensor *nb_min(nb_tensor *t, int ndims, const int *dims, bool keepdim);
NB_API nb_tensor *nb_sum_all(nb_tensor *t);      /* 0-dim */
NB_API nb_tensor *nb_mean_all(nb_tensor *t);
/* x.argmax(dim, keepdim): int64 indices of the first maximum (NaN counts as
   the maximum, as in PyTorch). Not differentiable. */
NB_API nb_tensor *nb_argmax(nb_tensor *t, int dim, bool keepdim);

/* ---- linear algebra ------------------------------------------------------------ */

/* torch.matmul: 1-D and 2-D operands, and batched N-D with broadcast batch
   dims. float32 through nb_sgemm, float64 through nb_dgemm; transposed views
   are passed to GEMM as transposed operands, not copied. */
NB_API nb_tensor *nb_matmul(nb_tensor *a, nb_tensor *b);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_TENSOR_H */
