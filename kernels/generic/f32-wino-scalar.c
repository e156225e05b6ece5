/* Winograd F(4x4, 3x3) transforms in plain C (baseline flags, no FMA): the
 * twins of the SIMD transforms (src/ukernel.h, "Winograd"), with the same
 * operations in the same order, for LANES = 16 (AVX2, AVX-512) and 12
 * (NEON) tiles per call.
 */
#include "ukernel.h"

/* The 1-D transforms, exactly as written in src/ukernel.h. */
static void in6(const float d[6], float v[6]) {
    v[0] = (d[4] - 5.0f * d[2]) + 4.0f * d[0];
    v[1] = (d[3] + d[4]) - 4.0f * (d[1] + d[2]);
    v[2] = (d[4] - d[3]) + 4.0f * (d[1] - d[2]);
    v[3] = (d[4] - d[2]) + 2.0f * (d[3] - d[1]);
    v[4] = (d[4] - d[2]) - 2.0f * (d[3] - d[1]);
    v[5] = (d[5] - 5.0f * d[3]) + 4.0f * d[1];
}

static void filter3(const float g[3], float u[6]) {
    const float s = g[0] + g[2], t = g[0] + 4.0f * g[2];
    u[0] = 0.25f * g[0];
    u[1] = (s + g[1]) * (-1.0f / 6.0f);
    u[2] = (s - g[1]) * (-1.0f / 6.0f);
    u[3] = (t + 2.0f * g[1]) * (1.0f / 24.0f);
    u[4] = (t - 2.0f * g[1]) * (1.0f / 24.0f);
    u[5] = g[2];
}

static void out6(const float m[6], float o[4]) {
    const float a = m[1] + m[2], b = m[1] - m[2], c = m[3] + m[4], e = m[3] - m[4];
    o[0] = (m[0] + a) + c;
    o[1] = b + 2.0f * e;
    o[2] = a + 4.0f * c;
    o[3] = (b + 8.0f * e) + m[5];
}

static void wino_in(size_t lanes, size_t channels, const float *x, ptrdiff_t plane, ptrdiff_t ld,
                    const int32_t *off, float *v, ptrdiff_t vxi) {
    for (size_t c = 0; c < channels; c++)
        for (size_t i = 0; i < lanes; i++) {
            const float *d = x + (ptrdiff_t)c * plane + off[i];
            float t[6][6], col[6], res[6];
            for (int a = 0; a < 6; a++) in6(d + a * ld, t[a]);   /* rows */
            for (int nu = 0; nu < 6; nu++) {                      /* then columns */
                for (int a = 0; a < 6; a++) col[a] = t[a][nu];
                in6(col, res);
                for (int mu = 0; mu < 6; mu++) v[(6 * mu + nu) * vxi + (ptrdiff_t)(c * lanes + i)] = res[mu];
            }
        }
}

void nb_f32_winofilter_ukernel__scalar(size_t n, const float *g, ptrdiff_t gstride,
                                       ptrdiff_t tstride, float *u, ptrdiff_t uxi) {
    for (size_t j = 0; j < n; j++) {
        const float *gj = g + (ptrdiff_t)j * gstride;
        float t[3][6], col[3], res[6], row[3];
        for (int r = 0; r < 3; r++) {
            for (int s = 0; s < 3; s++) row[s] = gj[(3 * r + s) * tstride];
            filter3(row, t[r]);
        }
        for (int nu = 0; nu < 6; nu++) {
            for (int r = 0; r < 3; r++) col[r] = t[r][nu];
            filter3(col, res);
            for (int mu = 0; mu < 6; mu++) u[(6 * mu + nu) * uxi + (ptrdiff_t)j] = res[mu];
        }
    }
}

static int wino_out(size_t lanes, size_t live, const float *m, ptrdiff_t mxi, float bias,
                    float *out) {
    float bad = 0.0f;   /* stays 0 while every output is finite (x * 0 is NaN for NaN, Inf) */
    for (size_t i = 0; i < lanes; i++) {
        float t[6][4], col[6], res[4], row[6];
        for (int mu = 0; mu < 6; mu++) {   /* rows */
            for (int nu = 0; nu < 6; nu++) row[nu] = m[(6 * mu + nu) * mxi + (ptrdiff_t)i];
            out6(row, t[mu]);
        }
        for (int q = 0; q < 4; q++) {      /* then columns */
            for (int mu = 0; mu < 6; mu++) col[mu] = t[mu][q];
            out6(col, res);
            for (int p = 0; p < 4; p++) {
                out[16 * i + 4 * p + q] = res[p] + bias;
                if (i < live) bad += out[16 * i + 4 * p + q] * 0.0f;
            }
        }
    }
    return bad != 0.0f;
}

void nb_f32_winoin_ukernel_16__scalar(size_t channels, const float *x, ptrdiff_t plane,
                                      ptrdiff_t ld, const int32_t *off, float *v, ptrdiff_t vxi) {
    wino_in(16, channels, x, plane, ld, off, v, vxi);
}
void nb_f32_winoin_ukernel_12__scalar(size_t channels, const float *x, ptrdiff_t plane,
                                      ptrdiff_t ld, const int32_t *off, float *v, ptrdiff_t vxi) {
    wino_in(12, channels, x, plane, ld, off, v, vxi);
}
int nb_f32_winoout_ukernel_16__scalar(size_t live, const float *m, ptrdiff_t mxi, float bias,
                                      float *out) {
    return wino_out(16, live, m, mxi, bias, out);
}
int nb_f32_winoout_ukernel_12__scalar(size_t live, const float *m, ptrdiff_t mxi, float bias,
                                      float *out) {
    return wino_out(12, live, m, mxi, bias, out);
}
