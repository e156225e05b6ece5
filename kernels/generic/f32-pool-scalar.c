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

/* MaxPool2d(2) over whole planes (src/ukernel_pool.h): each output through
   the single-output helper on its plane. */
void nb_f32_maxpool2_planes_ukernel__scalar(int64_t P, int64_t Q, const float *x, int64_t o0, int64_t o1, float *y,
                                            int64_t *arg) {
    const nb_pool2d_geom g = {2 * P, 2 * Q, 2, 2, 2, 2, 0, 0, Q};
    const int64_t PQ = P * Q;
    for (int64_t o = o0; o < o1; o++) {
        const int64_t l = o % PQ;
        y[o] = nb_pool2d_max_one(&g, x + (o - l) * 4, l / Q, l % Q, &arg[o]);
    }
}

void nb_f32_maxpool2_planes_bwd_ukernel__scalar(int64_t P, int64_t Q, const float *dy, const int64_t *arg,
                                                int64_t o0, int64_t o1, float *dx) {
    const int64_t PQ = P * Q, W = 2 * Q;
    for (int64_t o = o0; o < o1; o++) {
        const int64_t l = o % PQ;
        float *plane = dx + (o - l) * 4, *corner = plane + (l / Q) * 2 * W + (l % Q) * 2;
        corner[0] = corner[1] = corner[W] = corner[W + 1] = 0.0f;
        plane[arg[o]] += dy[o];
    }
}
