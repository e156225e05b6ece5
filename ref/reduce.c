/* STUB: reference reductions (to be written). */
#include "ref.h"
nb_status nb_ref_sreduce(nb_reduce_op op, int ndim, const int64_t *shape, const float *x,
                         const int64_t *xs, uint64_t mask, float *y, const int64_t *ys) {
    (void)op; (void)ndim; (void)shape; (void)x; (void)xs; (void)mask; (void)y; (void)ys;
    return NB_ERR_UNSUPPORTED;
}
nb_status nb_ref_dreduce(nb_reduce_op op, int ndim, const int64_t *shape, const double *x,
                         const int64_t *xs, uint64_t mask, double *y, const int64_t *ys) {
    (void)op; (void)ndim; (void)shape; (void)x; (void)xs; (void)mask; (void)y; (void)ys;
    return NB_ERR_UNSUPPORTED;
}
