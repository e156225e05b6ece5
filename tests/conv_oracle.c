#include "conv_oracle.h"

#include <math.h>
#include <stdlib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include "harness.h"

void oc_out_shape(const nb_conv2d_desc *d, int64_t *P, int64_t *Q) {
    int64_t p = 0, q = 0;
    while (p * d->stride_h + d->dilation_h * (d->r - 1) <= d->h + 2 * d->pad_h - 1) p++;
    while (q * d->stride_w + d->dilation_w * (d->s - 1) <= d->w + 2 * d->pad_w - 1) q++;
    *P = p;
    *Q = q;
}

int64_t oc_numel_x(const nb_conv2d_desc *d) { return d->n * d->c * d->h * d->w; }
int64_t oc_numel_w(const nb_conv2d_desc *d) { return d->k * (d->c / d->groups) * d->r * d->s; }
int64_t oc_numel_y(const nb_conv2d_desc *d) {
    int64_t P, Q;
    oc_out_shape(d, &P, &Q);
    return d->n * d->k * P * Q;
}

/* Input row/column read by output (p, q) at kernel tap (r, s). */
static int64_t in_row(const nb_conv2d_desc *d, int64_t p, int64_t r) {
    return p * d->stride_h - d->pad_h + r * d->dilation_h;
}
static int64_t in_col(const nb_conv2d_desc *d, int64_t q, int64_t s) {
    return q * d->stride_w - d->pad_w + s * d->dilation_w;
}

int64_t oc_forward(const nb_conv2d_desc *d, const double *x, const double *w,
                   const double *bias, double *exact, double *mag) {
    int64_t P, Q;
    oc_out_shape(d, &P, &Q);
    const int64_t cg = d->c / d->groups, kg = d->k / d->groups;
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t k = 0; k < d->k; k++)
            for (int64_t p = 0; p < P; p++)
                for (int64_t q = 0; q < Q; q++) {
                    double sum = bias ? bias[k] : 0.0, m = bias ? fabs(bias[k]) : 0.0;
                    const int64_t g = k / kg;
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t r = 0; r < d->r; r++)
                            for (int64_t s = 0; s < d->s; s++) {
                                const int64_t ih = in_row(d, p, r), iw = in_col(d, q, s);
                                if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w) continue;
                                const double t = x[((n * d->c + g * cg + c) * d->h + ih) * d->w + iw] *
                                                 w[((k * cg + c) * d->r + r) * d->s + s];
                                sum += t;
                                m += fabs(t);
                            }
                    const int64_t o = ((n * d->k + k) * P + p) * Q + q;
                    exact[o] = sum;
                    mag[o] = m;
                }
    return cg * d->r * d->s + (bias ? 1 : 0);
}

int64_t oc_backward_data(const nb_conv2d_desc *d, const double *dy, const double *w,
                         double *exact, double *mag) {
    int64_t P, Q;
    oc_out_shape(d, &P, &Q);
    const int64_t cg = d->c / d->groups, kg = d->k / d->groups;
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t c = 0; c < d->c; c++)
            for (int64_t h = 0; h < d->h; h++)
                for (int64_t x = 0; x < d->w; x++) {
                    double sum = 0, m = 0;
                    const int64_t g = c / cg;
                    for (int64_t k = g * kg; k < (g + 1) * kg; k++)
                        for (int64_t r = 0; r < d->r; r++)
                            for (int64_t s = 0; s < d->s; s++) {
                                /* Which output (p, q) reads (h, x) through tap (r, s)? */
                                const int64_t ph = h + d->pad_h - r * d->dilation_h;
                                const int64_t qw = x + d->pad_w - s * d->dilation_w;
                                if (ph < 0 || qw < 0 || ph % d->stride_h || qw % d->stride_w) continue;
                                const int64_t p = ph / d->stride_h, q = qw / d->stride_w;
                                if (p >= P || q >= Q) continue;
                                const double t = w[((k * cg + (c - g * cg)) * d->r + r) * d->s + s] *
                                                 dy[((n * d->k + k) * P + p) * Q + q];
                                sum += t;
                                m += fabs(t);
                            }
                    const int64_t o = ((n * d->c + c) * d->h + h) * d->w + x;
                    exact[o] = sum;
                    mag[o] = m;
                }
    return kg * d->r * d->s;
}

