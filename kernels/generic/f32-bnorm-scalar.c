/* The plain-C batch-norm rows (src/ukernel_bnorm.h): the twins the SIMD
 * rows are tested against, the contract's lane order written out one
 * element at a time (16 double lanes, element i of a row in lane i % 16,
 * then nb_bnorm_tree). */
#include "ukernel.h"

double nb_f32_bnsum_ukernel__scalar(size_t rows, size_t n, const float *x, size_t ldx) {
    double lane[NB_BNORM_LANES] = {0};
    for (size_t r = 0; r < rows; r++, x += ldx)
        for (size_t i = 0; i < n; i++) lane[i % NB_BNORM_LANES] += (double)x[i];
    return nb_bnorm_tree(lane);
}

double nb_f32_bnsqdev_ukernel__scalar(size_t rows, size_t n, const float *x, size_t ldx, double mu) {
    double lane[NB_BNORM_LANES] = {0};
    for (size_t r = 0; r < rows; r++, x += ldx)
        for (size_t i = 0; i < n; i++) {
            const double d = (double)x[i] - mu;
            lane[i % NB_BNORM_LANES] += d * d;
        }
    return nb_bnorm_tree(lane);
}

void nb_f32_bngsums_ukernel__scalar(size_t rows, size_t n, const float *g, const float *x, size_t ldx, double mu,
                                    double out[2]) {
    double sg[NB_BNORM_LANES] = {0}, sgx[NB_BNORM_LANES] = {0};
    for (size_t r = 0; r < rows; r++, g += ldx, x += ldx)
        for (size_t i = 0; i < n; i++) {
            sg[i % NB_BNORM_LANES] += (double)g[i];
            sgx[i % NB_BNORM_LANES] += (double)g[i] * ((double)x[i] - mu);
        }
    out[0] = nb_bnorm_tree(sg);
    out[1] = nb_bnorm_tree(sgx);
}

void nb_f32_bnaffine_ukernel__scalar(size_t rows, size_t n, size_t ld, const float *u, const float *v, float a,
                                     float b, float c, float *y) {
    for (size_t r = 0; r < rows; r++, u += ld, y += ld) {
        if (v) {
            for (size_t i = 0; i < n; i++) y[i] = (a * u[i] + b * v[i]) + c;
            v += ld;
        } else {
            for (size_t i = 0; i < n; i++) y[i] = a * u[i] + c;
        }
    }
}
