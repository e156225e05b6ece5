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

void nb_f32_maxpool_bwd_ukernel__scalar(const nb_pool2d_geom *g, int64_t p, int64_t P, const float *dy,
                                        const int64_t *arg, int64_t base, float *dx) {
    int64_t h0, h1;
    nb_pool2d_band(g, p, P, &h0, &h1);
    for (int64_t i = h0 * g->W; i < h1 * g->W; i++) dx[i] = 0.0f;
    for (int64_t q = 0; q < g->Q; q++)
        if (arg[q] >= 0) dx[arg[q] - base] += dy[q];
}
