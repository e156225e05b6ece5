/* nabla — the kernel ABI.
 *
 * A small, stable C interface on raw pointers and strides, for engines that
 * link nabla as a CPU backend and for the tensor layer above it.
 *
 * Conventions (every entry point):
 *   - sizes and strides are int64_t; strides count ELEMENTS, not bytes;
 *     arrays are row-major (dim 0 outermost);
 *   - the return value is an nb_status; NB_OK is 0. On failure a thread-local
 *     message naming the function and the offending argument is left for
 *     nb_last_error(), and no output has been written;
 *   - zero-sized problems are valid and do nothing (GEMM with K == 0 still
 *     scales C by beta);
 *   - pointers may have any alignment.
 *
 * Numerics (see README "Numerics"): every SIMD kernel is checked against the
 * plain-C reference backend within the error bound of its family; results do
 * not depend on the thread count, and row i of a GEMM result does not depend
 * on M.
 *
 * ISA names: "avx2" means AVX + AVX2 + FMA3 with OS-enabled YMM state;
 * "neon" means AArch64 Advanced SIMD (fused multiply-add is part of it).
 */
#ifndef NABLA_KERNELS_H
#define NABLA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include <nabla/export.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NB_MAX_DIMS 8

/* ---- status and errors ------------------------------------------------ */

typedef enum {
    NB_OK = 0,
    NB_ERR_ARG,          /* a bad argument: NULL, negative size, bad enum */
    NB_ERR_SHAPE,        /* shapes that do not fit together */
    NB_ERR_DTYPE,        /* an operation the dtype does not support */
    NB_ERR_OOM,          /* an allocation failed; nothing was written */
    NB_ERR_UNSUPPORTED,  /* valid request this build/CPU cannot serve */
    NB_ERR_OVERFLOW,     /* a size or extent overflows int64_t */
    NB_ERR_ALIAS,        /* an output provably overlaps an input */
    NB_ERR_STATE         /* an operation not allowed in the current state */
} nb_status;

NB_API const char *nb_status_str(nb_status s);
/* The message of the last failure on this thread ("" if none yet). */
NB_API const char *nb_last_error(void);

/* ---- library, CPU and ISA --------------------------------------------- */

NB_API const char *nb_version(void);

/* CPU features as seen at run time (cpuid + xgetbv / getauxval). */
enum {
    NB_CPU_SSE2    = 1u << 0,
    NB_CPU_SSE42   = 1u << 1,
    NB_CPU_AVX     = 1u << 2,   /* CPUID.AVX and the OS saves YMM state */
    NB_CPU_AVX2    = 1u << 3,
    NB_CPU_FMA     = 1u << 4,
    NB_CPU_F16C    = 1u << 5,
    NB_CPU_AVX512F = 1u << 6,   /* AVX512F and the OS saves opmask and ZMM state */
    NB_CPU_AVX512BW = 1u << 7,
    NB_CPU_AVX512DQ = 1u << 8,
    NB_CPU_AVX512VL = 1u << 9,
    NB_CPU_ASIMD   = 1u << 16,  /* AArch64 Advanced SIMD (NEON) */
    NB_CPU_FP16    = 1u << 17
};
NB_API uint32_t nb_cpu_features(void);

/* Values are ABI: new ISAs are appended, never inserted. */
typedef enum { NB_ISA_REF = 0, NB_ISA_AVX2, NB_ISA_NEON, NB_ISA_AVX512 } nb_isa;
/* Chosen at first use; NABLA_ISA=ref|avx2|neon|auto overrides (an ISA this
   CPU lacks: a one-line warning on stderr, then auto). */
NB_API nb_isa      nb_isa_active(void);
/* This CPU and this build can run it (and its kernels exist). */
NB_API int         nb_isa_supported(nb_isa isa);
/* NB_ERR_UNSUPPORTED when not supported; the active ISA is then unchanged. */
NB_API nb_status   nb_isa_set(nb_isa isa);
NB_API const char *nb_isa_name(nb_isa isa);

