/* Differential libFuzzer target: every usable SIMD table (nb_kernels_for,
 * src/kernels_table.h) against the reference table on the same valid
 * arguments, with inputs full of NaN, +-Inf, values near FLT_MAX, denormals
 * and signed zeros. The arguments are first validated by the public entry
 * point (a refused call is skipped: the slots take validated arguments).
 * Oracles, from the documented bounds (kernels.h, README "Numerics"; the
 * same as shadow mode's, src/check.c):
 *   - NaN and +-Inf where the reference has them, and nowhere else;
 *   - GEMM: |C - C_ref| <= gamma(K+3) (|alpha| |A||B| + |beta| |C|) (K+2 for
 *     the kernel, one more for the reference's own rounding), except the
 *     documented overflow (nb_check_overflow_exempt), plus
 *     (|alpha| (K+2) + 2) 2^-149 for underflow: kernels.h's relative bound cannot hold where products
 *     are denormal (each float rounding there errs by up to half of the
 *     smallest denormal; found by this target: 1 denormal ulp at K = 1);
 *   - max / min: exactly the reference; sum / mean (kernels.h):
 *     gamma(133 + ceil(log2 m)) sum |x| (/ m for the mean), two roundings
 *     more for the reference's and the mean's division; +-Inf or NaN
 *     accepted where the finite terms' sum |x| > FLT_MAX (kernels.h:
 *     partial sums may overflow; an infinite input of the other sign then
 *     makes NaN where the reference gives +-Inf);
 *   - convolution forward: the same with L = C/groups R S taps + the bias;
 *   - unary: 16 u |ref| + 4 u |x| + the smallest denormal (8 ulp);
 *     softmax: 4 u (cols + 8) (|ref| + 1 for log_softmax).
 * A result that is finite on one side and +-Inf on the other is accepted
 * only within that bound of FLT_MAX (the last rounding before overflow). */
#include "fuzz_common.h"
#include "check.h"
#include "kernels_table.h"

static const double U = 0x1p-24;
static double gam(double k) { return k * U / (1.0 - k * U); }

static int ntables;
static const struct nb_kernels *tables[2];

static void find_tables(void) {
    static int done;
    if (done) return;
    done = 1;
    for (int isa = NB_ISA_AVX2; isa <= NB_ISA_NEON; isa++) {
        const struct nb_kernels *t = nb_kernels_for((nb_isa)isa);
        if (t && t != nb_kernels_for(NB_ISA_REF)) tables[ntables++] = t;
    }
}

/* got against want with an absolute bound; mag (or NAN) for GEMM's
   overflow exception. */
static void compare(const char *what, const struct nb_kernels *t, int64_t i, float got, float want, double bound,
                    double mag, double terms) {
    if (isnan(got) || isnan(want) || isinf(got) || isinf(want)) {
        if ((isnan(got) && isnan(want)) || got == want) return;
        if (!isnan(mag) && nb_check_overflow_exempt(got, mag, terms)) return;
        /* finite on one side, +-Inf on the other, at the edge of overflow */
        const float fin = isinf(got) ? want : got, inf = isinf(got) ? got : want;
        if (isfinite(fin) && isinf(inf) && (fin > 0) == (inf > 0) &&
            (double)FLT_MAX - fabs((double)fin) <= bound + ldexp(1.0, 104))
            return;
        FZ_FAIL("%s on %s: element %lld is %.9g, the reference %.9g", what, nb_isa_name(t->isa), (long long)i,
                (double)got, (double)want);
    }
    if (fabs((double)got - (double)want) > bound * (1 + 1e-6))
        FZ_FAIL("%s on %s: element %lld is %.9g, the reference %.9g, bound %.3g", what, nb_isa_name(t->isa),
                (long long)i, (double)got, (double)want, bound);
}

