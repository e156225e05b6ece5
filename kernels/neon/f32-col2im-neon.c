/* col2im over a range of output pixels (contract: src/conv_driver.h): the
 * scatter-add adjoint of im2col. ISA: AArch64 Advanced SIMD.
 *
 * Same row walk as im2col; only the interior of each p-row touches x. Every
 * element of x receives its adds in the order c, r, s, p, q, one add per
 * tap, as in the reference (so the result is the reference's, bit for bit).
 * Stride 1 adds 4 floats per vaddq (vectors of distinct elements: no
 * reassociation); other strides scalar.
 */
#include <arm_neon.h>

#include "conv-neon.h"

static void add_run(float *o, const float *in, int64_t n, int64_t stride) {
    int64_t i = 0;
    if (stride == 1)
        for (; i + 4 <= n; i += 4) vst1q_f32(o + i, vaddq_f32(vld1q_f32(o + i), vld1q_f32(in + i)));
    for (; i < n; i++) o[i * stride] += in[i];
}

void nb_f32_col2im_ukernel__neon(const nb_conv2d_desc *d, int64_t channels, int64_t P, int64_t Q,
                                 int64_t j0, int64_t nj, const float *col, int64_t ldcol,
                                 float *x) {
    (void)P;
    const int64_t H = d->h, W = d->w, R = d->r, S = d->s, sw = d->stride_w;
    for (int64_t c = 0; c < channels; c++)
        for (int64_t r = 0; r < R; r++)
            for (int64_t s = 0; s < S; s++) {
                const float *row = col + ((c * R + r) * S + s) * ldcol;
                const int64_t off = s * d->dilation_w - d->pad_w;
                int64_t q_lo, q_hi;
                nb_conv_valid_q(off, sw, W, Q, &q_lo, &q_hi);
                int64_t j = j0, p = j0 / Q, q = j0 % Q;
                while (j < j0 + nj) {
                    const int64_t qe = Q - q < j0 + nj - j ? Q : q + (j0 + nj - j);
                    const float *in = row + (j - j0);   /* pixel (p, q) */
                    const int64_t ih = p * d->stride_h - d->pad_h + r * d->dilation_h;
                    if (ih >= 0 && ih < H) {
                        const int64_t a = nb_conv_clamp(q_lo, q, qe), b = nb_conv_clamp(q_hi, a, qe);
                        if (b > a)
                            add_run(x + (c * H + ih) * W + a * sw + off, in + (a - q), b - a, sw);
                    }
                    j += qe - q;
                    p++;
                    q = 0;
                }
            }
}