/* Threads used by nabla's own parallel regions. n <= 0 restores the default:
   NABLA_NUM_THREADS if set, else OpenMP's default (OMP_NUM_THREADS, else the
   CPUs this process may run on). A call from inside an OpenMP parallel
   region always runs on one thread.
   fork(): in a child process made by fork() nabla runs on one thread for
   good (a pthread_atfork handler, as PyTorch's): the OpenMP runtime's
   worker threads do not exist in the child, and a parallel region there
   would wait for them forever. nb_get_num_threads() returns 1 in the child
   and nb_set_num_threads() has no effect there; the parent is unchanged.
   Workers that need threads must be started with exec (posix_spawn, or
   Python multiprocessing's "spawn" / "forkserver" start methods). */
NB_API void nb_set_num_threads(int n);
NB_API int  nb_get_num_threads(void);

/* Working memory: GEMM packing buffers and convolution workspaces (packed
   filters, column blocks) are kept per calling thread between calls
   (blocks of at most 16 MiB each; larger ones are freed after the call),
   as a fresh multi-megabyte block costs a page fault per 4 KiB on first
   touch. This frees the calling thread's kept blocks now (a thread's are
   also freed when it exits); the next call allocates them again. It also
   frees the tensor layer's cached storage blocks (nabla/tensor.h,
   nb_set_buffer_cache_limit): the calling thread's now, other threads' at
   their next tensor allocation or release. */
NB_API void nb_free_buffers(void);

/* ---- GEMM -------------------------------------------------------------- */

/* C = alpha * op(A) * op(B) + beta * C; op(A) is M x K, op(B) is K x N.
   trans_* are 0 or 1 (op(X) = X or X^T). Row-major: A is stored M x K
   (trans_a == 0, lda >= K) or K x M (trans_a == 1, lda >= M); likewise B;
   ldc >= N. beta == 0 means C is written, never read (NaN in C does not
   leak), as in BLAS. C must not overlap A or B (NB_ERR_ALIAS).
   Error bound (README "Numerics"): elementwise
     |C - C_exact| <= gamma(K+2) (|alpha| |A||B| + |beta| |C|),
   gamma(k) = k u / (1 - k u), u = 2^-24, with one exception, overflow: the
   SIMD paths sum each dot product in float (an FMA chain per KC block) and
   apply alpha and beta afterwards, so where a float intermediate can
   exceed FLT_MAX, i.e. where m = sum over k of |op(A)[i,k] op(B)[k,j]|
   (before alpha), or |alpha| m + |beta C[i,j]|, is above
   FLT_MAX / (1 + gamma(K+2)), C[i,j] may be +-Inf or NaN although the exact
   result is finite (A.B = 6e38 with alpha = 0.25: +Inf, not 1.5e38), and
   NaN where it is +-Inf (huge terms of both signs, or an infinite term
   and finite terms whose m alone is that large). The reference path
   sums in double and rounds the exact result once. Shadow mode
   (NABLA_CHECK) and the differential tests accept exactly this exception;
   the convolutions have it too (below). */
NB_API nb_status nb_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                          float alpha, const float *A, int64_t lda,
                          const float *B, int64_t ldb,
                          float beta, float *C, int64_t ldc);

/* Prepacked B (as MKL's cblas_sgemm_pack / cblas_sgemm_compute, or a
   fully-connected operator that packs its weights when it is created): a
   caller that multiplies by the same B many times (the weights of a
   linear layer, W stored [out, in] and used as op(B) = W^T: trans_b = 1)
   packs op(B) once into the active ISA's layout, and each call then reads
   it as one stream instead of packing it or reading it in place (a batch-1
   forward pass is memory bound: the B read is the whole cost).
   nb_sgemm_pack_b copies op(B) (K x N; B stored as for nb_sgemm: K x N
   with trans_b == 0, N x K with trans_b == 1, rows ldb apart); B may be
   freed or changed afterwards (a changed B needs a new pack).
   nb_sgemm_packed computes C = alpha op(A) op(B) + beta C with the packed
   op(B); N and K must be the packed ones (NB_ERR_SHAPE naming which), the
   other arguments as for nb_sgemm (NB_ERR_ARG / NB_ERR_OVERFLOW / NB_ERR_ALIAS
   with the same messages; B == NULL is NB_ERR_ARG). The result has the
   same bits as nb_sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb,
   beta, C, ldc) on the B that was packed, for any thread count, and the
   same semantics (alpha == 0 or K == 0 reads neither A nor B; beta == 0
   never reads C) and error bound. After nb_isa_set changed the ISA (or in
   shadow mode) a call unpacks op(B) into a temporary copy and runs the
   active ISA's nb_sgemm (the bits of nb_sgemm then; NB_ERR_OOM if the copy
   cannot be allocated, C untouched).
   Lifetime: *packed is owned by the caller until nb_sgemm_packed_b_free
   (NULL is a no-op); it is read-only in nb_sgemm_packed, which may run on
   several threads at once with one pack. nb_sgemm_pack_b leaves *packed
   untouched on failure (NB_ERR_ARG for trans_b not 0 or 1, a negative N
   or K, ldb too small, a NULL B with elements or a NULL packed;
   NB_ERR_OVERFLOW; NB_ERR_OOM). nb_sgemm_packed_b_floats is the floats the
   pack holds (K round_up(N, NR) for the ISA's panel width NR: what an
   engine budgets for it; 0 for NULL). */
