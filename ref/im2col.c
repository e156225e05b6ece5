/* Reference im2col / col2im, float32 and float64 (contract in ref/ref.h).
 *
 * im2col lays each receptive field of one image and one group out as a
 * column, so a convolution becomes a GEMM: y (K/groups x PQ) =
 * w (K/groups x C/groups R S) * col. col2im is the adjoint scatter-add used
 * by backward-data. Rows of padding (input row outside [0, H)) are handled
 * once per (c, r, s, p) instead of per element; the column test stays in the
 * inner loop because it is the obvious form (the SIMD twins split q into the
 * left padding, the interior and the right padding instead).
 */
#include "ref.h"

#define DEFINE_REF_IM2COL(NAME, T)                                                             \
    void NAME(const nb_conv2d_desc *d, int64_t channels, int64_t P, int64_t Q, const T *x,   \
              T *col) {                                                                      \
        const int64_t H = d->h, W = d->w, R = d->r, S = d->s;                                \
        for (int64_t c = 0; c < channels; c++)                                               \
            for (int64_t r = 0; r < R; r++)                                                  \
                for (int64_t s = 0; s < S; s++) {                                            \
                    T *row = col + ((c * R + r) * S + s) * P * Q;                            \
                    for (int64_t p = 0; p < P; p++) {                                        \
                        const int64_t ih = p * d->stride_h - d->pad_h + r * d->dilation_h;   \
                        T *out = row + p * Q;                                                \
                        if (ih < 0 || ih >= H) {                                             \
                            for (int64_t q = 0; q < Q; q++) out[q] = 0;                      \
                            continue;                                                        \
                        }                                                                    \
                        /* W == 0: x may be NULL (empty), and NULL + 0 is UB */              \
                        const T *in = W > 0 ? x + (c * H + ih) * W : x;                      \
                        for (int64_t q = 0; q < Q; q++) {                                    \
                            const int64_t iw = q * d->stride_w - d->pad_w + s * d->dilation_w; \
                            out[q] = (iw >= 0 && iw < W) ? in[iw] : (T)0;                    \
                        }                                                                    \
                    }                                                                        \
                }                                                                            \
    }

#define DEFINE_REF_COL2IM(NAME, T)                                                             \
    void NAME(const nb_conv2d_desc *d, int64_t channels, int64_t P, int64_t Q, const T *col, \
              T *x) {                                                                        \
        const int64_t H = d->h, W = d->w, R = d->r, S = d->s;                                \
        for (int64_t c = 0; c < channels; c++)                                               \
            for (int64_t r = 0; r < R; r++)                                                  \
                for (int64_t s = 0; s < S; s++) {                                            \
                    const T *row = col + ((c * R + r) * S + s) * P * Q;                      \
                    for (int64_t p = 0; p < P; p++) {                                        \
                        const int64_t ih = p * d->stride_h - d->pad_h + r * d->dilation_h;   \
                        if (ih < 0 || ih >= H) continue;                                     \
                        const T *in = row + p * Q;                                           \
                        T *out = W > 0 ? x + (c * H + ih) * W : x;                           \
                        for (int64_t q = 0; q < Q; q++) {                                    \
                            const int64_t iw = q * d->stride_w - d->pad_w + s * d->dilation_w; \
                            if (iw >= 0 && iw < W) out[iw] += in[q];                         \
                        }                                                                    \
                    }                                                                        \
                }                                                                            \
    }

DEFINE_REF_IM2COL(nb_ref_sim2col, float)
DEFINE_REF_IM2COL(nb_ref_dim2col, double)
DEFINE_REF_COL2IM(nb_ref_scol2im, float)
DEFINE_REF_COL2IM(nb_ref_dcol2im, double)