static void diff_gemm(fz_in *r) {
    const unsigned f = fz_u8(r);
    const int ta = f & 1, tb = f >> 1 & 1;
    const int64_t M = 1 + fz_size(r), N = 1 + fz_size(r), K = fz_size(r);
    const int64_t lda = (ta ? M : K) + (f >> 2 & 1), ldb = (tb ? K : N) + (f >> 3 & 1), ldc = N + (f >> 4 & 1);
    float alpha = f & 32 ? fz_float(r) : 1.0f, beta = f & 64 ? fz_float(r) : 0.0f;
    /* Not +-Inf: alpha = -Inf times a dot product that underflows to 0 in
       float but not in the reference's double gives NaN against -Inf (found
       by this target; outside any bound kernels.h states, reported). */
    if (isinf(alpha)) alpha = FLT_MAX;
    if (isinf(beta)) beta = -FLT_MAX;
    const int64_t na = (ta ? K : M) * lda, nb = (tb ? N : K) * ldb, nc = M * ldc;
    float *A = fz_floats(r, na, 0), *B = fz_floats(r, nb, 0), *C0 = fz_floats(r, nc, 0);
    float *R = malloc((size_t)nc * 4 + 4), *G = malloc((size_t)nc * 4 + 4);
    memcpy(R, C0, (size_t)nc * 4);
    if (nb_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc) == NB_OK) {
        memcpy(R, C0, (size_t)nc * 4);
        nb_kernels_for(NB_ISA_REF)->sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
        for (int t = 0; t < ntables; t++) {
            memcpy(G, C0, (size_t)nc * 4);
            tables[t]->sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, G, ldc);
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) {
                    /* magnitudes over the finite terms: an infinite term
                       makes the exact result +-Inf, and finite huge terms
                       of the other sign may still overflow first */
                    double um = 0;
                    for (int64_t k = 0; k < K; k++) {
                        const double p = fabs((double)(ta ? A[k * lda + i] : A[i * lda + k]) *
                                              (double)(tb ? B[j * ldb + k] : B[k * ldb + j]));
                        if (isfinite(p)) um += p;
                    }
                    double bc = beta != 0.0f ? fabs((double)beta * (double)C0[i * ldc + j]) : 0.0;
                    if (!isfinite(bc)) bc = 0;
                    const double m = fabs((double)alpha) * um + bc;
                    compare("nb_sgemm", tables[t], i * ldc + j, G[i * ldc + j], R[i * ldc + j], gam((double)K + 3) * m + (fabs((double)alpha) * (double)(K + 2) + 2) * FLT_TRUE_MIN,
                            um > m ? um : m, (double)K + 2);
                }
        }
    }
    free(A); free(B); free(C0); free(R); free(G);
}

/* Convolution forward: each output a dot product of L = C/groups R S taps
   plus the bias, bound gamma(L+3) times their magnitude sum (kernels.h),
   GEMM's overflow exception and underflow term likewise. */
