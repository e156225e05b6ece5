/* Depthwise convolution micro-kernels, AVX-512 (contract and numerics:
 * src/ukernel_dwconv.h): forward (also backward-data at stride 1) and
 * backward-filter, one channel plane of NCHW. Same per-pixel FMA chains,
 * same 16 filter-sum lanes as the AVX2 and plain-C kernels: the same bits.
 *
 * NCHW: the 16 lanes run along W of the output row, so each tap is one
 * unaligned load of an input row and one FMA with the tap's weight
 * broadcast. Borders: at stride 1 the row runs in 16-column blocks from
 * q = 0 and a block that reaches the padding loads each tap under a mask
 * (lanes in the padding read 0, as the contract's chain does; masked-off
 * lanes neither read nor fault, so a plane against a guard page is safe):
 * measured, the scalar border pixels cost as much as the whole vector
 * interior of a 56-wide row. At stride 2 the deinterleaving loads do not
 * mask cheaply, and the one border column each side takes the scalar
 * chain. Backward-filter's border and tail blocks are masked vectors (x
 * masked to 0 in the padding, x and dy past Q), which keeps the
 * contract's lanes. Rows in the padding read the zero row.
 */
#include <immintrin.h>

#include "dwconv3x3-avx512.h"
#include "dwconv3x3-fwd-avx512.h"
#include "rowsum-f64-avx512.h"
#include "ukernel.h"

/* 3x3, stride 1, dilation 1: the rolling-window kernels of dwconv3x3-avx512.h. */
static int is_3x3_s1(const nb_dw_plane *g) {
    return g->r == 3 && g->s == 3 && g->stride_h == 1 && g->stride_w == 1 && g->dil_h == 1 &&
           g->dil_w == 1;
}

static inline __m512i lane_idx(int64_t stride) {
    return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                              _mm512_set1_epi32((int)stride));
}

static inline __mmask16 tail_mask(int64_t n) {
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

/* Lanes at xs[i stride], those of mask only (the others 0, not read). */
static inline __m512 load_lanes(const float *xs, int64_t sw, __m512i idx, __mmask16 mask) {
    if (sw == 1) return _mm512_maskz_loadu_ps(mask, xs);
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, idx, xs, 4);
}

/* ---- forward ---- */

/* Lanes of block q0 (16 columns) whose x element is inside the row for a tap at column
   offset off, and whose q0 + l < Q. */
static inline __mmask16 bwf_mask(const nb_dw_plane *g, int64_t q0, int64_t off) {
    const __m512i l = _mm512_add_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32((int)q0));
    const __m512i iw = _mm512_add_epi32(_mm512_mullo_epi32(l, _mm512_set1_epi32((int)g->stride_w)),
                                        _mm512_set1_epi32((int)off));
    return _mm512_cmpge_epi32_mask(iw, _mm512_setzero_si512()) &
           _mm512_cmplt_epi32_mask(iw, _mm512_set1_epi32((int)g->w)) &
           _mm512_cmplt_epi32_mask(l, _mm512_set1_epi32((int)g->q));
}


/* Any R, S, stride, dilation: columns [q0, q0 + n) of row p (all inside),
   up to 4 vectors (64 columns, 4 independent chains) at a time. */
static void fwd_interior(const nb_dw_plane *g, const float *x, const float *zero, const float *w,
                         float bias, int accumulate, int64_t p, int64_t q0, int64_t n, float *yr) {
    const int64_t sw = g->stride_w, R = g->r, S = g->s;
    const __m512i idx = lane_idx(sw);
    for (int64_t i = 0; i < n;) {
        const int64_t left = n - i;
        const int nv = left >= 64 ? 4 : 1;
        const __mmask16 m = nv == 4 ? (__mmask16)0xFFFF : tail_mask(left);
        __m512 acc[4];
        for (int v = 0; v < nv; v++)
            acc[v] = accumulate ? _mm512_maskz_loadu_ps(m, yr + i + 16 * v) : _mm512_set1_ps(bias);
        for (int64_t r = 0; r < R; r++) {
            const float *row = nb_dw_row(g, x, zero, p * g->stride_h - g->pad_h + r * g->dil_h);
            const float *base = row + (q0 + i) * sw - g->pad_w;
            for (int64_t s = 0; s < S; s++) {
                const __m512 wv = _mm512_set1_ps(w[r * S + s]);
                for (int v = 0; v < nv; v++)
                    acc[v] = _mm512_fmadd_ps(load_lanes(base + s * g->dil_w + 16 * v * sw, sw, idx, m),
                                             wv, acc[v]);
            }
        }
        for (int v = 0; v < nv; v++) _mm512_mask_storeu_ps(yr + i + 16 * v, m, acc[v]);
        i += nv == 4 ? 64 : 16;
    }
}

