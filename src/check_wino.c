/* The forward error bound of Winograd F(4x4, 3x3) (src/ukernel.h,
 * "Winograd"), for shadow mode (check.c) and `nabla selftest`:
 *   |y - y_exact| <= gamma(C + 24) wmag,
 *   wmag = |A^T| (sum over c of (|G| |g_c| |G^T|) o (|B^T| |d_c| |B|)) |A| + |bias|
 * per 4x4 output tile (tiles from output (0, 0), each reading the 6x6
 * input window from (4 th - pad_h, 4 tw - pad_w)): every term of the sum
 * is rounded at most C + 23 times (3 + 3 input, 4 + 4 filter, C + 2 GEMM,
 * 3 + 3 output, 1 bias). Both 2-D products run as two 1-D passes.
 * Backward-filter F(3x3, 4x4) (src/conv_winograd_bwd_filter.c):
 *   |dw - dw_exact| <= gamma(N T + 21) fmag,
 *   fmag[k][c] = |G^T| (sum over images and tiles of (|A| |e_k| |A^T|) o
 *                (|B^T| |d_c| |B|)) |G|
 * over the N T 4x4 tiles e of dy (zero past P, Q), d the 6x6 x window the
 * forward tile reads: a term is rounded at most 3 + 3 (input), 2 + 2 (dy),
 * N T + 1 (the product and the sums over the tiles, any association) and
 * 5 + 5 times (output, the constants 1/6, 1/12, 1/24 counted). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "internal.h"

/* |B^T| (6x6), |G| (6x3), |A^T| (4x6). */
static const double aBT[6][6] = {{4, 0, 5, 0, 1, 0}, {0, 4, 4, 1, 1, 0}, {0, 4, 4, 1, 1, 0},
                                 {0, 2, 1, 2, 1, 0}, {0, 2, 1, 2, 1, 0}, {0, 4, 0, 5, 0, 1}};
static const double aG[6][3] = {{1.0 / 4, 0, 0},          {1.0 / 6, 1.0 / 6, 1.0 / 6},
                                {1.0 / 6, 1.0 / 6, 1.0 / 6}, {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                {1.0 / 24, 1.0 / 12, 1.0 / 6}, {0, 0, 1}};
static const double aAT[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, 1, 2, 2, 0}, {0, 1, 1, 4, 4, 0},
                                 {0, 1, 1, 8, 8, 1}};
/* |A| (6x4) and |G^T| (3x6), the backward-filter's transposes. */
static const double aA[6][4] = {{1, 0, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, 1},
                                {1, 2, 4, 8}, {1, 2, 4, 8}, {0, 0, 0, 1}};
static const double aGT[3][6] = {{1.0 / 4, 1.0 / 6, 1.0 / 6, 1.0 / 24, 1.0 / 24, 0},
                                 {0, 1.0 / 6, 1.0 / 6, 1.0 / 12, 1.0 / 12, 0},
                                 {0, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1}};

/* out (ro x co) = L (ro x ri) in (ri x ci) R^T (co x ci), all >= 0; row-major. */
static void sandwich(const double *L, int ro, int ri, const double *in, int ci, const double *R,
                     int co, double *out) {
    double t[6 * 6];   /* L in: ro x ci */
    for (int i = 0; i < ro; i++)
        for (int j = 0; j < ci; j++) {
            double s = 0;
            for (int k = 0; k < ri; k++) s += L[i * ri + k] * in[k * ci + j];
            t[i * ci + j] = s;
        }
    for (int i = 0; i < ro; i++)
        for (int j = 0; j < co; j++) {
            double s = 0;
            for (int k = 0; k < ci; k++) s += t[i * ci + k] * R[j * ci + k];
            out[i * co + j] = s;
        }
}

/* |B^T| |d_c| |B| of every channel c of image n's tile (th, tw) into V
   (36 a channel): d_c the 6x6 window from (4 th - pad_h, 4 tw - pad_w) of
   |x| (ax), zero outside the image. */
static void input_mags(const nb_conv2d_desc *d, const double *ax, int64_t n, int64_t th,
                       int64_t tw, double *V) {
    for (int64_t c = 0; c < d->c; c++) {
        double tile[36];
        for (int a = 0; a < 6; a++)
            for (int b = 0; b < 6; b++) {
                const int64_t ih = 4 * th - d->pad_h + a, iw = 4 * tw - d->pad_w + b;
                const int in = ih >= 0 && ih < d->h && iw >= 0 && iw < d->w;
                tile[6 * a + b] = in ? ax[((n * d->c + c) * d->h + ih) * d->w + iw] : 0.0;
            }
        sandwich(&aBT[0][0], 6, 6, tile, 6, &aBT[0][0], 6, V + 36 * c);
    }
}

/* wmag over y of the forward desc d (3x3, stride 1, dilation 1, groups 1)
   from absolute values ax, aw, ab (ab may be NULL); 0 on out of memory. */