static void diff_conv(fz_in *r) {
    const unsigned f = fz_u8(r);
    nb_conv2d_desc d;
    d.n = 1 + (f & 1);
    d.groups = 1 + (f >> 1 & 1);
    d.c = d.groups * (1 + fz_u8(r) % 3);
    d.k = d.groups * (1 + fz_u8(r) % 3);
    d.h = 1 + fz_u8(r) % 9;
    d.w = 1 + fz_u8(r) % 9;
    d.r = 1 + fz_u8(r) % 3;
    d.s = 1 + fz_u8(r) % 3;
    d.stride_h = 1 + (f >> 2 & 1);
    d.stride_w = 1 + (f >> 3 & 1);
    d.pad_h = f >> 4 & 1;
    d.pad_w = f >> 5 & 1;
    d.dilation_h = 1 + (f >> 6 & 1);
    d.dilation_w = 1;
    int64_t P, Q;
    if (nb_conv2d_out_shape(&d, &P, &Q) != NB_OK) return;
    const int64_t cg = d.c / d.groups, kg = d.k / d.groups, L = cg * d.r * d.s + 1;
    const int64_t nx = d.n * d.c * d.h * d.w, nw = d.k * cg * d.r * d.s, ny = d.n * d.k * P * Q;
    float *x = fz_floats(r, nx, 0), *w = fz_floats(r, nw, 0), *b = fz_floats(r, d.k, 0);
    float *R = malloc((size_t)ny * 4 + 4), *G = malloc((size_t)ny * 4 + 4);
    if (nb_sconv2d_forward(&d, x, w, b, R) == NB_OK) {
        nb_kernels_for(NB_ISA_REF)->sconv2d_forward(&d, x, w, b, R);
        for (int t = 0; t < ntables; t++) {
            tables[t]->sconv2d_forward(&d, x, w, b, G);
            for (int64_t e = 0; e < ny; e++) {
                const int64_t q = e % Q, p = e / Q % P, k = e / (P * Q) % d.k, n = e / (P * Q * d.k);
                const int64_t g = k / kg;
                double m = isfinite(b[k]) ? fabs((double)b[k]) : 0;   /* over the finite terms */
                for (int64_t c = 0; c < cg; c++)
                    for (int64_t i = 0; i < d.r; i++)
                        for (int64_t j = 0; j < d.s; j++) {
                            const int64_t ih = p * d.stride_h - d.pad_h + i * d.dilation_h;
                            const int64_t iw = q * d.stride_w - d.pad_w + j * d.dilation_w;
                            if (ih < 0 || ih >= d.h || iw < 0 || iw >= d.w) continue;
                            const double v = fabs((double)x[((n * d.c + g * cg + c) * d.h + ih) * d.w + iw] *
                                                  (double)w[((k * cg + c) * d.r + i) * d.s + j]);
                            if (isfinite(v)) m += v;
                        }
                compare("nb_sconv2d_forward", tables[t], e, G[e], R[e],
                        gam((double)L + 3) * m + (double)(L + 3) * FLT_TRUE_MIN, m, (double)L + 2);
            }
        }
    }
    free(x); free(w); free(b); free(R); free(G);
}

static void diff_reduce(fz_in *r) {
    const unsigned f = fz_u8(r);
    const int ndim = (int)(f % 4);
    const nb_reduce_op op = (nb_reduce_op)(f >> 2 & 3);
    const uint64_t mask = fz_u8(r) & ((1u << ndim) - 1);
    int64_t shape[4], xs[4], ys[4], nx = 1, ny = 1, m = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        shape[i] = fz_size(r) + (f & 128 ? 0 : 1);
        xs[i] = nx;
        nx *= shape[i];
    }
    for (int i = ndim - 1; i >= 0; i--) {
        ys[i] = mask >> i & 1 ? 0 : ny;
        if (!(mask >> i & 1)) ny *= shape[i];
        else m *= shape[i];
    }
    if (f & 16)   /* x walked backwards along dim 0 */
        for (int i = 0; i < ndim && i < 1; i++) xs[i] = -xs[i];
    const int64_t xoff = (f & 16) && ndim > 0 && shape[0] > 0 ? (shape[0] - 1) * -xs[0] : 0;
    float *x = fz_floats(r, nx, 0), *R = malloc((size_t)ny * 4 + 4), *G = malloc((size_t)ny * 4 + 4);
    if (nb_sreduce(op, ndim, shape, x + xoff, xs, mask, R, ys) == NB_OK) {
        nb_kernels_for(NB_ISA_REF)->sreduce(op, ndim, shape, x + xoff, xs, mask, R, ys);
        /* sum |x| per output, in double */
        double *sa = calloc((size_t)ny + 1, sizeof *sa), *sf = calloc((size_t)ny + 1, sizeof *sf);
        for (int64_t e = 0; e < nx; e++) {   /* e: the row-major logical index */
            int64_t rem = e, o = 0, xo = xoff;
            for (int i = ndim - 1; i >= 0; i--) {
                o += rem % shape[i] * ys[i];
                xo += rem % shape[i] * xs[i];
                rem /= shape[i];
            }
            sa[o] += fabs((double)x[xo]);
            if (isfinite(x[xo])) sf[o] += fabs((double)x[xo]);   /* finite terms only */
        }
        char what[96];
        snprintf(what, sizeof what, "nb_sreduce op %d (%lld elements per output, %lld outputs)", (int)op, (long long)m,
                 (long long)ny);
        for (int t = 0; t < ntables; t++) {
            tables[t]->sreduce(op, ndim, shape, x + xoff, xs, mask, G, ys);
            for (int64_t i = 0; i < ny; i++) {
                const int sums = op == NB_REDUCE_SUM || op == NB_REDUCE_MEAN;
                const double g = gam(135 + ceil(log2((double)(m > 1 ? m : 1))));
                const double bound = !sums ? 0 : op == NB_REDUCE_SUM ? g * sa[i] : g * sa[i] / (double)m;
                /* the documented overflow of partial sums: Inf, and NaN once an
                   infinite input of the other sign meets it */
                if (sums && !isfinite(G[i]) && sf[i] > FLT_MAX) continue;
                compare(what, tables[t], i, G[i], R[i], bound, NAN, 0);
            }
        }
        free(sa); free(sf);
    }
    free(x); free(R); free(G);
}

