/* The dispatch-table slots of every SIMD ISA: the portable drivers run over
 * the ISA's micro-kernel configuration (src/ukernel.h).
 *
 * kernels/<isa>/ holds only micro-kernels and one nb_<isa>_config(); the
 * whole operations are built here, once, from the list below. Adding an
 * ISA is an entry in meson.build's list (plus its folder and its CPU feature
 * check): nothing in src/ names it.
 */
#include "isa_ops.h"

#include <pthread.h>

#include "conv_driver.h"
#include "copy_driver.h"
#include "gemm_driver.h"
#include "nb_config.h"
#include "reduce_driver.h"
#include "ukernel.h"

/* The unary slot: one micro-kernel call over the whole (validated) array. */
static nb_status unary_run(const nb_ukernel_config *cfg, nb_unary_op op, int64_t n,
                           const float *x, float *y) {
    cfg->unary[op]((size_t)n, x, y);
    return NB_OK;
}

/* The softmax slot: the row loop around the row micro-kernels (cols >= 1
   here unless rows == 0, src/api_unary.c). */
static nb_status softmax_run(const nb_ukernel_config *cfg, int log, int64_t rows, int64_t cols,
                             const float *x, int64_t ldx, float *y, int64_t ldy) {
    if (cols == 0) return NB_OK;
    const nb_f32_softmax_row_fn row = log ? cfg->logsoftmax : cfg->softmax;
    for (int64_t i = 0; i < rows; i++) row((size_t)cols, x + i * ldx, y + i * ldy);
    return NB_OK;
}

/* One ISA's configuration and the eight float32 slots over it. The slots
   are plain functions (the table holds plain function pointers, and the
   tests call them side by side per ISA), so each ISA gets its own. */
#define NB_DEFINE_ISA_OPS(isa)                                                              \
    static nb_ukernel_config isa##_cfg;                                                     \
    static nb_status isa##_sgemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, \
                                 const float *A, int64_t lda, const float *B, int64_t ldb,  \
                                 float beta, float *C, int64_t ldc) {                       \
        return nb_gemm_driver_run(&isa##_cfg.gemm, ta, tb, M, N, K, alpha, A, lda, B, ldb,  \
                                  beta, C, ldc);                                            \
    }                                                                                       \
    static nb_status isa##_conv_fwd(const nb_conv2d_desc *d, const float *x, const float *w, \
                                    const float *bias, float *y) {                          \
        return nb_conv_forward_run(&isa##_cfg.conv, d, x, w, bias, y);                      \
    }                                                                                       \
    static nb_status isa##_conv_bwd_data(const nb_conv2d_desc *d, const float *dy,          \
                                         const float *w, float *dx) {                       \
        return nb_conv_backward_data_run(&isa##_cfg.conv, d, dy, w, dx);                    \
    }                                                                                       \
    static nb_status isa##_conv_bwd_filter(const nb_conv2d_desc *d, const float *x,         \
                                           const float *dy, float *dw, float *dbias) {      \
        return nb_conv_backward_filter_run(&isa##_cfg.conv, d, x, dy, dw, dbias);           \
    }                                                                                       \
    static nb_status isa##_sreduce(nb_reduce_op op, int ndim, const int64_t *shape,         \
                                   const float *x, const int64_t *xs, uint64_t mask,        \
                                   float *y, const int64_t *ys) {                           \
        return nb_sreduce_driver(&isa##_cfg.reduce, op, ndim, shape, x, xs, mask, y, ys);   \
    }                                                                                       \
    static nb_status isa##_copy(size_t es, int ndim, const int64_t *shape, const void *src, \
                                const int64_t *ss, void *dst, const int64_t *ds) {          \
        return nb_copy_strided_driver(&isa##_cfg.copy, es, ndim, shape, src, ss, dst, ds);  \
    }                                                                                       \
    static nb_status isa##_sunary(nb_unary_op op, int64_t n, const float *x, float *y) {    \
        return unary_run(&isa##_cfg, op, n, x, y);                                          \
    }                                                                                       \
    static nb_status isa##_ssoftmax(int log, int64_t rows, int64_t cols, const float *x,    \
                                    int64_t ldx, float *y, int64_t ldy) {                   \
        return softmax_run(&isa##_cfg, log, rows, cols, x, ldx, y, ldy);                    \
    }                                                                                       \
    static int isa##_fill(struct nb_kernels *t) {                                           \
        nb_generic_config(&isa##_cfg);                                                      \
        nb_##isa##_config(&isa##_cfg);                                                      \
        isa##_cfg.conv.gemm = isa##_cfg.conv_gemm.mr ? &isa##_cfg.conv_gemm : &isa##_cfg.gemm; \
        isa##_cfg.conv.wino_gemm = isa##_cfg.wino_gemm.mr ? &isa##_cfg.wino_gemm : isa##_cfg.conv.gemm; \
        isa##_cfg.conv.sgemm = isa##_sgemm;                                                 \
        isa##_cfg.conv.sgemm_desc = &isa##_cfg.gemm;                                        \
        isa##_cfg.conv.transpose32 = isa##_cfg.copy.transpose32;                            \
        t->sgemm = isa##_sgemm;                                                             \
        t->sconv2d_forward = isa##_conv_fwd;                                                \
        t->sconv2d_backward_data = isa##_conv_bwd_data;                                     \
        t->sconv2d_backward_filter = isa##_conv_bwd_filter;                                 \
        t->sreduce = isa##_sreduce;                                                         \
        t->copy_strided = isa##_copy;                                                       \
        t->sunary = isa##_sunary;                                                           \
        t->ssoftmax = isa##_ssoftmax;                                                       \
        return 8;                                                                           \
    }

/* The SIMD ISAs this build has: NB_BUILT_SIMD_ISAS(X) in nb_config.h. */
#define NB_ISA_OPS_OF(name, value) NB_DEFINE_ISA_OPS(name)
NB_BUILT_SIMD_ISAS(NB_ISA_OPS_OF)

int nb_isa_ops_fill(nb_isa isa, struct nb_kernels *t) {
#define NB_ISA_OPS_CASE(name, value) if (isa == value) return name##_fill(t);
    NB_BUILT_SIMD_ISAS(NB_ISA_OPS_CASE)
    (void)isa;
    (void)t;
    return 0;
}

/* NB_ISA_REF's configuration: the plain-C micro-kernels alone. */
static nb_ukernel_config generic_cfg;
static pthread_once_t generic_once = PTHREAD_ONCE_INIT;

static void generic_init(void) { nb_generic_config(&generic_cfg); }

const nb_ukernel_config *nb_isa_ops_config(nb_isa isa) {
    if (isa == NB_ISA_REF) {
        pthread_once(&generic_once, generic_init);
        return &generic_cfg;
    }
#define NB_ISA_CFG_CASE(name, value) if (isa == value) return &name##_cfg;
    NB_BUILT_SIMD_ISAS(NB_ISA_CFG_CASE)
    return NULL;
}
