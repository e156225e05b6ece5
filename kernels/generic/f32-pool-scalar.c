/* The plain-C pooling rows (src/ukernel.h, "2-D pooling rows"): the twins
 * the SIMD rows are tested against, one output at a time through the
 * contract's single-output helpers. */
#include "ukernel.h"

void nb_f32_maxpool_ukernel__scalar(const nb_pool2d_geom *g, const float *x, int64_t p, float *y, int64_t *arg) {
    for (int64_t q = 0; q < g->Q; q++) y[q] = nb_pool2d_max_one(g, x, p, q, &arg[q]);
}

void nb_f32_avgpool_ukernel__scalar(const nb_pool2d_geom *g, const float *x, int64_t p, float *y) {
    for (int64_t q = 0; q < g->Q; q++) y[q] = nb_pool2d_avg_one(g, x, p, q);
}
