/* im2col over a range of output pixels (contract: src/conv_driver.h). Exact
 * (a copy). ISA: AArch64 Advanced SIMD.
 *
 * The AVX2 kernel's row walk: each column-matrix row (one tap c, r, s) is
 * walked one output row p at a time; a p-row splits into left padding
 * (zeros), an interior that copies one input row with stride stride_w, and
 * right padding. Stride 1 copies 4 floats per vld1q/vst1q (16 per step)
 * with a scalar tail, so nothing past the run is touched; other strides
 * copy scalar (the GEMM after it dominates: im2col is ~10% of a 3x3
 * forward on AVX2).
 */
#include <arm_neon.h>

#include "conv-neon.h"

static void zero_run(float *o, int64_t n) {
    const float32x4_t z = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(o + i, z);
    for (; i < n; i++) o[i] = 0.0f;
}

/* o[i] = in[i * stride] for i < n. */
static void copy_run(float *o, const float *in, int64_t n, int64_t stride) {
    int64_t i = 0;
    if (stride == 1) {
        for (; i + 16 <= n; i += 16) {
            vst1q_f32(o + i, vld1q_f32(in + i));
            vst1q_f32(o + i + 4, vld1q_f32(in + i + 4));
            vst1q_f32(o + i + 8, vld1q_f32(in + i + 8));
            vst1q_f32(o + i + 12, vld1q_f32(in + i + 12));
        }
        for (; i + 4 <= n; i += 4) vst1q_f32(o + i, vld1q_f32(in + i));
    }
    for (; i < n; i++) o[i] = in[i * stride];
}

void nb_x32_im2col_ukernel__neon(const nb_conv2d_desc *d, int64_t channels, int64_t P, int64_t Q,
                                 int64_t j0, int64_t nj, const float *x, float *col,
                                 int64_t ldcol) {
    (void)P;
    const int64_t H = d->h, W = d->w, R = d->r, S = d->s, sw = d->stride_w;
    for (int64_t c = 0; c < channels; c++)
        for (int64_t r = 0; r < R; r++)
            for (int64_t s = 0; s < S; s++) {
                float *row = col + ((c * R + r) * S + s) * ldcol;
                const int64_t off = s * d->dilation_w - d->pad_w;
                int64_t q_lo, q_hi;
                nb_conv_valid_q(off, sw, W, Q, &q_lo, &q_hi);
                int64_t j = j0, p = j0 / Q, q = j0 % Q;
                while (j < j0 + nj) {
                    const int64_t qe = Q - q < j0 + nj - j ? Q : q + (j0 + nj - j);
                    float *out = row + (j - j0);   /* pixel (p, q) */
                    const int64_t ih = p * d->stride_h - d->pad_h + r * d->dilation_h;
                    if (ih < 0 || ih >= H) {
                        zero_run(out, qe - q);
                    } else {
                        const int64_t a = nb_conv_clamp(q_lo, q, qe), b = nb_conv_clamp(q_hi, a, qe);
                        zero_run(out, a - q);
                        if (b > a)
                            copy_run(out + (a - q), x + (c * H + ih) * W + a * sw + off, b - a, sw);
                        zero_run(out + (b - q), qe - b);
                    }
                    j += qe - q;
                    p++;
                    q = 0;
                }
            }
}