typedef struct nb_sgemm_packed_b nb_sgemm_packed_b;
NB_API nb_status nb_sgemm_pack_b(int trans_b, int64_t N, int64_t K, const float *B, int64_t ldb,
                                 nb_sgemm_packed_b **packed);
NB_API nb_status nb_sgemm_packed(int trans_a, int64_t M, int64_t N, int64_t K, float alpha,
                                 const float *A, int64_t lda, const nb_sgemm_packed_b *B,
                                 float beta, float *C, int64_t ldc);
NB_API void nb_sgemm_packed_b_free(nb_sgemm_packed_b *packed);
NB_API int64_t nb_sgemm_packed_b_floats(const nb_sgemm_packed_b *packed);

/* float64 twin, reference path only (gradient checks, precise oracles). */
NB_API nb_status nb_dgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                          double alpha, const double *A, int64_t lda,
                          const double *B, int64_t ldb,
                          double beta, double *C, int64_t ldc);

/* ---- convolution -------------------------------------------------------- */

/* 2-D convolution (cross-correlation, as PyTorch): x is N x C x H x W (NCHW),
   w is K x (C/groups) x R x S (OIHW), y is N x K x P x Q; bias (length K) may
   be NULL. All tensors dense. P = (H + 2 pad_h - dilation_h (R-1) - 1) /
   stride_h + 1, likewise Q. Requirements: n, c, h, w, k >= 0, r, s >= 1,
   strides and dilations >= 1, pads >= 0, groups >= 1 dividing c and k, and
   P, Q >= 1 (NB_ERR_SHAPE otherwise). */
typedef struct {
    int64_t n, c, h, w, k, r, s;
    int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups;
} nb_conv2d_desc;

NB_API nb_status nb_conv2d_out_shape(const nb_conv2d_desc *d, int64_t *p, int64_t *q);
/* y = conv(x, w) + bias. */
NB_API nb_status nb_sconv2d_forward(const nb_conv2d_desc *d, const float *x,
                                    const float *w, const float *bias, float *y);
/* dx = d(conv)/dx applied to dy (dx is overwritten, not accumulated). */
NB_API nb_status nb_sconv2d_backward_data(const nb_conv2d_desc *d, const float *dy,
                                          const float *w, float *dx);
/* dw = d(conv)/dw applied to dy; dbias (may be NULL) = dy summed over n, p, q.
   Both overwritten. */
NB_API nb_status nb_sconv2d_backward_filter(const nb_conv2d_desc *d, const float *x,
                                            const float *dy, float *dw, float *dbias);

