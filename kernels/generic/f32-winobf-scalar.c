/* Winograd backward-filter F(3x3, 4x4) transforms in plain C (baseline
 * flags, no FMA): the dy transform E = A e A^T and the output transform
 * G^T M G, with exactly the operations of src/ukernel_wino.h
 * ("backward-filter"). The dy transform has the input transform's layout
 * (LANES = 16 for AVX2 and AVX-512, 12 for NEON).
 */
#include "ukernel.h"

/* 4 -> 6: a column of A (6x4) applied to e. */
static void dy4(const float e[4], float o[6]) {
    const float s = e[0] + e[2], t = e[1] + e[3];
    const float p = e[0] + 4.0f * e[2], q = 2.0f * e[1] + 8.0f * e[3];
    o[0] = e[0];
    o[1] = s + t;
    o[2] = s - t;
    o[3] = p + q;
    o[4] = p - q;
    o[5] = e[3];
}

/* 6 -> 3: G^T (3x6) applied to m. */
static void out3(const float m[6], float o[3]) {
    const float a = m[1] + m[2], b = m[1] - m[2], c = m[3] + m[4], e = m[3] - m[4];
    o[0] = (m[0] * 0.25f + a * (-1.0f / 6.0f)) + c * (1.0f / 24.0f);
    o[1] = b * (-1.0f / 6.0f) + e * (1.0f / 12.0f);
    o[2] = (c - a) * (1.0f / 6.0f) + m[5];
}

static void wino_bfdy(size_t lanes, size_t count, const float *dy, ptrdiff_t plane, ptrdiff_t ld,
                      const int32_t *off, float *out, ptrdiff_t oxi) {
    for (size_t c = 0; c < count; c++)
        for (size_t i = 0; i < lanes; i++) {
            const float *e = dy + (ptrdiff_t)c * plane + off[i];
            float t[4][6], col[4], res[6];
            for (int a = 0; a < 4; a++) dy4(e + a * ld, t[a]);   /* rows */
            for (int nu = 0; nu < 6; nu++) {                      /* then columns */
                for (int a = 0; a < 4; a++) col[a] = t[a][nu];
                dy4(col, res);
                for (int mu = 0; mu < 6; mu++)
                    out[(6 * mu + nu) * oxi + (ptrdiff_t)(c * lanes + i)] = res[mu];
            }
        }
}

void nb_f32_winobfdy_ukernel_16__scalar(size_t count, const float *dy, ptrdiff_t plane,
                                        ptrdiff_t ld, const int32_t *off, float *out,
                                        ptrdiff_t oxi) {
    wino_bfdy(16, count, dy, plane, ld, off, out, oxi);
}
void nb_f32_winobfdy_ukernel_12__scalar(size_t count, const float *dy, ptrdiff_t plane,
                                        ptrdiff_t ld, const int32_t *off, float *out,
                                        ptrdiff_t oxi) {
    wino_bfdy(12, count, dy, plane, ld, off, out, oxi);
}

int nb_f32_winobfout_ukernel__scalar(size_t n, const float *m, ptrdiff_t mxi, float *dw) {
    float bad = 0.0f;   /* stays 0 while every output is finite (x * 0 is NaN for NaN, Inf) */
    for (size_t j = 0; j < n; j++) {
        float t[6][3], row[6], col[6], res[3];
        for (int mu = 0; mu < 6; mu++) {   /* rows */
            for (int nu = 0; nu < 6; nu++) row[nu] = m[(6 * mu + nu) * mxi + (ptrdiff_t)j];
            out3(row, t[mu]);
        }
        for (int s = 0; s < 3; s++) {      /* then columns */
            for (int mu = 0; mu < 6; mu++) col[mu] = t[mu][s];
            out3(col, res);
            for (int r = 0; r < 3; r++) {
                dw[9 * j + 3 * r + s] = res[r];
                bad += res[r] * 0.0f;
            }
        }
    }
    return bad != 0.0f;
}