static int mag_forward(const nb_conv2d_desc *d, const double *ax, const double *aw,
                       const double *ab, double *wmag) {
    int64_t P, Q;
    nb_conv_out_dims(d, &P, &Q);
    const int64_t C = d->c, K = d->k, Th = (P + 3) / 4, Tw = (Q + 3) / 4;
    double *U = malloc((size_t)(K * C) * 36 * sizeof *U), *V = malloc((size_t)C * 36 * sizeof *V);
    if (!U || !V) {
        free(U);
        free(V);
        return 0;
    }
    for (int64_t i = 0; i < K * C; i++) sandwich(&aG[0][0], 6, 3, aw + 9 * i, 3, &aG[0][0], 6, U + 36 * i);
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t th = 0; th < Th; th++)
            for (int64_t tw = 0; tw < Tw; tw++) {
                input_mags(d, ax, n, th, tw, V);
                for (int64_t k = 0; k < K; k++) {
                    double M[36] = {0}, o[16];
                    for (int64_t c = 0; c < C; c++)
                        for (int e = 0; e < 36; e++) M[e] += U[36 * (k * C + c) + e] * V[36 * c + e];
                    sandwich(&aAT[0][0], 4, 6, M, 6, &aAT[0][0], 4, o);
                    for (int p = 0; p < 4 && 4 * th + p < P; p++)
                        for (int q = 0; q < 4 && 4 * tw + q < Q; q++)
                            wmag[((n * K + k) * P + 4 * th + p) * Q + 4 * tw + q] =
                                o[4 * p + q] + (ab ? ab[k] : 0.0);
                }
            }
    free(U);
    free(V);
    return 1;
}

/* fmag over dw of the backward-filter desc d from |x| (ax) and |dy| (ady);
   0 on out of memory. */
static int mag_filter(const nb_conv2d_desc *d, const double *ax, const double *ady, double *fmag) {
    int64_t P, Q;
    nb_conv_out_dims(d, &P, &Q);
    const int64_t C = d->c, K = d->k, Th = (P + 3) / 4, Tw = (Q + 3) / 4;
    double *S = calloc((size_t)(K * C) * 36, sizeof *S), *V = malloc((size_t)C * 36 * sizeof *V);
    double *E = malloc((size_t)K * 36 * sizeof *E);
    if (!S || !V || !E) {
        free(S);
        free(V);
        free(E);
        return 0;
    }
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t th = 0; th < Th; th++)
            for (int64_t tw = 0; tw < Tw; tw++) {
                double tile[36];
                input_mags(d, ax, n, th, tw, V);
                for (int64_t k = 0; k < K; k++) {
                    for (int p = 0; p < 4; p++)
                        for (int q = 0; q < 4; q++) {
                            const int in = 4 * th + p < P && 4 * tw + q < Q;
                            tile[4 * p + q] = in ? ady[((n * K + k) * P + 4 * th + p) * Q + 4 * tw + q] : 0.0;
                        }
                    sandwich(&aA[0][0], 6, 4, tile, 4, &aA[0][0], 6, E + 36 * k);
                }
                for (int64_t k = 0; k < K; k++)
                    for (int64_t c = 0; c < C; c++)
                        for (int e = 0; e < 36; e++) S[36 * (k * C + c) + e] += E[36 * k + e] * V[36 * c + e];
            }
    for (int64_t i = 0; i < K * C; i++) sandwich(&aGT[0][0], 3, 6, S + 36 * i, 6, &aGT[0][0], 3, fmag + 9 * i);
    free(S);
    free(V);
    free(E);
    return 1;
}

double nb_check_winograd_mag(const nb_conv2d_desc *d, int bwd, const double *ain,
                             const double *aw, const double *ab, double *wmag) {
    if (bwd < 0 || bwd > 2 || d->n == 0 || d->c == 0 || d->k == 0 || d->h == 0 || d->w == 0) return 0.0;
    if (d->r != 3 || d->s != 3 || d->stride_h != 1 || d->stride_w != 1 || d->dilation_h != 1 ||
        d->dilation_w != 1 || d->groups != 1 || (bwd == 1 && (d->pad_h > 2 || d->pad_w > 2)))
        return 0.0;
    if (bwd == 2) {   /* backward-filter: ain = |x|, aw = |dy|, wmag over dw */
        int64_t P, Q;
        nb_conv_out_dims(d, &P, &Q);
        if (P < 1 || Q < 1) return 0.0;
        const double tiles = (double)d->n * (double)((P + 3) / 4) * (double)((Q + 3) / 4);
        return mag_filter(d, ain, aw, wmag) ? nb_check_gamma(tiles + 21) : -1.0;
    }
    if (!bwd) return mag_forward(d, ain, aw, ab, wmag) ? nb_check_gamma((double)d->c + 24) : -1.0;
    /* Backward-data: the forward pass on dy with the filters transposed
       and rotated by 180 degrees, padded by 2 - pad (|w| rotated: the
       same values in another order). */
    int64_t P, Q;
    nb_conv_out_dims(d, &P, &Q);
    const nb_conv2d_desc td = {.n = d->n, .c = d->k, .h = P, .w = Q, .k = d->c, .r = 3, .s = 3,
                               .stride_h = 1, .stride_w = 1, .pad_h = 2 - d->pad_h,
                               .pad_w = 2 - d->pad_w, .dilation_h = 1, .dilation_w = 1, .groups = 1};
    double *wt = malloc((size_t)(d->k * d->c) * 9 * sizeof *wt);
    if (!wt) return -1.0;
    for (int64_t k = 0; k < d->k; k++)
        for (int64_t c = 0; c < d->c; c++)
            for (int i = 0; i < 9; i++) wt[(c * d->k + k) * 9 + 8 - i] = aw[(k * d->c + c) * 9 + i];
    const int ok = mag_forward(&td, ain, wt, NULL, wmag);
    free(wt);
    return ok ? nb_check_gamma((double)d->k + 24) : -1.0;
}