/* Empty tensors (any of n, c, h, w, k == 0) are valid. Every output element
   that exists is written, and an empty sum is 0: forward with c == 0 (or
   h, w == 0, all padding) gives y = bias (0 without bias); backward_data
   with k == 0 gives dx = 0; backward_filter with n == 0 gives dw = 0 and
   dbias = 0, with c == 0 only dbias (the dy sum) exists. Calls whose outputs
   are all empty (e.g. n == 0 in forward) do nothing.
   Errors: desc == NULL or a NULL pointer for a tensor with elements is
   NB_ERR_ARG; a desc field out of range (above) NB_ERR_SHAPE; an element or
   byte count (or P, Q) that overflows int64_t NB_ERR_OVERFLOW; an output
   overlapping an input, or dbias overlapping dw, NB_ERR_ALIAS.
   Numerics: each output is a dot product of L terms (forward: x w over
   C/groups R S taps, plus the bias; backward_data: dy w; backward_filter:
   x dy over n P Q) within gamma(L+2) of the sum of their magnitudes, with
   nb_sgemm's overflow exception: where that magnitude sum is above
   FLT_MAX / (1 + gamma(L+2)) a SIMD result may be +-Inf or NaN while the
   reference's is finite (dbias is summed in double: no exception).
   3x3 layers with stride 1, dilation 1 and groups 1 may run Winograd
   F(4x4, 3x3) instead (forward; backward_data with pad <= 2; chosen by the
   shape of one image, or NABLA_CONV_ALGO=auto|gemm|winograd): its bound is
   gamma(C' + 24) times the transforms run on absolute values,
   |A^T| (sum over channels of (|G||g||G^T|) o (|B^T||d||B|)) |A| + |bias|
   per 4x4 output tile (C' = c forward, k backward_data; README
   "Numerics"). Images with a NaN or infinite Winograd output are redone on
   the GEMM path, so NaN and Inf land where the reference puts them. Working
   memory is all taken before any output is written: NB_ERR_OOM leaves the
   outputs untouched, and n == 0 (backward_filter) takes none. */

/* Prepacked weights: an engine that calls the same layer many times packs
   its weights once, for the desc and the directions it will call, and
   saves every call the weights' preparation (for the 3x3 stride-1 layers
   that take Winograd, the filter transform: 36 K C floats written per
   call, most of a batch-1 call's time). The packed object holds a copy of
   w (w may be freed or changed after packing; a changed w needs a new
   pack) and, where the active ISA would run the call on Winograd now, the
   transformed filters for each direction asked for.
   directions: NB_CONV_PACK_FORWARD and/or NB_CONV_PACK_BACKWARD_DATA.
   The packed calls give the same bits as nb_sconv2d_forward and
   nb_sconv2d_backward_data with the packed w, for any thread count, and
   take their desc with the same checks and errors; every desc field but n
   must equal the packed desc's (NB_ERR_SHAPE naming the field), and the
   direction must have been packed (NB_ERR_ARG). NABLA_CONV_ALGO is read at
   packing and at every call: a call that chooses Winograd where the pack
   has no transformed filters (or after nb_set_isa changed the ISA)
   transforms them itself, as the unpacked call does.
   Lifetime: *packed is owned by the caller until nb_conv2d_packed_free
   (NULL is a no-op); it is read-only in the calls, which may run on
   several threads at once. nb_sconv2d_pack_weights leaves *packed
   untouched on failure (NB_ERR_ARG for a NULL desc, w or packed or unknown
   direction bits; the desc's errors as above; NB_ERR_OOM). */
typedef struct nb_conv2d_packed nb_conv2d_packed;
#define NB_CONV_PACK_FORWARD 1
#define NB_CONV_PACK_BACKWARD_DATA 2
NB_API nb_status nb_sconv2d_pack_weights(const nb_conv2d_desc *d, const float *w,
                                         int directions, nb_conv2d_packed **packed);
NB_API void nb_conv2d_packed_free(nb_conv2d_packed *packed);
/* Floats of working memory a packed object holds (its w copy and
   transformed filters): what an engine budgets for it. */
NB_API int64_t nb_conv2d_packed_floats(const nb_conv2d_packed *packed);
NB_API nb_status nb_sconv2d_forward_packed(const nb_conv2d_desc *d, const float *x,
                                           const nb_conv2d_packed *w, const float *bias,
                                           float *y);
NB_API nb_status nb_sconv2d_backward_data_packed(const nb_conv2d_desc *d, const float *dy,
                                                 const nb_conv2d_packed *w, float *dx);

/* float64 twins, reference path only (the tensor layer gradient-checks conv
   in float64). Same contract as the float functions above. */
NB_API nb_status nb_dconv2d_forward(const nb_conv2d_desc *d, const double *x,
                                    const double *w, const double *bias, double *y);
