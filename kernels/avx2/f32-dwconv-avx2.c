/* Depthwise convolution micro-kernels, AVX2+FMA (contract and numerics:
 * src/ukernel_dwconv.h): forward (also backward-data at stride 1) and
 * backward-filter, one channel plane of NCHW.
 *
 * NCHW: the lanes run along W of the output row (8 output columns), so each
 * tap is one unaligned load of an input row and one FMA with the tap's
 * weight broadcast; the 8 lanes never mix, and every pixel is the scalar
 * chain of the contract (same bits as the plain-C twin).
 * Borders: at stride 1 the row runs in 8-column blocks from q = 0, and a
 * block that reaches the padding loads each tap under a mask (lanes in the
 * padding read 0, as the contract's chain does; masked-off lanes neither
 * read nor fault, so a plane against a guard page is safe): measured, the
 * scalar border pixels cost as much as the whole vector interior of a
 * 56-wide row. At stride 2 the deinterleaving loads do not mask cheaply,
 * and the one border column each side takes the scalar chain (same bits).
 * Backward-filter reduces over the whole row, so its border blocks are
 * masked vectors too (x masked to 0 where the tap is in the padding, both
 * x and dy masked past Q), which keeps
 * the contract's per-lane chains. Rows in the padding read the zero row.
 * 3x3 filters at unit column stride take the kernels of dwconv3x3-avx2.h
 * (backward-filter in half-lane passes) and dwconv3x3-fwd-avx2.h (the
 * forward at stride 1 in bands of 3 rows).
 */
#include <immintrin.h>

#include "dwconv3x3-avx2.h"
#include "dwconv3x3-fwd-avx2.h"
#include "mask-avx2.h"
#include "ukernel.h"

/* ---- forward ---- */

/* Lanes l of block q0 + 8 half (8 columns) whose x element is inside the row for a tap at
   column offset off, and whose q0 + l < Q. */
static inline __m256i bwf_mask(const nb_dw_plane *g, int64_t q0, int64_t off, int half) {
    const __m256i l = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                       _mm256_set1_epi32(8 * half + (int)q0));
    const __m256i iw = _mm256_add_epi32(_mm256_mullo_epi32(l, _mm256_set1_epi32((int)g->stride_w)),
                                        _mm256_set1_epi32((int)off));
    const __m256i in = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), iw),
                                           _mm256_cmpgt_epi32(_mm256_set1_epi32((int)g->w), iw));
    return _mm256_and_si256(in, _mm256_cmpgt_epi32(_mm256_set1_epi32((int)g->q), l));
}


/* Lane offsets of a strided row: lane i reads element i stride. */
static inline __m256i lane_idx(int64_t stride) {
    return _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                              _mm256_set1_epi32((int)stride));
}

/* 8 (or, masked, fewer) lanes at xs[i stride]. */
static inline __m256 load_lanes(const float *xs, int64_t sw, __m256i idx, __m256i mask, int full) {
    if (sw == 1) return full ? _mm256_loadu_ps(xs) : _mm256_maskload_ps(xs, mask);
    if (full) return _mm256_i32gather_ps(xs, idx, 4);
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), xs, idx, _mm256_castsi256_ps(mask), 4);
}

/* Any R, S, stride, dilation: output columns [q0, q0 + n) of row p (all
   inside), 8 a vector and up to 4 vectors (4 independent FMA chains) at
   a time; weights broadcast per tap. */
