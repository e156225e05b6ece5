/* The dispatch table (private).
 *
 * One struct of function pointers per ISA. Slots take arguments that the
 * public entry points in src/api_*.c have ALREADY validated (non-NULL where
 * data exists, sizes >= 0, leading dimensions large enough, no overflow, no
 * aliasing), so a backend never re-checks them; they only return non-OK for
 * NB_ERR_OOM (scratch buffers). Signatures mirror the public ABI.
 */
#ifndef NB_KERNELS_TABLE_H
#define NB_KERNELS_TABLE_H

#include <stdbool.h>

#include <nabla/kernels.h>

typedef nb_status (*nb_sgemm_fn)(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                 float alpha, const float *A, int64_t lda,
                                 const float *B, int64_t ldb,
                                 float beta, float *C, int64_t ldc);
typedef nb_status (*nb_dgemm_fn)(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                 double alpha, const double *A, int64_t lda,
                                 const double *B, int64_t ldb,
                                 double beta, double *C, int64_t ldc);
typedef nb_status (*nb_sconv2d_forward_fn)(const nb_conv2d_desc *d, const float *x,
                                           const float *w, const float *bias, float *y);
typedef nb_status (*nb_sconv2d_backward_data_fn)(const nb_conv2d_desc *d, const float *dy,
                                                 const float *w, float *dx);
typedef nb_status (*nb_sconv2d_backward_filter_fn)(const nb_conv2d_desc *d, const float *x,
                                                   const float *dy, float *dw, float *dbias);
/* Conv slots see n, c, h, w, k >= 1 and P, Q >= 1 (src/api_conv.c sends the
   degenerate shapes, where a tensor is empty, to the reference backend). The
   float64 twins are reference-only (gradient checks in the tensor layer). */
typedef nb_status (*nb_dconv2d_forward_fn)(const nb_conv2d_desc *d, const double *x,
                                           const double *w, const double *bias, double *y);
typedef nb_status (*nb_dconv2d_backward_data_fn)(const nb_conv2d_desc *d, const double *dy,
                                                 const double *w, double *dx);
typedef nb_status (*nb_dconv2d_backward_filter_fn)(const nb_conv2d_desc *d, const double *x,
                                                   const double *dy, double *dw, double *dbias);
typedef nb_status (*nb_sreduce_fn)(nb_reduce_op op, int ndim, const int64_t *shape,
                                   const float *x, const int64_t *x_strides, uint64_t axes_mask,
                                   float *y, const int64_t *y_strides);
typedef nb_status (*nb_dreduce_fn)(nb_reduce_op op, int ndim, const int64_t *shape,
                                   const double *x, const int64_t *x_strides, uint64_t axes_mask,
                                   double *y, const int64_t *y_strides);
typedef nb_status (*nb_copy_strided_fn)(size_t elem_size, int ndim, const int64_t *shape,
                                        const void *src, const int64_t *src_strides,
                                        void *dst, const int64_t *dst_strides);
typedef nb_status (*nb_sunary_fn)(nb_unary_op op, int64_t n, const float *x, float *y);
typedef nb_status (*nb_ssoftmax_fn)(int log, int64_t rows, int64_t cols,
                                    const float *x, int64_t ldx, float *y, int64_t ldy);

struct nb_kernels {
    nb_isa isa;
#define NB_SLOT(name, type) type name;
#include "kernels.def"
#undef NB_SLOT
};

/* Slot names in registry order, and their count. */
extern const char *const nb_kernel_slot_names[];
extern const int nb_kernel_slot_count;

/* The active ISA's own table, never the shadow-mode wrapper. */
const struct nb_kernels *nb_kernels_active_unchecked(void);
/* The table of the active ISA (initialised on first use, thread-safe). */
const struct nb_kernels *nb_kernels_active(void);
/* The table of one ISA, or NULL when this build/CPU cannot run it. Tests use
   it to compare every backend with the reference side by side. */
const struct nb_kernels *nb_kernels_for(nb_isa isa);
/* Slot i (registry order) is non-NULL; slot i of a and b point at different
   functions (an ISA overrides the reference there). */
bool nb_kernels_slot_is_set(const struct nb_kernels *t, int i);
bool nb_kernels_slot_differs(const struct nb_kernels *a, const struct nb_kernels *b, int i);

/* The micro-kernel configuration of `isa` (NULL when this CPU or build
   cannot run it): the SIMD ISAs' own (every family), for NB_ISA_REF the
   plain-C one (the families of nb_generic_config only). Filled once; the
   pointer stays valid and read-only for the life of the process. */
typedef struct nb_ukernel_config nb_ukernel_config;
const nb_ukernel_config *nb_ukernels_for(nb_isa isa);
/* nb_ukernels_for(nb_isa_active()): what the tensor layer calls its
   elementwise rows through. */
const nb_ukernel_config *nb_ukernels_active(void);

/* The reference table (ref/backend.c). */
extern const struct nb_kernels nb_kernels_ref;


#endif