int64_t oc_backward_filter(const nb_conv2d_desc *d, const double *x, const double *dy,
                           double *exact, double *mag) {
    int64_t P, Q;
    oc_out_shape(d, &P, &Q);
    const int64_t cg = d->c / d->groups, kg = d->k / d->groups;
    for (int64_t k = 0; k < d->k; k++)
        for (int64_t c = 0; c < cg; c++)
            for (int64_t r = 0; r < d->r; r++)
                for (int64_t s = 0; s < d->s; s++) {
                    double sum = 0, m = 0;
                    const int64_t g = k / kg;
                    for (int64_t n = 0; n < d->n; n++)
                        for (int64_t p = 0; p < P; p++)
                            for (int64_t q = 0; q < Q; q++) {
                                const int64_t ih = in_row(d, p, r), iw = in_col(d, q, s);
                                if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w) continue;
                                const double t = dy[((n * d->k + k) * P + p) * Q + q] *
                                                 x[((n * d->c + g * cg + c) * d->h + ih) * d->w + iw];
                                sum += t;
                                m += fabs(t);
                            }
                    const int64_t o = ((k * cg + c) * d->r + r) * d->s + s;
                    exact[o] = sum;
                    mag[o] = m;
                }
    return d->n * P * Q;
}

int64_t oc_backward_bias(const nb_conv2d_desc *d, const double *dy, double *exact, double *mag) {
    int64_t P, Q;
    oc_out_shape(d, &P, &Q);
    for (int64_t k = 0; k < d->k; k++) {
        double sum = 0, m = 0;
        for (int64_t n = 0; n < d->n; n++)
            for (int64_t i = 0; i < P * Q; i++) {
                sum += dy[(n * d->k + k) * P * Q + i];
                m += fabs(dy[(n * d->k + k) * P * Q + i]);
            }
        exact[k] = sum;
        mag[k] = m;
    }
    return d->n * P * Q;
}

double oc_gamma(int64_t m, double u) { return (double)m * u / (1.0 - (double)m * u); }

int64_t oc_same_nonfinite(const char *what, int64_t count, const float *got, const float *ref) {
    int64_t nonfinite = 0;
    for (int64_t i = 0; i < count; i++) {
        if (isnan(ref[i]) != isnan(got[i]) || isinf(ref[i]) != isinf(got[i]))
            fail_msg("%s[%lld] = %g, reference %g", what, (long long)i, (double)got[i], (double)ref[i]);
        nonfinite += !isfinite(ref[i]);
    }
    return nonfinite;
}

void oc_check(const char *what, const nb_conv2d_desc *d, int64_t count, const double *got,
              const double *exact, const double *mag, double tol_factor) {
    for (int64_t i = 0; i < count; i++) {
        const double tol = tol_factor * mag[i];
        if (!(fabs(got[i] - exact[i]) <= tol))
            fail_msg("%s[%lld] = %.17g, exact %.17g, bound %.3g (n=%lld c=%lld h=%lld w=%lld k=%lld "
                     "r=%lld s=%lld stride=%lldx%lld pad=%lldx%lld dil=%lldx%lld groups=%lld)",
                     what, (long long)i, got[i], exact[i], tol, (long long)d->n, (long long)d->c,
                     (long long)d->h, (long long)d->w, (long long)d->k, (long long)d->r,
                     (long long)d->s, (long long)d->stride_h, (long long)d->stride_w,
                     (long long)d->pad_h, (long long)d->pad_w, (long long)d->dilation_h,
                     (long long)d->dilation_w, (long long)d->groups);
    }
}

nb_conv2d_desc oc_desc(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r,
                       int64_t s, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh,
                       int64_t dw, int64_t groups) {
    nb_conv2d_desc d = {n, c, h, w, k, r, s, sh, sw, ph, pw, dh, dw, groups};
    return d;
}

