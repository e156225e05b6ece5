/* AVX-512 MaxPool2d(2) over whole planes (src/ukernel_pool.h): 16 flat
 * outputs a vector, across rows and planes, where the row kernels pay a
 * call per row (4 outputs a row after an 8x8 input, 2 after a 4x4).
 *
 * Layout: with H = 2P, W = 2Q, output o's window starts at input
 * 4o - 2(o mod Q) (plane * 4PQ + 2W p + 2q). When Q divides 16 and a
 * group of 16 outputs starts at a multiple of 16, that offset is
 * 4 o0 + lane_off[l] with lane_off[l] = 4l - 2(l mod Q): the group's 64
 * input floats are four vectors, and each tap vector is two two-source
 * permutes and a blend (no gather). The argmax (a plane index) is
 * plane_off[l] + tap + 4 (o0 mod PQ), where plane_off is the same pattern
 * on the output's index within its plane: the same for every group when
 * P*Q divides 16 (whole planes a group) or 16 divides P*Q (a group inside
 * one plane). Other shapes: the plain-C twin. Same
 * bits as the rows (selection only; the rows' update order). */
#include <immintrin.h>

#include "ukernel.h"

/* The vector path's shapes (see above); o0 % 16 == 0 is the caller's part.
   Exported as the config's maxpool2_fits: other shapes (28x28 -> 14x14,
   Q = 14) run the rows, not the plain-C twin. */
int nb_f32_maxpool2_planes_fits__avx512(int64_t P, int64_t Q) {
    const int64_t PQ = P * Q;
    return Q >= 1 && Q <= 16 && 16 % Q == 0 && PQ > 0 && (16 % PQ == 0 || PQ % 16 == 0) && PQ < (1 << 24);
}

/* lane_off (input) and plane_off (argmax base) of the 16 lanes, int32 */
static void lane_patterns(int64_t P, int64_t Q, __m512i *lane_off, __m512i *plane_off) {
    const int64_t PQ = P * Q;
    int32_t lo[16], po[16];
    for (int l = 0; l < 16; l++) {
        const int64_t L = PQ < 16 ? l % PQ : l;
        lo[l] = (int32_t)(4 * l - 2 * (l % Q));
        po[l] = (int32_t)(4 * L - 2 * (L % Q));
    }
    *lane_off = _mm512_loadu_si512(lo);
    *plane_off = _mm512_loadu_si512(po);
}

/* The float mask of floats [16k, 16k + 16) of a span of `left` floats. */
static inline __mmask16 span_mask(int64_t left, int k) {
    left -= 16 * k;
    return left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1u);
}

/* One tap vector: lane l gets the group's input float idx[l] (< 64) of the
   four vectors a0..a3. */
static inline __m512 pick64(__m512 a0, __m512 a1, __m512 a2, __m512 a3, __m512i idx, __mmask16 hi) {
    return _mm512_mask_blend_ps(hi, _mm512_permutex2var_ps(a0, idx, a1), _mm512_permutex2var_ps(a2, idx, a3));
}

void nb_f32_maxpool2_planes_ukernel__avx512(int64_t P, int64_t Q, const float *x, int64_t o0, int64_t o1, float *y,
                                            int64_t *arg) {
    if (!nb_f32_maxpool2_planes_fits__avx512(P, Q) || o0 % 16) {
        nb_f32_maxpool2_planes_ukernel__scalar(P, Q, x, o0, o1, y, arg);
        return;
    }
    const int64_t PQ = P * Q;
    const int W = (int)(2 * Q);
    __m512i lane_off, plane_off;
    lane_patterns(P, Q, &lane_off, &plane_off);
    /* the four taps in the rule's order (0,0) (0,1) (1,0) (1,1): offsets t */
    const int t[4] = {0, 1, W, W + 1};
    __m512i idx[4];
    __mmask16 hi[4];
    for (int k = 0; k < 4; k++) {
        idx[k] = _mm512_add_epi32(lane_off, _mm512_set1_epi32(t[k]));
        hi[k] = _mm512_cmpge_epi32_mask(idx[k], _mm512_set1_epi32(32));
    }
    for (int64_t o = o0; o < o1; o += 16) {
        const int n = o1 - o < 16 ? (int)(o1 - o) : 16;
        const __mmask16 m = (__mmask16)((1u << n) - 1u);
        /* the whole row pairs of the n outputs (a call may end inside a row) */
        const int64_t span = 4 * Q * ((n + Q - 1) / Q);
        const float *xb = x + 4 * o;
        const __m512 a0 = _mm512_maskz_loadu_ps(span_mask(span, 0), xb), a1 = _mm512_maskz_loadu_ps(span_mask(span, 1), xb + 16);
        const __m512 a2 = _mm512_maskz_loadu_ps(span_mask(span, 2), xb + 32), a3 = _mm512_maskz_loadu_ps(span_mask(span, 3), xb + 48);
        __m512 acc = pick64(a0, a1, a2, a3, idx[0], hi[0]);
        __m512i tap = _mm512_setzero_si512();
        for (int k = 1; k < 4; k++) {
            const __m512 v = pick64(a0, a1, a2, a3, idx[k], hi[k]);
            const __mmask16 upd = _mm512_cmp_ps_mask(v, acc, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
            acc = _mm512_mask_mov_ps(acc, upd, v);
            tap = _mm512_mask_mov_epi32(tap, upd, _mm512_set1_epi32(t[k]));
        }
        _mm512_mask_storeu_ps(y + o, m, acc);
        const __m512i at = _mm512_add_epi32(_mm512_add_epi32(plane_off, tap), _mm512_set1_epi32((int)(4 * (o % PQ))));
        _mm512_mask_storeu_epi64(arg + o, (__mmask8)m, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(at)));
        if (n > 8)
            _mm512_mask_storeu_epi64(arg + o + 8, (__mmask8)(m >> 8), _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(at, 1)));
    }
}