static void fwd_interior(const nb_dw_plane *g, const float *x, const float *zero, const float *w,
                         float bias, int accumulate, int64_t p, int64_t q0, int64_t n, float *yr) {
    const int64_t sw = g->stride_w, R = g->r, S = g->s;
    const __m256i idx = lane_idx(sw);
    int64_t i = 0;
    while (i < n) {
        const int64_t left = n - i;
        const int nv = left >= 32 ? 4 : left >= 8 ? 1 : 0;   /* full vectors; 0: masked tail */
        const __m256i mask = nb_avx2_lane_mask(left < 8 ? left : 8);
        __m256 acc[4];
        for (int v = 0; v < (nv ? nv : 1); v++)
            acc[v] = !accumulate ? _mm256_set1_ps(bias)
                     : nv       ? _mm256_loadu_ps(yr + i + 8 * v)
                                : _mm256_maskload_ps(yr + i, mask);
        for (int64_t r = 0; r < R; r++) {
            const float *row = nb_dw_row(g, x, zero, p * g->stride_h - g->pad_h + r * g->dil_h);
            const float *base = row + (q0 + i) * sw - g->pad_w;
            for (int64_t s = 0; s < S; s++) {
                const __m256 wv = _mm256_broadcast_ss(w + r * S + s);
                const float *xs = base + s * g->dil_w;
                for (int v = 0; v < (nv ? nv : 1); v++)
                    acc[v] = _mm256_fmadd_ps(load_lanes(xs + 8 * v * sw, sw, idx, mask, nv != 0), wv,
                                             acc[v]);
            }
        }
        if (!nv) {
            nb_avx2_maskstore_first(yr + i, mask, acc[0]);
            break;
        }
        for (int v = 0; v < nv; v++) _mm256_storeu_ps(yr + i + 8 * v, acc[v]);
        i += 8 * nv;
    }
}

/* Even and odd elements of the 16 floats at a (a[0..15]). */
static inline __m256 evens(const float *a) {
    const __m256 lo = _mm256_loadu_ps(a), hi = _mm256_loadu_ps(a + 8);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0))), 0xD8));
}
static inline __m256 odds(const float *a) {
    const __m256 lo = _mm256_loadu_ps(a), hi = _mm256_loadu_ps(a + 8);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1))), 0xD8));
}
/* a[2], a[4], ..., a[16] without reading a[17] (the row may end there):
   a[2..9] and a[9..16], keeping elements 0, 2 of the first and 1, 3 of the
   second in each 128-bit half. */
static inline __m256 evens_from2(const float *a) {
    const __m256 lo = _mm256_loadu_ps(a + 2), hi = _mm256_loadu_ps(a + 9);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 2, 0))), 0xD8));
}

/* 3x3, dil_w 1, stride_w 2 (any stride_h, dil_h; stride 1 goes through
   fwd_row_s1): the 9 weights stay in registers; register plan: 9 weights +
   2 accumulators (16 output columns) + loads. Loads 16 floats per row and
   keeps the even (s = 0, 2) or odd (s = 1) ones. The tail is scalar (the
   deinterleave would need a mask per load). */
static void fwd_3x3_row(const nb_dw_plane *g, const float *x, const float *zero, const float *w,
                        const __m256 *wv, float bias, int accumulate, int64_t p, float *yr) {
    const int64_t q0 = g->q_lo, n = g->q_hi - g->q_lo;
    const float *rows[3];
    for (int r = 0; r < 3; r++)
        rows[r] = nb_dw_row(g, x, zero, p * g->stride_h - g->pad_h + r * g->dil_h) + 2 * q0 - g->pad_w;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a0 = accumulate ? _mm256_loadu_ps(yr + q0 + i) : _mm256_set1_ps(bias);
        __m256 a1 = accumulate ? _mm256_loadu_ps(yr + q0 + i + 8) : _mm256_set1_ps(bias);
        for (int r = 0; r < 3; r++) {
            const float *b = rows[r] + 2 * i;
            a0 = _mm256_fmadd_ps(evens(b), wv[3 * r], a0);
            a1 = _mm256_fmadd_ps(evens(b + 16), wv[3 * r], a1);
            a0 = _mm256_fmadd_ps(odds(b), wv[3 * r + 1], a0);
            a1 = _mm256_fmadd_ps(odds(b + 16), wv[3 * r + 1], a1);
            a0 = _mm256_fmadd_ps(evens_from2(b), wv[3 * r + 2], a0);
            a1 = _mm256_fmadd_ps(evens_from2(b + 16), wv[3 * r + 2], a1);
        }
        _mm256_storeu_ps(yr + q0 + i, a0);
        _mm256_storeu_ps(yr + q0 + i + 8, a1);
    }
    nb_dw_fwd_cols(g, x, zero, w, bias, accumulate, p, q0 + i, q0 + n, yr - p * g->q);
}

