/* NEON pooling rows (src/ukernel.h, "2-D pooling rows"): the AVX2 rows'
 * algorithm on 4 columns a vector. Tap loads: vld1q for stride 1, else
 * four lane loads (NEON has no gather; vld2q/vld3q would read past the
 * last lane's tap). The overhanging edge columns and the tail: the
 * contract's scalar helpers. Same bits as the __scalar twin.
 *
 * Register plan: the window loop (taps i, j) carries each output vector's
 * running max (FCMGT/FCMEQ, ORR, BSL: 6 cycles a tap) or sum (FADD: 2),
 * one dependency chain through the whole window. So the inner columns go
 * 16 at a time (NB = 4 vectors, 4 independent chains, 8 registers of acc
 * and tap for max), and the last 4..15 in one pass of 1..4 vectors:
 * llvm-mca (scripts/neon_mca.py) put the one-chain loop at 0.16-0.28 of the
 * V1/V2 peak. A remainder of exactly 4 columns after a pass of 16 joins it
 * (one pass of 20 columns, 5 chains: the lone 4-column pass took as long as
 * the 16 before it); only a row of exactly 4 inner columns still runs one
 * chain. Each output lane sees its taps in the same (i, j) order: same
 * bits. */
#include <arm_neon.h>

#include "ukernel.h"

static inline float32x4_t taps4(const float *row, int64_t c, int64_t sw) {
    if (sw == 1) return vld1q_f32(row + c);
    float32x4_t v = vld1q_dup_f32(row + c);
    v = vld1q_lane_f32(row + c + sw, v, 1);
    v = vld1q_lane_f32(row + c + 2 * sw, v, 2);
    return vld1q_lane_f32(row + c + 3 * sw, v, 3);
}

/* The inner columns [q, q1): passes of 16 (PASS(4, SW)), then the last
   4..15 in one pass of ceil/4 vectors, or the last 20 in one pass of 5
   (rather than 16 and a lone 4); q ends at q1 (or where fewer than 4 are
   left, for the scalar helper). Stride 1 (one vector load a tap) and the
   others (four lane loads) are separate instantiations, so the tap loop
   does not test the stride. */
#define NB_POOL_COLS_SW(PASS, SW)                                   \
    do {                                                            \
        for (; q + 16 <= q1 && q1 - q != 20; q += 16) PASS(4, SW);  \
        switch (q + 4 <= q1 ? (q1 - q + 3) / 4 : 0) {               \
        case 1: PASS(1, SW); break;                                 \
        case 2: PASS(2, SW); break;                                 \
        case 3: PASS(3, SW); break;                                 \
        case 4: PASS(4, SW); break;                                 \
        case 5: PASS(5, SW); break;                                 \
        default: break;                                             \
        }                                                           \
        if (q + 4 <= q1) q = q1;                                    \
    } while (0)
#define NB_POOL_INNER_COLS(PASS)                                    \
    do {                                                            \
        if (g->sw == 1) NB_POOL_COLS_SW(PASS, 1);                   \
        else NB_POOL_COLS_SW(PASS, g->sw);                          \
    } while (0)

/* Max rows over NB <= 5 vectors of 4 columns starting at q, q + 4, ..., each
   start clamped to q1 - 4: a remainder of 5..15 columns goes in one pass of
   ceil/4 vectors, the last overlapping its neighbour (those columns are
   computed twice, the same way, and stored twice with the same bits). */