/* Backward: the group's 64 input floats are four vectors; input float s
   (of the group) is tap tapoff[s] of the window of output lane outl[s]:
   outl = (s / 2W) Q + (s mod W) / 2, tapoff = W ((s / W) mod 2) + s mod 2.
   dx[s] = dy[lane] where the lane's argmax offset from its window's corner
   equals tapoff, else +0.0f. */
void nb_f32_maxpool2_planes_bwd_ukernel__avx512(int64_t P, int64_t Q, const float *dy, const int64_t *arg,
                                                int64_t o0, int64_t o1, float *dx) {
    const int64_t PQ = P * Q, W = 2 * Q;
    if (!nb_f32_maxpool2_planes_fits__avx512(P, Q) || o0 % 16) {
        nb_f32_maxpool2_planes_bwd_ukernel__scalar(P, Q, dy, arg, o0, o1, dx);
        return;
    }
    __m512i lane_off, plane_off, outl[4], tapoff[4];
    lane_patterns(P, Q, &lane_off, &plane_off);
    for (int k = 0; k < 4; k++) {
        int32_t ol[16], to[16];
        for (int j = 0; j < 16; j++) {
            const int64_t s = 16 * k + j;
            ol[j] = (int32_t)((s / (2 * W)) * Q + (s % W) / 2);
            to[j] = (int32_t)(W * ((s / W) % 2) + s % 2);
        }
        outl[k] = _mm512_loadu_si512(ol);
        tapoff[k] = _mm512_loadu_si512(to);
    }
    for (int64_t o = o0; o < o1; o += 16) {
        const int n = o1 - o < 16 ? (int)(o1 - o) : 16;
        const __mmask16 m = (__mmask16)((1u << n) - 1u);
        const __m512 g = _mm512_add_ps(_mm512_setzero_ps(), _mm512_maskz_loadu_ps(m, dy + o));
        const __m256i a_lo = _mm512_cvtepi64_epi32(_mm512_maskz_loadu_epi64((__mmask8)m, arg + o));
        const __m256i a_hi = _mm512_cvtepi64_epi32(_mm512_maskz_loadu_epi64((__mmask8)(m >> 8), arg + o + 8));
        /* the argmax's offset from its window's corner: 0, 1, W or W + 1 */
        const __m512i d = _mm512_sub_epi32(_mm512_inserti64x4(_mm512_castsi256_si512(a_lo), a_hi, 1),
                                           _mm512_add_epi32(plane_off, _mm512_set1_epi32((int)(4 * (o % PQ)))));
        float *xb = dx + 4 * o;
        for (int k = 0; k < 4; k++) {
            /* only the taps of outputs o .. o + n - 1 (a call may end inside a row) */
            const __mmask16 mine = _mm512_cmplt_epi32_mask(outl[k], _mm512_set1_epi32(n));
            const __mmask16 eq = _mm512_cmpeq_epi32_mask(_mm512_permutexvar_epi32(outl[k], d), tapoff[k]);
            _mm512_mask_storeu_ps(xb + 16 * k, mine, _mm512_maskz_mov_ps(eq, _mm512_permutexvar_ps(outl[k], g)));
        }
    }
}