/* Lanes [lo, hi) of an 8-lane block (lo, hi clipped to [0, 8]). */
static inline __m256i lane_range(int64_t lo, int64_t hi) {
    lo = lo < 0 ? 0 : lo > 8 ? 8 : lo;
    hi = hi < 0 ? 0 : hi > 8 ? 8 : hi;
    return _mm256_andnot_si256(nb_avx2_lane_mask(lo), nb_avx2_lane_mask(hi));
}

/* Stride 1: x[qb + l + off] for the 8 lanes l of block qb; a block not
   `full` (every lane inside) loads only lanes with 0 <= qb + l + off < W
   and qb + l < Q, the others 0 and not read. */
static inline __m256 tap_lanes(const nb_dw_plane *g, const float *row, int64_t qb, int64_t off,
                               int full) {
    if (full) return _mm256_loadu_ps(row + qb + off);
    const int64_t hi = g->w - qb - off < g->q - qb ? g->w - qb - off : g->q - qb;
    return _mm256_maskload_ps(row + qb + off, lane_range(-(qb + off), hi));
}

/* Stride 1, any R, S, dilation: the whole output row p in blocks of 8
   columns from q = 0, 4 blocks (4 independent FMA chains; 32 columns, a
   block past Q fully masked) per pass over the taps. A block that reaches
   the padding for some tap loads that tap's lanes under a mask (the others
   are 0, the contract's padding): a border costs one masked vector instead
   of scalar pixels. The lanes of tap offset off in block qb are those with
   0 <= qb + l + off < W and qb + l < Q. Inlined with R = S = 3 for the 3x3
   fast path (taps unrolled, the 4 accumulators in registers). */
static inline __attribute__((always_inline)) void
fwd_row_s1_body(const nb_dw_plane *g, const float *x, const float *zero, const float *w, float bias,
                int accumulate, int64_t p, float *yr, int64_t R, int64_t S) {
    const int64_t Q = g->q;
    for (int64_t q0 = 0; q0 < Q; q0 += 32) {
        __m256 acc[4];
        int full[4];
        for (int b = 0; b < 4; b++) {
            const int64_t qb = q0 + 8 * b;
            full[b] = qb >= g->q_lo && qb + 8 <= g->q_hi;
            acc[b] = accumulate ? _mm256_maskload_ps(yr + qb, lane_range(0, Q - qb)) : _mm256_set1_ps(bias);
        }
        for (int64_t r = 0; r < R; r++) {
            const float *row = nb_dw_row(g, x, zero, p * g->stride_h - g->pad_h + r * g->dil_h);
            for (int64_t s = 0; s < S; s++) {
                const int64_t off = s * g->dil_w - g->pad_w;
                const __m256 wv = _mm256_broadcast_ss(w + r * S + s);
                for (int b = 0; b < 4; b++) {
                    const int64_t qb = q0 + 8 * b;
                    const __m256 xv = tap_lanes(g, row, qb, off, full[b]);
                    acc[b] = _mm256_fmadd_ps(xv, wv, acc[b]);
                }
            }
        }
        for (int b = 0; b < 4; b++) {
            const int64_t qb = q0 + 8 * b;
            if (Q - qb >= 8) _mm256_storeu_ps(yr + qb, acc[b]);
            else nb_avx2_maskstore_first(yr + qb, lane_range(0, Q - qb), acc[b]);
        }
    }
}

/* 3x3, stride 1 and dilation 1 down the rows (any dil_w): output rows p
   and p + 1 together, so each of their 4 input rows is loaded once for
   both (row p - pad_h + i feeds tap row i of p and i - 1 of p + 1): 12
   loads per 18 FMAs a block instead of 18, and 8 independent chains (2
   rows x 4 blocks) to hide the FMA latency. Each row still takes its taps
   in (r, s) order, the contract's chain. Register plan: 8 accumulators +
   2 broadcast weights + the loads; the loops are unrolled by pragma and
   the edge blocks' masks built once per strip, not per load (measured on
   a 56x56 plane: 3.6 us with both left to the compiler, 2.1 us). */