static inline __attribute__((always_inline))
void max_cols(const nb_pool2d_geom *g, const float *x, int64_t h0, int64_t i0, int64_t i1, int64_t q,
              int64_t q1, const int NB, const int64_t sw, float *y, int64_t *arg) {
    int64_t qb[5], c[5];
    float32x4_t acc[5], tap[5];
    for (int b = 0; b < NB; b++) {
        qb[b] = q + 4 * b < q1 - 4 ? q + 4 * b : q1 - 4;
        c[b] = qb[b] * sw - g->pw;
        acc[b] = taps4(x + (h0 + i0) * g->W, c[b], sw);
        tap[b] = vdupq_n_f32((float)(i0 * g->W));
    }
    for (int64_t i = i0; i < i1; i++) {
        const float *row = x + (h0 + i) * g->W;
        for (int64_t j = i == i0 ? 1 : 0; j < g->kw; j++) {
            const float32x4_t at = vdupq_n_f32((float)(i * g->W + j));
            for (int b = 0; b < NB; b++) {
                const float32x4_t v = taps4(row, c[b] + j, sw);
                /* v > acc, or v NaN (v == v false) */
                const uint32x4_t upd = vorrq_u32(vcgtq_f32(v, acc[b]), vmvnq_u32(vceqq_f32(v, v)));
                acc[b] = vbslq_f32(upd, v, acc[b]);
                tap[b] = vbslq_f32(upd, at, tap[b]);
            }
        }
    }
    for (int b = 0; b < NB; b++) {
        vst1q_f32(y + qb[b], acc[b]);
        float t[4];
        vst1q_f32(t, tap[b]);
        for (int l = 0; l < 4; l++)   /* tap = i*W + j */
            arg[qb[b] + l] = h0 * g->W + c[b] + (int64_t)l * sw + (int64_t)t[l];
    }
}

void nb_f32_maxpool_ukernel__neon(const nb_pool2d_geom *g, const float *x, int64_t p, float *y, int64_t *arg) {
    int64_t q0, q1, i0, i1;
    nb_pool2d_inner_cols(g, &q0, &q1);
    nb_pool2d_inner_rows(g, p, &i0, &i1);
    if (i0 >= i1 || g->kh * g->W >= (1 << 24)) q0 = q1 = 0;
    const int64_t h0 = p * g->sh - g->ph;
    int64_t q = 0;
    for (; q < q0; q++) y[q] = nb_pool2d_max_one(g, x, p, q, &arg[q]);
#define NB_PASS(NB, SW) max_cols(g, x, h0, i0, i1, q, q1, NB, SW, y, arg)
    NB_POOL_INNER_COLS(NB_PASS);
#undef NB_PASS
    for (; q < g->Q; q++) y[q] = nb_pool2d_max_one(g, x, p, q, &arg[q]);
}

/* Average rows, the same column blocks as max_cols. */
static inline __attribute__((always_inline))
void avg_cols(const nb_pool2d_geom *g, const float *x, int64_t h0, int64_t i0, int64_t i1, int64_t q,
              int64_t q1, const int NB, const int64_t sw, float32x4_t den, float *y) {
    int64_t qb[5], c[5];
    float32x4_t acc[5];
    for (int b = 0; b < NB; b++) {
        qb[b] = q + 4 * b < q1 - 4 ? q + 4 * b : q1 - 4;
        c[b] = qb[b] * sw - g->pw;
        acc[b] = vdupq_n_f32(0.0f);
    }
    for (int64_t i = i0; i < i1; i++) {
        const float *row = x + (h0 + i) * g->W;
        for (int64_t j = 0; j < g->kw; j++)
            for (int b = 0; b < NB; b++) acc[b] = vaddq_f32(acc[b], taps4(row, c[b] + j, sw));
    }
    for (int b = 0; b < NB; b++) vst1q_f32(y + qb[b], vdivq_f32(acc[b], den));
}

void nb_f32_avgpool_ukernel__neon(const nb_pool2d_geom *g, const float *x, int64_t p, float *y) {
    int64_t q0, q1, i0, i1;
    nb_pool2d_inner_cols(g, &q0, &q1);
    nb_pool2d_inner_rows(g, p, &i0, &i1);
    const float32x4_t den = vdupq_n_f32((float)(g->kh * g->kw));
    const int64_t h0 = p * g->sh - g->ph;
    int64_t q = 0;
    for (; q < q0; q++) y[q] = nb_pool2d_avg_one(g, x, p, q);
#define NB_PASS(NB, SW) avg_cols(g, x, h0, i0, i1, q, q1, NB, SW, den, y)
    NB_POOL_INNER_COLS(NB_PASS);
#undef NB_PASS
    for (; q < g->Q; q++) y[q] = nb_pool2d_avg_one(g, x, p, q);
}