NB_API nb_status nb_dconv2d_backward_data(const nb_conv2d_desc *d, const double *dy,
                                          const double *w, double *dx);
NB_API nb_status nb_dconv2d_backward_filter(const nb_conv2d_desc *d, const double *x,
                                            const double *dy, double *dw, double *dbias);

/* ---- reductions ---------------------------------------------------------- */

/* Reduce the axes set in axes_mask (bit i = axis i) of a strided array.
   y has the same ndim, size 1 on reduced axes; y_strides describe it (their
   value on reduced axes is ignored). Sum of an empty set is 0, mean of an
   empty set is NaN, max/min of an empty set is NB_ERR_SHAPE. max/min
   propagate NaN (as torch.max). Sums use blocked summation: the error is
   bounded by a multiple of log2(n) u sum|x|, not n u sum|x|.
   Details: max/min order signed zeros -0 < +0 (max(+0, -0) = +0 and
   min(+0, -0) = -0 in any order), so every backend and thread count gives
   the same bits; a NaN result's payload is unspecified. float sums:
   |sum - exact| <= gamma(133 + ceil(log2 m)) sum|x| for m reduced elements
   (gamma(k) = k u / (1 - k u), u = 2^-24); partial sums may overflow to Inf
   when sum|x| > FLT_MAX (over the finite terms), and then give NaN where an
   infinite input of the other sign makes the exact result +-Inf (the
   reference sums in double). y strides on reduced axes are ignored. */
typedef enum { NB_REDUCE_SUM, NB_REDUCE_MEAN, NB_REDUCE_MAX, NB_REDUCE_MIN } nb_reduce_op;

NB_API nb_status nb_sreduce(nb_reduce_op op, int ndim, const int64_t *shape,
                            const float *x, const int64_t *x_strides, uint64_t axes_mask,
                            float *y, const int64_t *y_strides);
/* float64 twin, reference path only. */
NB_API nb_status nb_dreduce(nb_reduce_op op, int ndim, const int64_t *shape,
                            const double *x, const int64_t *x_strides, uint64_t axes_mask,
                            double *y, const int64_t *y_strides);

/* ---- copies ----------------------------------------------------------------- */

/* dst[i] = src[i] for every index i of shape, elements of elem_size bytes.
   src strides may be 0 (broadcast) or negative; dst must not overlap src
   (NB_ERR_ALIAS when it provably does) and must not have stride 0 on a dim
   of size > 1. Provable: the byte ranges intersect and either view is dense
   (covers its range without holes, even where its own elements overlap, as
   strides {1, 1} do) or the first, the lowest or the highest elements of
   the two views share a byte; dst identical to src (same pointer and
   strides) is a no-op returning NB_OK; two views with holes whose ranges
   interleave are allowed (correct when they share no element). */
NB_API nb_status nb_copy_strided(size_t elem_size, int ndim, const int64_t *shape,
                                 const void *src, const int64_t *src_strides,
                                 void *dst, const int64_t *dst_strides);

/* ---- elementwise ------------------------------------------------------------ */

/* y[i] = f(x[i]) on n contiguous floats; y == x (in place) is allowed, any
   other overlap is NB_ERR_ALIAS. SIMD paths use SLEEF; the error bounds per
   function are in the README ("Numerics"). GELU is the exact (erf) form,
   as torch.nn.functional.gelu's default. */
typedef enum {
    NB_UNARY_EXP, NB_UNARY_LOG, NB_UNARY_TANH, NB_UNARY_SIGMOID, NB_UNARY_GELU,
    NB_UNARY_RELU
} nb_unary_op;
NB_API nb_status nb_sunary(nb_unary_op op, int64_t n, const float *x, float *y);

/* Row-wise softmax (log_softmax when log != 0) of a rows x cols matrix:
   y[i, :] = softmax(x[i, :]). ldx >= cols, ldy >= cols; y == x with
   ldy == ldx is allowed (in place). cols == 0 is valid (nothing to do). */
NB_API nb_status nb_ssoftmax(int log, int64_t rows, int64_t cols,
                             const float *x, int64_t ldx, float *y, int64_t ldy);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_KERNELS_H */