/*                          n  c   h   w  k  r  s sh sw ph pw dh dw  g */
const nb_conv2d_desc oc_shapes[] = {
    {2, 5, 7, 6, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1},    /* 1x1 */
    {1, 4, 6, 7, 6, 1, 1, 2, 2, 1, 1, 1, 1, 1},    /* 1x1, stride 2, padded border */
    {3, 3, 8, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},    /* 3x3 "same", n = 3 */
    {1, 2, 11, 10, 5, 5, 5, 1, 1, 2, 2, 1, 1, 1},  /* 5x5 */
    {1, 3, 15, 13, 4, 7, 7, 2, 2, 3, 3, 1, 1, 1},  /* 7x7 stride 2 (ResNet stem) */
    {2, 4, 9, 10, 3, 3, 3, 1, 1, 2, 2, 2, 2, 1},   /* dilation 2 */
    {1, 2, 5, 4, 3, 3, 3, 1, 1, 3, 2, 1, 1, 1},    /* padding beyond the kernel's half */
    {2, 3, 2, 3, 2, 5, 5, 1, 1, 2, 2, 1, 1, 1},    /* input smaller than the kernel */
    {1, 7, 6, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1},    /* odd channel counts */
    {2, 6, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2},    /* groups = 2 */
    {1, 5, 8, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5},    /* depthwise (groups = C) */
    {3, 3, 6, 7, 6, 3, 3, 2, 1, 1, 1, 1, 1, 3},    /* depthwise, channel multiplier 2 */
    {1, 3, 9, 8, 2, 3, 2, 2, 1, 1, 0, 1, 3, 1},    /* asymmetric kernel, stride, pad, dilation */
    {1, 2, 9, 9, 3, 2, 2, 3, 3, 0, 0, 1, 1, 1},    /* stride > kernel: inputs no window reads */
    {0, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},    /* n = 0 */
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1},    /* the smallest */
};
const int oc_shape_count = (int)(sizeof oc_shapes / sizeof oc_shapes[0]);

nb_conv2d_desc oc_random_desc(void) {
    for (;;) {
        const int64_t g = nbt_range(1, 3);
        nb_conv2d_desc d = oc_desc(nbt_range(0, 3), g * nbt_range(1, 4), nbt_range(1, 12),
                                   nbt_range(1, 12), g * nbt_range(1, 4), nbt_range(1, 5),
                                   nbt_range(1, 5), nbt_range(1, 3), nbt_range(1, 3),
                                   nbt_range(0, 3), nbt_range(0, 3), nbt_range(1, 3),
                                   nbt_range(1, 3), g);
        int64_t P, Q;
        oc_out_shape(&d, &P, &Q);
        if (P >= 1 && Q >= 1) return d;
    }
}

/* ---- the Winograd F(4x4, 3x3) bound (src/ukernel.h, "Winograd") ----
 * Written here from the transform matrices, in double, on absolute values:
 * per output tile, |A^T| (sum over channels of (|G| |g| |G^T|) o
 * (|B^T| |d| |B|)) |A|, plus |bias|; the tiles are 4x4 from output (0, 0),
 * each reading the 6x6 input window from (4 th - pad_h, 4 tw - pad_w). */
