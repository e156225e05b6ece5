/* col2im over a range of output pixels (contract: src/conv_driver.h):
 * scatter-add of the column matrix back onto the input, the adjoint of
 * im2col. ISA: AVX2.
 *
 * Same row walk as im2col; only the interior of each p-row touches x. Each
 * element of x receives its adds in the order c, r, s, p, q, as in the
 * reference (one add per tap, no reassociation). Stride 1 adds 8 floats at a
 * time (unaligned, masked tail); stride 2 adds 8 taps into 16 floats, the
 * taps interleaved with -0.0f (the exact identity of +); other strides
 * scalar.
 */
#include "conv-avx2.h"

static void add_run(float *o, const float *in, int64_t n, int64_t stride) {
    int64_t i = 0;
    if (stride == 1) {
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(o + i, _mm256_add_ps(_mm256_loadu_ps(o + i), _mm256_loadu_ps(in + i)));
        if (i < n) {
            const __m256i m = nb_avx2_lane_mask(n - i);
            _mm256_maskstore_ps(o + i, m, _mm256_add_ps(_mm256_maskload_ps(o + i, m),
                                                        _mm256_maskload_ps(in + i, m)));
        }
        return;
    }
    if (stride == 2) {
        /* o[2i .. 2i + 15] is read and written back, the odd elements plus
           -0.0f, which leaves every float (also -0 and NaN) as it was; it
           stays inside the row while 2i + 15 <= 2 (n - 1), i.e. i + 9 <= n. */
        const __m256 nz = _mm256_set1_ps(-0.0f);
        for (; i + 9 <= n; i += 8) {
            const __m256 v = _mm256_loadu_ps(in + i);
            const __m256 lo = _mm256_unpacklo_ps(v, nz), hi = _mm256_unpackhi_ps(v, nz);
            /* lo = [v0 z v1 z | v4 z v5 z], hi = [v2 z v3 z | v6 z v7 z] */
            const __m256 e0 = _mm256_permute2f128_ps(lo, hi, 0x20);   /* v0 z v1 z v2 z v3 z */
            const __m256 e1 = _mm256_permute2f128_ps(lo, hi, 0x31);   /* v4 z v5 z v6 z v7 z */
            _mm256_storeu_ps(o + 2 * i, _mm256_add_ps(_mm256_loadu_ps(o + 2 * i), e0));
            _mm256_storeu_ps(o + 2 * i + 8, _mm256_add_ps(_mm256_loadu_ps(o + 2 * i + 8), e1));
        }
    }
    for (; i < n; i++) o[i * stride] += in[i];
}

void nb_f32_col2im_ukernel__avx2(const nb_conv2d_desc *d, int64_t channels, int64_t P, int64_t Q,
                                 int64_t j0, int64_t nj, const float *col, int64_t ldcol,
                                 float *x) {
    (void)P;
    nb_conv_col2im_walk(d, channels, Q, j0, nj, col, ldcol, x, add_run);
}