static void fwd_rows2_3x3(const nb_dw_plane *g, const float *x, const float *zero, const float *w,
                          float bias, int accumulate, int64_t p, float *y) {
    const int64_t Q = g->q;
    float *yr[2] = {y + p * Q, y + (p + 1) * Q};
    for (int64_t q0 = 0; q0 < Q; q0 += 32) {
        __m256 acc[2][4];
        __m256i mk[4][3];   /* tap lanes of the blocks not full: the same for every row */
        int full[4];
#pragma GCC unroll 4
        for (int b = 0; b < 4; b++) {
            const int64_t qb = q0 + 8 * b;
            full[b] = qb >= g->q_lo && qb + 8 <= g->q_hi;
            for (int s = 0; s < 3 && !full[b]; s++) {
                const int64_t off = s * g->dil_w - g->pad_w;
                const int64_t hi = g->w - qb - off < Q - qb ? g->w - qb - off : Q - qb;
                mk[b][s] = lane_range(-(qb + off), hi);
            }
            for (int j = 0; j < 2; j++)
                acc[j][b] = accumulate ? _mm256_maskload_ps(yr[j] + qb, lane_range(0, Q - qb))
                                       : _mm256_set1_ps(bias);
        }
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
            const float *row = nb_dw_row(g, x, zero, p - g->pad_h + i);
#pragma GCC unroll 3
            for (int s = 0; s < 3; s++) {
                const int64_t off = s * g->dil_w - g->pad_w;
                const __m256 w0 = _mm256_broadcast_ss(w + (i < 3 ? i : 2) * 3 + s);
                const __m256 w1 = _mm256_broadcast_ss(w + (i > 0 ? i - 1 : 0) * 3 + s);
#pragma GCC unroll 4
                for (int b = 0; b < 4; b++) {
                    const int64_t qb = q0 + 8 * b;
                    const __m256 xv = full[b] ? _mm256_loadu_ps(row + qb + off)
                                              : _mm256_maskload_ps(row + qb + off, mk[b][s]);
                    if (i < 3) acc[0][b] = _mm256_fmadd_ps(xv, w0, acc[0][b]);
                    if (i > 0) acc[1][b] = _mm256_fmadd_ps(xv, w1, acc[1][b]);
                }
            }
        }
#pragma GCC unroll 2
        for (int j = 0; j < 2; j++)
#pragma GCC unroll 4
            for (int b = 0; b < 4; b++) {
                const int64_t qb = q0 + 8 * b;
                if (Q - qb >= 8) _mm256_storeu_ps(yr[j] + qb, acc[j][b]);
                else nb_avx2_maskstore_first(yr[j] + qb, lane_range(0, Q - qb), acc[j][b]);
            }
    }
}

static void fwd_row_s1(const nb_dw_plane *g, const float *x, const float *zero, const float *w,
                       float bias, int accumulate, int64_t p, float *yr) {
    if (g->r == 3 && g->s == 3) fwd_row_s1_body(g, x, zero, w, bias, accumulate, p, yr, 3, 3);
    else fwd_row_s1_body(g, x, zero, w, bias, accumulate, p, yr, g->r, g->s);
}

void nb_f32_dwconv_fwd_ukernel__avx2(const nb_dw_plane *g, const float *x, const float *w,
                                     float bias, int accumulate, const float *zero, float *y) {
    if (g->r == 3 && g->s == 3 && g->stride_h == 1 && g->stride_w == 1 && g->dil_h == 1 &&
        g->dil_w == 1) {
        nb_dw3f_fwd(g, x, w, bias, accumulate, zero, y);   /* bands of 3 rows */
        return;
    }
    const int fast = g->r == 3 && g->s == 3 && g->dil_w == 1 && g->stride_w == 2;
    __m256 wv[9];
    for (int t = 0; fast && t < 9; t++) wv[t] = _mm256_broadcast_ss(w + t);
    const int pairs = g->r == 3 && g->s == 3 && g->stride_h == 1 && g->stride_w == 1 && g->dil_h == 1;
    for (int64_t p = 0; p < g->p; p++) {
        float *yr = y + p * g->q;
        if (pairs && p + 1 < g->p) {
            fwd_rows2_3x3(g, x, zero, w, bias, accumulate, p++, y);
            continue;
        }
        if (g->stride_w == 1) {
            fwd_row_s1(g, x, zero, w, bias, accumulate, p, yr);
            continue;
        }
        nb_dw_fwd_edges(g, x, zero, w, bias, accumulate, p, y);
        if (g->q_hi == g->q_lo) continue;
        if (fast) fwd_3x3_row(g, x, zero, w, wv, bias, accumulate, p, yr);
        else fwd_interior(g, x, zero, w, bias, accumulate, p, g->q_lo, g->q_hi - g->q_lo, yr + g->q_lo);
    }
}