/* Stride 2: a[0], a[2], ..., a[30] (s = 0), a[1], ..., a[31] (s = 1) and
   a[2], ..., a[32] (s = 2, from a[2..17] and a[17..32]: never a[33], which
   may lie past the row). */
static inline __m512 pick(const float *a0, const float *a1, __m512i sel) {
    return _mm512_permutex2var_ps(_mm512_loadu_ps(a0), sel, _mm512_loadu_ps(a1));
}

/* 3x3, dil_w 1, stride_w 2 (stride 1 goes through fwd_row_s1): the 9
   weights in registers, 2 vectors (32 columns) per step; the rest of the
   interior through fwd_interior. */
static void fwd_3x3_row(const nb_dw_plane *g, const float *x, const float *zero, const float *w,
                        const __m512 *wv, float bias, int accumulate, int64_t p, float *yr) {
    const int64_t q0 = g->q_lo, n = g->q_hi - g->q_lo;
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512i e2 = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 17, 19, 21, 23, 25, 27, 29, 31);
    const float *rows[3];
    for (int r = 0; r < 3; r++)
        rows[r] = nb_dw_row(g, x, zero, p * g->stride_h - g->pad_h + r * g->dil_h) + 2 * q0 - g->pad_w;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 a0 = accumulate ? _mm512_loadu_ps(yr + q0 + i) : _mm512_set1_ps(bias);
        __m512 a1 = accumulate ? _mm512_loadu_ps(yr + q0 + i + 16) : _mm512_set1_ps(bias);
        for (int r = 0; r < 3; r++) {
            const float *b = rows[r] + 2 * i;
            a0 = _mm512_fmadd_ps(pick(b, b + 16, ev), wv[3 * r], a0);
            a1 = _mm512_fmadd_ps(pick(b + 32, b + 48, ev), wv[3 * r], a1);
            a0 = _mm512_fmadd_ps(pick(b, b + 16, od), wv[3 * r + 1], a0);
            a1 = _mm512_fmadd_ps(pick(b + 32, b + 48, od), wv[3 * r + 1], a1);
            a0 = _mm512_fmadd_ps(pick(b + 2, b + 17, e2), wv[3 * r + 2], a0);
            a1 = _mm512_fmadd_ps(pick(b + 34, b + 49, e2), wv[3 * r + 2], a1);
        }
        _mm512_storeu_ps(yr + q0 + i, a0);
        _mm512_storeu_ps(yr + q0 + i + 16, a1);
    }
    if (i < n) fwd_interior(g, x, zero, w, bias, accumulate, p, q0 + i, n - i, yr + q0 + i);
}

