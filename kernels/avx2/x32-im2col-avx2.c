/* im2col over a range of output pixels (contract: src/conv_driver.h). Exact
 * (a copy). ISA: AVX2.
 *
 * Each column-matrix row (one tap c, r, s) is walked one output row p at a
 * time; the part of a p-row that reads the input splits into left padding
 * (zeros), an interior that is a strided copy of one input row, and right
 * padding. Stride 1 copies 8 floats per unaligned load/store with a masked
 * tail (masked-off lanes never fault, so guard pages are safe); stride 2
 * loads 16 floats and keeps the even ones, as long as the 16th is still
 * inside the input row, and the last 1..8 outputs through masked loads of
 * just the floats they need; other strides copy scalar. With stride 1 and
 * Q == W ("same" padding, 3 of the 4 benchmark layers) a whole tap row is
 * one long copy plus a few zeroed padding columns per output row
 * (row_same), which measured 2-3% faster end to end on the 3x3 layers.
 */
#include "conv-avx2.h"

static void zero_run(float *o, int64_t n) {
    const __m256 z = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, z);
    if (i < n) _mm256_maskstore_ps(o + i, nb_avx2_lane_mask(n - i), z);
}

/* o[i] = in[i * stride] for i < n; in[(n - 1) stride] is the last element
   that may be read. */
static void copy_run(float *o, const float *in, int64_t n, int64_t stride) {
    int64_t i = 0;
    if (stride == 1) {
        for (; i + 16 <= n; i += 16) {
            _mm256_storeu_ps(o + i, _mm256_loadu_ps(in + i));
            _mm256_storeu_ps(o + i + 8, _mm256_loadu_ps(in + i + 8));
        }
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, _mm256_loadu_ps(in + i));
        if (i < n) {
            const __m256i m = nb_avx2_lane_mask(n - i);
            _mm256_maskstore_ps(o + i, m, _mm256_maskload_ps(in + i, m));
        }
        return;
    }
    if (stride == 2) {
        /* in[2i .. 2i + 15] is read: 2i + 15 <= 2 (n - 1) needs i + 9 <= n. */
        for (; i + 9 <= n; i += 8) {
            const __m256 a = _mm256_loadu_ps(in + 2 * i), b = _mm256_loadu_ps(in + 2 * i + 8);
            _mm256_storeu_ps(o + i, nb_avx2_evens(a, b));
        }
        if (i < n) {
            /* The last 1..8 outputs: in[2i .. 2(n - 1)] only, through masks
               (the element after the last even one may be past the image). */
            const int64_t m = n - i, last = 2 * m - 1;   /* floats to read */
            const __m256 a = _mm256_maskload_ps(in + 2 * i, nb_avx2_lane_mask(last < 8 ? last : 8));
            const __m256 b = last > 8 ? _mm256_maskload_ps(in + 2 * i + 8, nb_avx2_lane_mask(last - 8))
                                      : _mm256_setzero_ps();
            _mm256_maskstore_ps(o + i, nb_avx2_lane_mask(m), nb_avx2_evens(a, b));
        }
        return;
    }
    for (; i < n; i++) o[i] = in[i * stride];
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Stride 1 both ways and Q == W ("same" padding): pixel j = p Q + q of tap
   row (r, s) reads x[j + base] whenever it reads anything, so the pixels of
   all valid rows p are ONE contiguous copy; the few columns of each row
   that fall in the left/right padding (and picked up a neighbouring input
   row) are zeroed afterwards. One long copy instead of a short one per row. */
static void row_same(const nb_conv2d_desc *d, int64_t r, int64_t off, int64_t q_lo, int64_t q_hi,
                     int64_t P, int64_t Q, int64_t j0, int64_t nj, const float *xc, float *row) {
    const int64_t j1 = j0 + nj, top = d->pad_h - r * d->dilation_h;
    const int64_t pa = nb_conv_clamp(top, 0, P), pb = nb_conv_clamp(top + d->h, pa, P);
    int64_t ca = j1, cb = j1;   /* the copied pixel range, within [j0, j1) */
    if (pb > pa && q_hi > q_lo) {
        ca = nb_conv_clamp(pa * Q + q_lo, j0, j1);
        cb = nb_conv_clamp((pb - 1) * Q + q_hi, ca, j1);
    }
    zero_run(row, ca - j0);
    if (cb > ca) {
        /* x[j + base] for j in [pa Q + q_lo, (pb - 1) Q + q_hi) stays inside
           rows ih(pa) .. ih(pb - 1) of this channel. */
        const int64_t base = -top * d->w + off;
        copy_run(row + (ca - j0), xc + ca + base, cb - ca, 1);
        for (int64_t p = ca / Q; p * Q < cb; p++) {
            for (int64_t j = max64(ca, p * Q); j < min64(cb, p * Q + q_lo); j++) row[j - j0] = 0.0f;
            for (int64_t j = max64(ca, p * Q + q_hi); j < min64(cb, p * Q + Q); j++) row[j - j0] = 0.0f;
        }
    }
    zero_run(row + (cb - j0), j1 - cb);
}

void nb_x32_im2col_ukernel__avx2(const nb_conv2d_desc *d, int64_t channels, int64_t P, int64_t Q,
                                 int64_t j0, int64_t nj, const float *x, float *col,
                                 int64_t ldcol) {
    if (!(d->stride_h == 1 && d->stride_w == 1 && Q == d->w)) {
        nb_conv_im2col_walk(d, channels, Q, j0, nj, x, col, ldcol, zero_run, copy_run);
        return;
    }
    const int64_t H = d->h, W = d->w, R = d->r, S = d->s;
    for (int64_t c = 0; c < channels; c++)
        for (int64_t r = 0; r < R; r++)
            for (int64_t s = 0; s < S; s++) {
                const int64_t off = s * d->dilation_w - d->pad_w;
                int64_t q_lo, q_hi;
                nb_conv_valid_q(off, 1, W, Q, &q_lo, &q_hi);
                row_same(d, r, off, q_lo, q_hi, P, Q, j0, nj, x + c * H * W,
                         col + ((c * R + r) * S + s) * ldcol);
            }
}