/* ---- backward-filter ---- */

/* Taps per pass: 4 taps x 2 registers (16 virtual lanes) = 8 accumulators,
   + 2 dy + x loads. */
#define BWF_TAPS 4

/* One block of 16 output columns [q0, q0 + 16) of row p for taps [t0, t0 + nt):
   acc[2 j + h] += x lanes * dy lanes. full: every lane inside (no masks). */
static inline void bwf_block(const nb_dw_plane *g, const float *const *rows, const int64_t *off,
                             int nt, const float *dyr, int64_t q0, int full, __m256 *acc) {
    const int64_t sw = g->stride_w;
    const __m256i idx = lane_idx(sw);
    __m256 d[2];
    for (int h = 0; h < 2; h++)
        d[h] = full ? _mm256_loadu_ps(dyr + q0 + 8 * h)
                    : _mm256_maskload_ps(dyr + q0 + 8 * h, nb_avx2_lane_mask(g->q - q0 - 8 * h));
    for (int j = 0; j < nt; j++)
        for (int h = 0; h < 2; h++) {
            const float *xs = rows[j] + (q0 + 8 * h) * sw + off[j];
            __m256 xv;
            if (full) xv = load_lanes(xs, sw, idx, idx, 1);
            else {
                /* masked lanes are not read: the pointer may lie outside the row */
                const __m256i m = bwf_mask(g, q0, off[j], h);
                xv = sw == 1 ? _mm256_maskload_ps(xs, m)
                             : _mm256_mask_i32gather_ps(_mm256_setzero_ps(), xs, idx,
                                                        _mm256_castsi256_ps(m), 4);
            }
            acc[2 * j + h] = _mm256_fmadd_ps(xv, d[h], acc[2 * j + h]);
        }
}

void nb_f32_dwconv_bwf_ukernel__avx2(const nb_dw_plane *g, const float *x, const float *dy,
                                     const float *zero, int accumulate, float *dw) {
    if (g->r == 3 && g->s == 3 && g->stride_w == 1) {
        nb_dw3a_bwf(g, x, dy, zero, accumulate, dw);   /* two half-lane passes */
        return;
    }
    const int64_t RS = g->r * g->s, Q = g->q;
    for (int64_t t0 = 0; t0 < RS; t0 += BWF_TAPS) {
        const int nt = RS - t0 < BWF_TAPS ? (int)(RS - t0) : BWF_TAPS;
        __m256 acc[2 * BWF_TAPS];
        for (int j = 0; j < 2 * BWF_TAPS; j++) acc[j] = _mm256_setzero_ps();
        int64_t off[BWF_TAPS];
        nb_dw_tap_offsets(g, t0, nt, off);
        for (int64_t p = 0; p < g->p; p++) {
            const float *rows[BWF_TAPS];
            nb_dw_tap_rows(g, x, zero, t0, nt, p, rows);
            const float *dyr = dy + p * Q;
            for (int64_t q0 = 0; q0 < Q; q0 += NB_DW_LANES) {
                const int full = q0 >= g->q_lo && q0 + NB_DW_LANES <= g->q_hi;
                if (full && nt == BWF_TAPS) bwf_block(g, rows, off, BWF_TAPS, dyr, q0, 1, acc);
                else bwf_block(g, rows, off, nt, dyr, q0, full, acc);
            }
        }
        for (int j = 0; j < nt; j++) {
            float lanes[NB_DW_LANES];
            _mm256_storeu_ps(lanes, acc[2 * j]);
            _mm256_storeu_ps(lanes + 8, acc[2 * j + 1]);
            nb_dw_bwf_store(lanes, accumulate, dw + t0 + j);
        }
    }
}