static void diff_unary(fz_in *r) {
    const unsigned f = fz_u8(r);
    const nb_unary_op op = (nb_unary_op)(f % 6);
    const int64_t n = fz_size(r) * (1 + (f >> 3) % 8);
    float *x = fz_floats(r, n, 0), *R = malloc((size_t)n * 4 + 4), *G = malloc((size_t)n * 4 + 4);
    if (nb_sunary(op, n, x, R) == NB_OK) {
        nb_kernels_for(NB_ISA_REF)->sunary(op, n, x, R);
        for (int t = 0; t < ntables; t++) {
            tables[t]->sunary(op, n, x, G);
            for (int64_t i = 0; i < n; i++)
                compare("nb_sunary", tables[t], i, G[i], R[i],
                        16 * U * fabs((double)R[i]) + 4 * U * fabs((double)x[i]) + (double)FLT_TRUE_MIN, NAN, 0);
        }
    }
    free(x); free(R); free(G);
}

static void diff_softmax(fz_in *r) {
    const unsigned f = fz_u8(r);
    const int lg = f & 1;
    const int64_t rows = 1 + fz_size(r) % 4, cols = fz_size(r) * (1 + (f >> 1) % 4);
    const int64_t n = rows * cols;
    float *x = fz_floats(r, n, 0), *R = malloc((size_t)n * 4 + 4), *G = malloc((size_t)n * 4 + 4);
    if (nb_ssoftmax(lg, rows, cols, x, cols, R, cols) == NB_OK) {
        nb_kernels_for(NB_ISA_REF)->ssoftmax(lg, rows, cols, x, cols, R, cols);
        for (int t = 0; t < ntables; t++) {
            tables[t]->ssoftmax(lg, rows, cols, x, cols, G, cols);
            for (int64_t i = 0; i < n; i++)
                compare(lg ? "nb_ssoftmax (log)" : "nb_ssoftmax", tables[t], i, G[i], R[i],
                        4 * U * ((double)cols + 8) * (fabs((double)R[i]) + lg), NAN, 0);
        }
    }
    free(x); free(R); free(G);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    find_tables();
    if (ntables == 0) return 0;   /* no SIMD table on this CPU: nothing to compare */
    fz_in r = {data, size};
    switch (fz_u8(&r) % 5) {
    case 0: diff_gemm(&r); break;
    case 1: diff_reduce(&r); break;
    case 2: diff_unary(&r); break;
    case 3: diff_softmax(&r); break;
    default: diff_conv(&r); break;
    }
    return 0;
}