static const double wBT[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                 {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
static const double wG[6][3] = {{0.25, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                {-1.0 / 6, 1.0 / 6, -1.0 / 6}, {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
static const double wAT[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0},
                                 {0, 1, -1, 8, -8, 1}};

static void wino_mag_forward(const nb_conv2d_desc *d, const double *x, const double *w,
                             const double *bias, double *wmag) {
    int64_t P, Q;
    oc_out_shape(d, &P, &Q);
    const int64_t C = d->c, K = d->k, Th = (P + 3) / 4, Tw = (Q + 3) / 4;
    double *U = malloc((size_t)(K * C * 36) * sizeof *U), *V = malloc((size_t)(C * 36) * sizeof *V);
    assert_non_null(U);
    assert_non_null(V);
    for (int64_t kc = 0; kc < K * C; kc++)
        for (int mu = 0; mu < 6; mu++)
            for (int nu = 0; nu < 6; nu++) {
                double s = 0;
                for (int r = 0; r < 3; r++)
                    for (int q = 0; q < 3; q++)
                        s += fabs(wG[mu][r]) * fabs(w[kc * 9 + r * 3 + q]) * fabs(wG[nu][q]);
                U[kc * 36 + mu * 6 + nu] = s;
            }
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t th = 0; th < Th; th++)
            for (int64_t tw = 0; tw < Tw; tw++) {
                for (int64_t c = 0; c < C; c++)
                    for (int mu = 0; mu < 6; mu++)
                        for (int nu = 0; nu < 6; nu++) {
                            double s = 0;
                            for (int a = 0; a < 6; a++)
                                for (int b = 0; b < 6; b++) {
                                    const int64_t ih = 4 * th - d->pad_h + a, iw = 4 * tw - d->pad_w + b;
                                    if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w) continue;
                                    s += fabs(wBT[mu][a]) * fabs(x[((n * C + c) * d->h + ih) * d->w + iw]) *
                                         fabs(wBT[nu][b]);
                                }
                            V[c * 36 + mu * 6 + nu] = s;
                        }
                for (int64_t k = 0; k < K; k++) {
                    double M[36] = {0};
                    for (int64_t c = 0; c < C; c++)
                        for (int e = 0; e < 36; e++) M[e] += U[(k * C + c) * 36 + e] * V[c * 36 + e];
                    for (int p = 0; p < 4 && 4 * th + p < P; p++)
                        for (int q = 0; q < 4 && 4 * tw + q < Q; q++) {
                            double s = bias ? fabs(bias[k]) : 0;
                            for (int mu = 0; mu < 6; mu++)
                                for (int nu = 0; nu < 6; nu++)
                                    s += fabs(wAT[p][mu]) * M[mu * 6 + nu] * fabs(wAT[q][nu]);
                            wmag[((n * K + k) * P + 4 * th + p) * Q + 4 * tw + q] = s;
                        }
                }
            }
    free(U);
    free(V);
}

/* Backward-filter F(3x3, 4x4): per (k, c), |G^T| (sum over images and
   tiles of (|A| |e_k| |A^T|) o (|B^T| |d_c| |B|)) |G|, e_k the 4x4 dy tile
   (zero past P, Q), d_c the 6x6 x window the forward tile reads. */
static void wino_mag_filter(const nb_conv2d_desc *d, const double *x, const double *dy,
                            double *wmag) {
    int64_t P, Q;
    oc_out_shape(d, &P, &Q);
    const int64_t C = d->c, K = d->k, Th = (P + 3) / 4, Tw = (Q + 3) / 4;
    double *S = calloc((size_t)(K * C * 36), sizeof *S), *V = malloc((size_t)(C * 36) * sizeof *V);
    double *E = malloc((size_t)(K * 36) * sizeof *E);
    assert_true(S && V && E);
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t th = 0; th < Th; th++)
            for (int64_t tw = 0; tw < Tw; tw++) {
                for (int64_t c = 0; c < C; c++)
                    for (int e = 0; e < 36; e++) {
                        double s = 0;
                        for (int a = 0; a < 6; a++)
                            for (int b = 0; b < 6; b++) {
                                const int64_t ih = 4 * th - d->pad_h + a, iw = 4 * tw - d->pad_w + b;
                                if (ih >= 0 && ih < d->h && iw >= 0 && iw < d->w)
                                    s += fabs(wBT[e / 6][a]) * fabs(x[((n * C + c) * d->h + ih) * d->w + iw]) *
                                         fabs(wBT[e % 6][b]);
                            }
                        V[c * 36 + e] = s;
                    }
                for (int64_t k = 0; k < K; k++)   /* A = (A^T)^T: A[mu][p] = wAT[p][mu] */
                    for (int e = 0; e < 36; e++) {
                        double s = 0;
                        for (int p = 0; p < 4 && 4 * th + p < P; p++)
                            for (int q = 0; q < 4 && 4 * tw + q < Q; q++)
                                s += fabs(wAT[p][e / 6]) * fabs(dy[((n * K + k) * P + 4 * th + p) * Q + 4 * tw + q]) *
                                     fabs(wAT[q][e % 6]);
                        E[k * 36 + e] = s;
                    }
                for (int64_t k = 0; k < K; k++)
                    for (int64_t c = 0; c < C; c++)
                        for (int e = 0; e < 36; e++) S[(k * C + c) * 36 + e] += E[k * 36 + e] * V[c * 36 + e];
            }
    for (int64_t kc = 0; kc < K * C; kc++)   /* |G^T| S |G| */
        for (int r = 0; r < 3; r++)
            for (int q = 0; q < 3; q++) {
                double s = 0;
                for (int e = 0; e < 36; e++) s += fabs(wG[e / 6][r]) * S[kc * 36 + e] * fabs(wG[e % 6][q]);
                wmag[kc * 9 + r * 3 + q] = s;
            }
    free(S);
    free(V);
    free(E);
}

int oc_winograd_eligible(const nb_conv2d_desc *d, int bwd) {
    return d->r == 3 && d->s == 3 && d->stride_h == 1 && d->stride_w == 1 && d->dilation_h == 1 &&
           d->dilation_w == 1 && d->groups == 1 && (bwd != 1 || (d->pad_h <= 2 && d->pad_w <= 2));
}

double oc_winograd_mag(const nb_conv2d_desc *d, int bwd, const double *in, const double *w,
                       const double *bias, double *wmag) {
    if (!bwd) {
        wino_mag_forward(d, in, w, bias, wmag);
        return oc_gamma(d->c + 24, ldexp(1.0, -24));
    }
    if (bwd == 2) {   /* backward-filter: in = x, w = dy */
        int64_t P, Q;
        oc_out_shape(d, &P, &Q);
        wino_mag_filter(d, in, w, wmag);
        return oc_gamma(d->n * ((P + 3) / 4) * ((Q + 3) / 4) + 21, ldexp(1.0, -24));
    }
    /* Backward-data at stride 1: the forward pass on dy with the filters
       transposed and rotated by 180 degrees, padded by 2 - pad. */
    int64_t P, Q;
    oc_out_shape(d, &P, &Q);
    const nb_conv2d_desc td = oc_desc(d->n, d->k, P, Q, d->c, 3, 3, 1, 1, 2 - d->pad_h,
                                      2 - d->pad_w, 1, 1, 1);
    double *wt = malloc((size_t)(d->k * d->c * 9) * sizeof *wt);
    assert_non_null(wt);
    for (int64_t k = 0; k < d->k; k++)
        for (int64_t c = 0; c < d->c; c++)
            for (int i = 0; i < 9; i++) wt[(c * d->k + k) * 9 + 8 - i] = w[(k * d->c + c) * 9 + i];
    wino_mag_forward(&td, in, wt, NULL, wmag);
    free(wt);
    return oc_gamma(d->k + 24, ldexp(1.0, -24));
}

void oc_winograd_widen(const nb_conv2d_desc *d, int bwd, const double *in, const double *w,
                       const double *bias, int64_t terms, double *mag) {
    if (!oc_winograd_eligible(d, bwd) || d->n == 0 || d->c == 0 || d->k == 0 || d->h == 0 ||
        d->w == 0)
        return;
    const int64_t count = bwd == 2 ? oc_numel_w(d) : bwd ? oc_numel_x(d) : oc_numel_y(d);
    double *wmag = malloc((size_t)count * sizeof *wmag);
    assert_non_null(wmag);
    const double gw = oc_winograd_mag(d, bwd, in, w, bias, wmag);
    const double gd = oc_gamma(terms + 2, ldexp(1.0, -24));
    for (int64_t i = 0; i < count; i++) mag[i] += gw / gd * wmag[i];
    free(wmag);
}
