/* AVX-512 im2col for small images (src/ukernel.h, nb_conv_im2col_ft).
 * Exact (a copy), padding +0.0f, as the AVX2 row walk.
 *
 * The row walk pays a few calls and branches per output row of every tap
 * row; on a 4x4 image (16 pixels, 3x3 taps, the small CNN's second
 * layer) that was ~2 us an image of 16 channels, most of its
 * backward-filter step. Here a channel of at most 64 floats (H W <= 64)
 * sits in four vectors a0..a3, and tap (r, s) of 16 output pixels is one
 * index vector into them: two two-source permutes (a0:a1, a2:a3), a blend
 * on index >= 32, zero where the tap reads padding, one masked store.
 * The index vectors and padding masks of every tap and 16-pixel chunk are
 * built once per call with vector arithmetic (R S <= 25 taps, nj <= 64
 * pixels: at most 100 of each), then reused for every channel.
 * Larger images, windows or pixel ranges: the AVX2 row walk. */
#include <immintrin.h>

#include "ukernel.h"

enum { SMALL_TAPS = 25, SMALL_CHUNKS = 4 };

typedef struct {
    __m512i idx[SMALL_TAPS][SMALL_CHUNKS];
    __mmask16 keep[SMALL_TAPS][SMALL_CHUNKS], hi[SMALL_TAPS][SMALL_CHUNKS];
} tap_plan;

/* The plan of pixels [j0, j0 + nj): for chunk ch, lane l is pixel
   j = j0 + 16 ch + l (p = j / Q, q = j % Q); tap (r, s) reads
   ih = p sh - ph + r dh, iw = q sw - pw + s dw, kept where inside. */
static void build_plan(const nb_conv2d_desc *d, int64_t Q, int64_t j0, int64_t nj, tap_plan *pl) {
    const int nch = (int)((nj + 15) / 16);
    const __m512i zero = _mm512_setzero_si512(), H = _mm512_set1_epi32((int)d->h), W = _mm512_set1_epi32((int)d->w);
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512 rq = _mm512_set1_ps(1.0f / (float)Q);
    for (int ch = 0; ch < nch; ch++) {
        /* p = j / Q as floor((j + 1/2) / Q) in float: j < 2^13 and Q <= 64,
           so the product is within 2^-10 of p + (q + 1/2) / Q, at least
           1/128 from an integer (no scalar loop: its stores stalled the
           vector reload) */
        const __m512i j = _mm512_add_epi32(iota, _mm512_set1_epi32((int)(j0 + 16 * ch)));
        const __m512i pv = _mm512_cvttps_epi32(_mm512_mul_ps(_mm512_add_ps(_mm512_cvtepi32_ps(j), _mm512_set1_ps(0.5f)), rq));
        const __m512i qv = _mm512_sub_epi32(j, _mm512_mullo_epi32(pv, _mm512_set1_epi32((int)Q)));
        const int left = nj - 16 * ch < 16 ? (int)(nj - 16 * ch) : 16;
        const __mmask16 live = (__mmask16)((1u << left) - 1u);
        const __m512i ph = _mm512_mullo_epi32(pv, _mm512_set1_epi32((int)d->stride_h));
        const __m512i qw = _mm512_mullo_epi32(qv, _mm512_set1_epi32((int)d->stride_w));
        for (int64_t r = 0; r < d->r; r++)
            for (int64_t s = 0; s < d->s; s++) {
                const int t = (int)(r * d->s + s);
                const __m512i ih = _mm512_add_epi32(ph, _mm512_set1_epi32((int)(r * d->dilation_h - d->pad_h)));
                const __m512i iw = _mm512_add_epi32(qw, _mm512_set1_epi32((int)(s * d->dilation_w - d->pad_w)));
                const __mmask16 in = live & _mm512_cmpge_epi32_mask(ih, zero) & _mm512_cmplt_epi32_mask(ih, H) &
                                     _mm512_cmpge_epi32_mask(iw, zero) & _mm512_cmplt_epi32_mask(iw, W);
                const __m512i at = _mm512_maskz_add_epi32(in, _mm512_mullo_epi32(ih, W), iw);
                pl->idx[t][ch] = at;
                pl->keep[t][ch] = in;
                pl->hi[t][ch] = _mm512_cmpge_epi32_mask(at, _mm512_set1_epi32(32));
            }
    }
}

static inline __mmask16 first_n(int64_t n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

void nb_x32_im2col_ukernel__avx512(const nb_conv2d_desc *d, int64_t channels, int64_t P, int64_t Q, int64_t j0,
                                   int64_t nj, const float *x, float *col, int64_t ldcol) {
    const int64_t HW = d->h * d->w, RS = d->r * d->s;
    if (HW > 64 || nj > 64 || RS > SMALL_TAPS || nj < 1 || Q < 1 || Q > 64 || j0 + nj > 4096 || d->stride_h > 64 ||
        d->stride_w > 64 || d->dilation_h > 64 || d->dilation_w > 64 || d->pad_h > 64 || d->pad_w > 64 || P > 64) {
        nb_x32_im2col_ukernel__avx2(d, channels, P, Q, j0, nj, x, col, ldcol);
        return;
    }
    tap_plan pl;
    build_plan(d, Q, j0, nj, &pl);
    const int nch = (int)((nj + 15) / 16);
    for (int64_t c = 0; c < channels; c++) {
        const float *xc = x + c * HW;
        const __m512 a0 = _mm512_maskz_loadu_ps(first_n(HW), xc), a1 = _mm512_maskz_loadu_ps(first_n(HW - 16), xc + 16);
        const __m512 a2 = _mm512_maskz_loadu_ps(first_n(HW - 32), xc + 32), a3 = _mm512_maskz_loadu_ps(first_n(HW - 48), xc + 48);
        for (int64_t t = 0; t < RS; t++) {
            float *row = col + (c * RS + t) * ldcol;
            for (int ch = 0; ch < nch; ch++) {
                const __m512i at = pl.idx[t][ch];
                const __m512 lo = _mm512_permutex2var_ps(a0, at, a1), up = _mm512_permutex2var_ps(a2, at, a3);
                const __m512 v = _mm512_maskz_mov_ps(pl.keep[t][ch], _mm512_mask_blend_ps(pl.hi[t][ch], lo, up));
                _mm512_mask_storeu_ps(row + 16 * ch, first_n(nj - 16 * ch), v);
            }
        }
    }
}