/* Lanes [lo, hi) of a 16-lane block, clipped to [0, 16]. */
static inline __mmask16 lane_range(int64_t lo, int64_t hi) {
    lo = lo < 0 ? 0 : lo;
    hi = hi > 16 ? 16 : hi;
    return hi <= lo ? (__mmask16)0 : (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/* The lane masks of every 16-column block b (from q = 0, rounded up to a
   multiple of 4 blocks) and tap column s, mt[b S + s]: lanes l with
   0 <= (16 b + l) stride_w + off_s < W and 16 b + l < Q (a contiguous run:
   iw grows with l). A block that reaches the padding loads each tap under
   its mask (the other lanes are 0, the contract's padding), so a border
   costs one masked vector instead of scalar pixels; blocks past Q are fully
   masked. The same for every row: built once per plane. At most MT_MAX
   entries (else 0: the caller takes a path without the table). */
#define MT_MAX 2048
static int64_t lane_masks(const nb_dw_plane *g, __mmask16 *mt) {
    const int64_t nblk = (g->q + 63) / 64 * 4, S = g->s, sw = g->stride_w;
    if (nblk * S > MT_MAX) return 0;
    for (int64_t b = 0; b < nblk; b++)
        for (int64_t s = 0; s < S; s++) {
            const int64_t off = s * g->dil_w - g->pad_w;
            unsigned m = 0;
            for (int64_t l = 0; l < 16; l++) {
                const int64_t q = 16 * b + l, iw = q * sw + off;
                if (q < g->q && iw >= 0 && iw < g->w) m |= 1u << l;
            }
            mt[b * S + s] = (__mmask16)m;
        }
    return nblk;
}

/* Rows p .. p + NR - 1 (NR = 1 or 2) at stride 1 over the mask table:
   4 blocks a row (64 columns) per pass over the taps, so 4 NR independent
   FMA chains hide the FMA latency (a chain is R S FMAs long); every load
   is masked (a full mask costs nothing extra). Inlined with R = S = 3 for
   the 3x3 fast path (taps unrolled, the accumulators in registers). */
static inline __attribute__((always_inline)) void
fwd_rows_s1_body(const nb_dw_plane *g, const float *x, const float *zero, const float *w, float bias,
                 int accumulate, int64_t p, const __mmask16 *mt, float *y, int64_t R, int64_t S,
                 const int NR) {
    const int64_t Q = g->q;
    for (int64_t q0 = 0; q0 < Q; q0 += 64) {
        const __mmask16 *mb = mt + (q0 / 16) * S;
        __m512 acc[2][4];
        for (int j = 0; j < NR; j++)
            for (int b = 0; b < 4; b++)
                acc[j][b] = accumulate ? _mm512_maskz_loadu_ps(lane_range(0, Q - q0 - 16 * b),
                                                               y + (p + j) * Q + q0 + 16 * b)
                                       : _mm512_set1_ps(bias);
        for (int64_t r = 0; r < R; r++) {
            const float *row[2];
            for (int j = 0; j < NR; j++)
                row[j] = nb_dw_row(g, x, zero, (p + j) * g->stride_h - g->pad_h + r * g->dil_h) + q0 -
                         g->pad_w;
            for (int64_t s = 0; s < S; s++) {
                const __m512 wv = _mm512_set1_ps(w[r * S + s]);
                for (int j = 0; j < NR; j++)
                    for (int b = 0; b < 4; b++)
                        acc[j][b] = _mm512_fmadd_ps(
                            _mm512_maskz_loadu_ps(mb[b * S + s], row[j] + s * g->dil_w + 16 * b), wv,
                            acc[j][b]);
            }
        }
        for (int j = 0; j < NR; j++)
            for (int b = 0; b < 4; b++)
                _mm512_mask_storeu_ps(y + (p + j) * Q + q0 + 16 * b, lane_range(0, Q - q0 - 16 * b),
                                      acc[j][b]);
    }
}

/* All rows at stride 1: pairs, then the last odd row. */
static void fwd_s1(const nb_dw_plane *g, const float *x, const float *zero, const float *w,
                   float bias, int accumulate, const __mmask16 *mt, float *y) {
    const int k3 = g->r == 3 && g->s == 3;
    int64_t p = 0;
    for (; p + 2 <= g->p; p += 2) {
        if (k3) fwd_rows_s1_body(g, x, zero, w, bias, accumulate, p, mt, y, 3, 3, 2);
        else fwd_rows_s1_body(g, x, zero, w, bias, accumulate, p, mt, y, g->r, g->s, 2);
    }
    if (p < g->p) fwd_rows_s1_body(g, x, zero, w, bias, accumulate, p, mt, y, g->r, g->s, 1);
}

void nb_f32_dwconv_fwd_ukernel__avx512(const nb_dw_plane *g, const float *x, const float *w,
                                       float bias, int accumulate, const float *zero, float *y) {
    if (is_3x3_s1(g)) {
        /* A plane whose x and y fit in L1 together keeps the rolling window
           (its later strips read the plane from L1, and alone in L1 it is
           the faster kernel: 56x56 0.48 against 0.76 us a plane); a larger
           one goes in row bands, one sequential stream (session 11, 1
           thread, alternating runs: c32 112x112 forward 0.111 -> 0.103-0.106
           ms, backward-data 0.111-0.113 -> 0.101-0.104 ms; c144 56x56 in
           bands: no clear change, 0.128-0.135 against 0.133 ms). */
        if ((g->h * g->w + g->p * g->q) * (int64_t)sizeof(float) > 32768)
            nb_dw3b_fwd(g, x, w, bias, accumulate, zero, y);
        else
            nb_dw3_fwd(g, x, w, bias, accumulate, zero, y);
        return;
    }
    const int fast = g->r == 3 && g->s == 3 && g->dil_w == 1 && g->stride_w == 2;
    __m512 wv[9];
    for (int t = 0; fast && t < 9; t++) wv[t] = _mm512_set1_ps(w[t]);
    __mmask16 mt[MT_MAX];
    if (g->stride_w == 1 && lane_masks(g, mt)) {
        fwd_s1(g, x, zero, w, bias, accumulate, mt, y);
        return;
    }
    for (int64_t p = 0; p < g->p; p++) {
        float *yr = y + p * g->q;
        nb_dw_fwd_edges(g, x, zero, w, bias, accumulate, p, y);
        if (g->q_hi == g->q_lo) continue;
        if (fast) fwd_3x3_row(g, x, zero, w, wv, bias, accumulate, p, yr);
        else fwd_interior(g, x, zero, w, bias, accumulate, p, g->q_lo, g->q_hi - g->q_lo, yr + g->q_lo);
    }
}

/* ---- backward-filter ---- */

/* Taps per pass: 9 accumulators (a 3x3 filter in one pass) + dy + x. */
#define BWF_TAPS 9

/* Every pass runs BWF_TAPS taps (constant loops: the accumulators stay in
   registers); in the last pass the taps past R S repeat the last one and
   are not stored. Inlined for stride 1 (plain loads) and any other stride
   (gathers), so the stride test is not in the tap loop. */
static inline __attribute__((always_inline)) void
bwf_body(const nb_dw_plane *g, const float *x, const float *dy, const float *zero, int accumulate,
         float *dw, const __mmask16 *mt, int table, const int s1) {
    const int64_t RS = g->r * g->s, Q = g->q, sw = s1 ? 1 : g->stride_w, S = g->s;
    const __m512i idx = lane_idx(sw);
    for (int64_t t0 = 0; t0 < RS; t0 += BWF_TAPS) {
        __m512 acc[BWF_TAPS];
        int64_t off[BWF_TAPS], col[BWF_TAPS], dr[BWF_TAPS];
        for (int j = 0; j < BWF_TAPS; j++) {
            const int64_t t = t0 + j < RS ? t0 + j : RS - 1;
            acc[j] = _mm512_setzero_ps();
            col[j] = t % S;
            dr[j] = (t / S) * g->dil_h - g->pad_h;
            off[j] = col[j] * g->dil_w - g->pad_w;
        }
        for (int64_t p = 0; p < g->p; p++) {
            const float *rows[BWF_TAPS];
            for (int j = 0; j < BWF_TAPS; j++)
                rows[j] = nb_dw_row(g, x, zero, p * g->stride_h + dr[j]) + off[j];
            const float *dyr = dy + p * Q;
            for (int64_t q0 = 0; q0 < Q; q0 += NB_DW_LANES) {
                const __m512 d = _mm512_maskz_loadu_ps(tail_mask(Q - q0), dyr + q0);
                if (q0 >= g->q_lo && q0 + NB_DW_LANES <= g->q_hi) {   /* every lane inside */
                    for (int j = 0; j < BWF_TAPS; j++) {
                        const float *xs = rows[j] + q0 * sw;
                        acc[j] = _mm512_fmadd_ps(s1 ? _mm512_loadu_ps(xs) : _mm512_i32gather_ps(idx, xs, 4),
                                                 d, acc[j]);
                    }
                    continue;
                }
                const __mmask16 *mb = mt + (q0 / 16) * S;
                for (int j = 0; j < BWF_TAPS; j++) {
                    const __mmask16 m = table ? mb[col[j]] : bwf_mask(g, q0, off[j]);
                    const float *xs = rows[j] + q0 * sw;
                    acc[j] = _mm512_fmadd_ps(
                        s1 ? _mm512_maskz_loadu_ps(m, xs)
                           : _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, xs, 4),
                        d, acc[j]);
                }
            }
        }
        for (int j = 0; j < BWF_TAPS && t0 + j < RS; j++) {
            float lanes[NB_DW_LANES];
            _mm512_storeu_ps(lanes, acc[j]);
            nb_dw_bwf_store(lanes, accumulate, dw + t0 + j);
        }
    }
}

void nb_f32_dwconv_bwf_ukernel__avx512(const nb_dw_plane *g, const float *x, const float *dy,
                                       const float *zero, int accumulate, float *dw) {
    if (is_3x3_s1(g) && (g->q + 15) / 16 <= NB_DW3_MAX_BLOCKS) {
        nb_dw3_bwf(g, x, dy, zero, accumulate, dw);
        return;
    }
    __mmask16 mt[MT_MAX];
    const int table = lane_masks(g, mt) > 0;
    if (g->stride_w == 1) bwf_body(g, x, dy, zero, accumulate, dw, mt, table, 1);
    else bwf_body(g, x, dy, zero, accumulate, dw, mt, table, 0);
}

/* Backward-filter and the row sum of dy (cfg->conv.rowsum's bits): in the
   3x3 stride-1 kernel's own walk over dy, where the widening adds share
   the cycles of its FMAs; elsewhere a pass after it. */
double nb_f32_dwconv_bwf_sum_ukernel__avx512(const nb_dw_plane *g, const float *x, const float *dy,
                                             const float *zero, int accumulate, float *dw) {
    if (is_3x3_s1(g) && (g->q + 15) / 16 <= NB_DW3_MAX_BLOCKS)
        return nb_dw3_bwf_sum(g, x, dy, zero, accumulate, dw);
    nb_f32_dwconv_bwf_ukernel__avx512(g, x, dy, zero, accumulate, dw);
    return nb_rs64_sum(g->p * g->q, dy);
}
