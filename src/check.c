/* Shadow mode (NABLA_CHECK=1): every kernel call on a SIMD backend is run
 * again on the reference backend, into private copies of its outputs, and
 * the difference is measured against the family's error bound.
 *
 * Violations are printed on stderr as they happen; a summary per slot
 * (calls, violations, worst error/bound ratio) is printed at exit. The
 * check table wraps whatever ISA is active, so nb_isa_set() keeps working.
 * This is a debugging mode: it allocates copies and runs the slow reference
 * (and a second reference pass on absolute values for the bounds).
 *
 * Bounds (|simd - ref| <= |simd - exact| + |ref - exact|, hence the 2):
 *   GEMM, conv:  2 gamma(L+2) * (the same product on absolute values, run
 *                on the float64 reference), L the length of each dot
 *                product; with the documented overflow exception
 *                (nb_check_overflow_exempt): +-Inf or NaN accepted where
 *                that magnitude is finite and above FLT_MAX/(1+gamma(L+2));
 *   sum / mean:  2 gamma(n) * sum|x| (n reduced elements; /n for mean);
 *   max / min, copies: exact;
 *   unary:       8 ulp(ref) + 4 u |x| (covers cancellation in gelu/sigmoid);
 *   softmax:     4 u (cols + 8) (|ref| + log-case 1).
 */
#include <float.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "internal.h"
#include "ref.h"

typedef struct {
    long calls, violations;
    double worst;       /* worst error / bound seen */
} slot_stats;

static slot_stats stats[NB_CHECK_SLOTS];
/* Where the wrappers find the table they check: handed in by dispatch
   (nb_check_fill), so this file calls nothing of dispatch's. */
static nb_checked_table_fn checked;
/* A mutex rather than a named omp critical: the latter exports a symbol. */
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const slot_names[NB_CHECK_SLOTS] = {
#define NB_CHECK_NAME(slot, counter) [counter] = #slot,
    NB_CHECKED_SLOTS(NB_CHECK_NAME)
#undef NB_CHECK_NAME
};


bool nb_check_overflow_exempt(float got, double mag, double terms) {
    return !isfinite(got) && isfinite(mag) && mag > FLT_MAX / (1.0 + nb_check_gamma(terms));
}

/* Worst |got - want| / bound over n floats; NaN must match NaN; a zero
   bound means exact. Returns +inf on a NaN mismatch. mag (NULL for the
   families without dot products): each output's magnitude for the
   overflow exception (nb_check_overflow_exempt), of dot products of
   `terms` terms. */
double nb_check_worst_ratio(const float *got, const float *want, const double *bound,
                            const double *mag, double terms, int64_t n, int64_t *where) {
    double worst = 0;
    *where = -1;
    for (int64_t i = 0; i < n; i++) {
        const float g = got[i], w = want[i];
        double r;
        if (mag && nb_check_overflow_exempt(g, mag[i], terms)) r = 0;
        else if (isnan(g) || isnan(w)) r = (isnan(g) && isnan(w)) ? 0 : INFINITY;
        else if (g == w) r = 0;
        else {
            const double d = fabs((double)g - (double)w);
            r = (bound && bound[i] > 0) ? d / bound[i] : INFINITY;
        }
        if (r > worst) { worst = r; *where = i; }
    }
    return worst;
}

static void record(nb_check_slot s, double ratio, int64_t where, const char *shape) {
    pthread_mutex_lock(&stats_lock);
    stats[s].calls++;
    if (ratio > stats[s].worst) stats[s].worst = ratio;
    if (ratio > 1.0) stats[s].violations++;
    pthread_mutex_unlock(&stats_lock);
    if (ratio > 1.0)
        fprintf(stderr, "nabla: NABLA_CHECK %s (%s) %s: worst error is %.3g x its bound (element %lld)\n",
                slot_names[s], nb_isa_name(checked()->isa), shape, ratio, (long long)where);
    else if (nb_verbose_enabled())
        fprintf(stderr, "nabla: NABLA_CHECK %s %s: worst error %.3g x its bound\n",
                slot_names[s], shape, ratio);
}

static void oom(nb_check_slot s) {
    fprintf(stderr, "nabla: NABLA_CHECK %s: no memory for the shadow run, not checked\n", slot_names[s]);
}

static void summary(void) {
    for (int s = 0; s < NB_CHECK_SLOTS; s++)
        if (stats[s].calls)
            fprintf(stderr, "nabla: NABLA_CHECK summary %-24s calls %ld, violations %ld, worst %.3g x bound\n",
                    slot_names[s], stats[s].calls, stats[s].violations, stats[s].worst);
}

void nb_check_stats(nb_check_slot s, long *calls, long *violations, double *worst) {
    *calls = stats[s].calls;
    *violations = stats[s].violations;
    *worst = stats[s].worst;
}

double nb_check_unary_bound(float x, float ref) {
    const double u = ldexp(1.0, -24);
    return 8 * 2 * u * fabs((double)ref) + 4 * u * fabs((double)x) + (double)FLT_TRUE_MIN;
}

double nb_check_softmax_bound(int log, int64_t cols, float ref) {
    const double u = ldexp(1.0, -24);
    return 4 * u * ((double)cols + 8) * (fabs((double)ref) + (log ? 1 : 0));
}

/* ---- helpers: dense copies of strided matrices ---- */

/* |p| in double: the magnitude passes of the dot-product families run on
   the float64 reference, so a magnitude above FLT_MAX stays finite (the
   overflow exception needs its value). Non-finite values count 0: the
   magnitude is over the finite terms (kernels.h: an infinite term against
   finite terms that overflow may give NaN for +-Inf). */
static double *abs_copy_d(const float *p, int64_t n) {
    double *q = malloc((size_t)(n > 0 ? n : 1) * sizeof *q);
    if (q) for (int64_t i = 0; i < n; i++) q[i] = isfinite(p[i]) ? fabs((double)p[i]) : 0.0;
    return q;
}

/* ---- the wrapped slots ---- */

static nb_status chk_sgemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                           const float *A, int64_t lda, const float *B, int64_t ldb,
                           float beta, float *C, int64_t ldc) {
    const struct nb_kernels *t = checked();
    const int64_t csz = (M - 1) * ldc + N;
    const int64_t asz = ((ta ? K : M) - 1) * lda + (ta ? M : K);
    const int64_t bsz = ((tb ? N : K) - 1) * ldb + (tb ? K : N);
    float *c0 = malloc((size_t)csz * sizeof *c0), *cref = malloc((size_t)csz * sizeof *cref);
    double *aa = K > 0 ? abs_copy_d(A, asz) : NULL, *ab = K > 0 ? abs_copy_d(B, bsz) : NULL;
    double *mag = malloc((size_t)csz * sizeof *mag);   /* sum |a||b|, before alpha */
    double *bound = malloc((size_t)(M * N) * sizeof *bound), *exm = malloc((size_t)(M * N) * sizeof *exm);
    float *got = malloc((size_t)(M * N) * sizeof *got), *want = malloc((size_t)(M * N) * sizeof *want);
    const bool ok = c0 && cref && mag && bound && exm && got && want && (K == 0 || (aa && ab));
    if (ok) { memcpy(c0, C, (size_t)csz * sizeof *C); memcpy(cref, C, (size_t)csz * sizeof *C); }
    nb_status s = t->sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (s == NB_OK && ok && nb_ref_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, cref, ldc) == NB_OK &&
        (K == 0 || nb_ref_dgemm(ta, tb, M, N, K, 1.0, aa, lda, ab, ldb, 0.0, mag, ldc) == NB_OK)) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                const int64_t o = i * ldc + j;
                const double ab_mag = K ? mag[o] : 0.0;
                const double bc = beta != 0 ? fabs((double)beta * c0[o]) : 0.0;
                const double m = fabs((double)alpha) * ab_mag + (isfinite(bc) ? bc : 0.0);
                bound[i * N + j] = 2 * nb_check_gamma((double)K + 2) * m;
                exm[i * N + j] = m > ab_mag ? m : ab_mag;
                got[i * N + j] = C[o];
                want[i * N + j] = cref[o];
            }
        int64_t where;
        const double r = nb_check_worst_ratio(got, want, bound, exm, (double)K + 2, M * N, &where);
        char shape[96];
        snprintf(shape, sizeof shape, "%c%c M=%lld N=%lld K=%lld", ta ? 'T' : 'N', tb ? 'T' : 'N',
                 (long long)M, (long long)N, (long long)K);
        record(NB_CHECK_SGEMM, r, where, shape);
    } else if (s == NB_OK) {
        oom(NB_CHECK_SGEMM);
    }
    free(c0); free(cref); free(aa); free(ab); free(mag); free(bound); free(exm); free(got); free(want);
    return s;
}

static void conv_sizes(const nb_conv2d_desc *d, int64_t *xn, int64_t *wn, int64_t *yn) {
    int64_t p = 0, q = 0;
    nb_conv_out_dims(d, &p, &q);
    *xn = d->n * d->c * d->h * d->w;
    *wn = d->k * (d->c / d->groups) * d->r * d->s;
    *yn = d->n * d->k * p * q;
}

static void conv_shape(char *buf, size_t len, const nb_conv2d_desc *d) {
    snprintf(buf, len, "n=%lld c=%lld %lldx%lld k=%lld %lldx%lld g=%lld", (long long)d->n,
             (long long)d->c, (long long)d->h, (long long)d->w, (long long)d->k, (long long)d->r,
             (long long)d->s, (long long)d->groups);
}

/* Worst error/bound of `n` outputs of a conv pass against the reference
   output, the bound from the reference pass on absolute values (mag) and
   the dot length L; where Winograd may have run (bwd: backward-data; ain,
   aw, ab the absolute inputs), plus its own bound gw wmag (check_wino.c). */
static double conv_ratio(const nb_conv2d_desc *d, int bwd, const double *ain, const double *aw,
                         const double *ab, const float *got, const float *want, const double *mag,
                         int64_t n, double L, int64_t *where) {
    double *bound = malloc((size_t)(n > 0 ? n : 1) * sizeof *bound);
    double *wmag = malloc((size_t)(n > 0 ? n : 1) * sizeof *wmag);
    const double gw = bound && wmag ? nb_check_winograd_mag(d, bwd, ain, aw, ab, wmag) : -1.0;
    if (gw < 0) { free(bound); free(wmag); *where = -1; return 0; }
    for (int64_t i = 0; i < n; i++) bound[i] = 2 * nb_check_gamma(L + 2) * mag[i] + (gw > 0 ? gw * wmag[i] : 0.0);
    const double r = nb_check_worst_ratio(got, want, bound, mag, L + 2, n, where);
    free(bound);
    free(wmag);
    return r;
}

static void conv_record(nb_check_slot slot, const nb_conv2d_desc *d, double r, int64_t where) {
    char shape[128];
    conv_shape(shape, sizeof shape, d);
    record(slot, r, where, shape);
}

static nb_status chk_sconv2d_forward(const nb_conv2d_desc *d, const float *x, const float *w,
                                     const float *bias, float *y) {
    nb_status s = checked()->sconv2d_forward(d, x, w, bias, y);
    if (s != NB_OK) return s;
    int64_t xn, wn, yn;
    conv_sizes(d, &xn, &wn, &yn);
    float *ref = malloc((size_t)yn * sizeof *ref);
    double *mag = malloc((size_t)yn * sizeof *mag);
    double *ax = abs_copy_d(x, xn), *aw = abs_copy_d(w, wn), *ab = bias ? abs_copy_d(bias, d->k) : NULL;
    if (ref && mag && ax && aw && (!bias || ab) && nb_ref_sconv2d_forward(d, x, w, bias, ref) == NB_OK &&
        nb_ref_dconv2d_forward(d, ax, aw, ab, mag) == NB_OK)
    {
        int64_t where;
        const double r = conv_ratio(d, 0, ax, aw, ab, y, ref, mag, yn, (double)(d->c / d->groups * d->r * d->s + 1), &where);
        conv_record(NB_CHECK_CONV_FWD, d, r, where);
    }
    else oom(NB_CHECK_CONV_FWD);
    free(ref); free(mag); free(ax); free(aw); free(ab);
    return s;
}

static nb_status chk_sconv2d_backward_data(const nb_conv2d_desc *d, const float *dy, const float *w,
                                           float *dx) {
    nb_status s = checked()->sconv2d_backward_data(d, dy, w, dx);
    if (s != NB_OK) return s;
    int64_t xn, wn, yn;
    conv_sizes(d, &xn, &wn, &yn);
    float *ref = malloc((size_t)xn * sizeof *ref);
    double *mag = malloc((size_t)xn * sizeof *mag);
    double *ady = abs_copy_d(dy, yn), *aw = abs_copy_d(w, wn);
    if (ref && mag && ady && aw && nb_ref_sconv2d_backward_data(d, dy, w, ref) == NB_OK &&
        nb_ref_dconv2d_backward_data(d, ady, aw, mag) == NB_OK)
    {
        int64_t where;
        const double r = conv_ratio(d, 1, ady, aw, NULL, dx, ref, mag, xn, (double)(d->k / d->groups * d->r * d->s), &where);
        conv_record(NB_CHECK_CONV_BWD_DATA, d, r, where);
    }
    else oom(NB_CHECK_CONV_BWD_DATA);
    free(ref); free(mag); free(ady); free(aw);
    return s;
}

static nb_status chk_sconv2d_backward_filter(const nb_conv2d_desc *d, const float *x, const float *dy,
                                             float *dw, float *dbias) {
    nb_status s = checked()->sconv2d_backward_filter(d, x, dy, dw, dbias);
    if (s != NB_OK) return s;
    int64_t xn, wn, yn, p = 0, q = 0;
    conv_sizes(d, &xn, &wn, &yn);
    nb_conv_out_dims(d, &p, &q);
    float *ref = malloc((size_t)(wn + d->k) * sizeof *ref);
    double *mag = malloc((size_t)(wn + d->k) * sizeof *mag);
    double *ax = abs_copy_d(x, xn), *ady = abs_copy_d(dy, yn);
    if (ref && mag && ax && ady &&
        nb_ref_sconv2d_backward_filter(d, x, dy, ref, dbias ? ref + wn : NULL) == NB_OK &&
        nb_ref_dconv2d_backward_filter(d, ax, ady, mag, dbias ? mag + wn : NULL) == NB_OK) {
        const double L = (double)(d->n * p * q);
        int64_t where, where_b = -1;
        /* Winograd F(3x3, 4x4) may have run: its bound too (check_wino.c). */
        double r = conv_ratio(d, 2, ax, ady, NULL, dw, ref, mag, wn, L, &where);
        const double rb = dbias ? conv_ratio(d, -1, NULL, NULL, NULL, dbias, ref + wn, mag + wn, d->k, L, &where_b) : 0.0;
        if (rb > r) { r = rb; where = wn + where_b; }   /* dbias elements after dw's */
        conv_record(NB_CHECK_CONV_BWD_FILTER, d, r, where);
    } else oom(NB_CHECK_CONV_BWD_FILTER);
    free(ref); free(mag); free(ax); free(ady);
    return s;
}

static nb_status chk_sreduce(nb_reduce_op op, int ndim, const int64_t *shape, const float *x,
                             const int64_t *xs, uint64_t mask, float *y, const int64_t *ys) {
    nb_status s = checked()->sreduce(op, ndim, shape, x, xs, mask, y, ys);
    if (s != NB_OK) return s;
    /* Dense outputs for the shadow runs: same shape, contiguous strides. */
    int64_t dshape[NB_MAX_DIMS], dstr[NB_MAX_DIMS], ny = 1, nred = 1;
    for (int i = 0; i < ndim; i++) {
        const int red = (int)((mask >> i) & 1);
        dshape[i] = red ? 1 : shape[i];
        ny *= dshape[i];
        if (red) nred *= shape[i];
    }
    int64_t st = 1;
    for (int i = ndim - 1; i >= 0; i--) { dstr[i] = st; st *= dshape[i]; }
    float *got = malloc((size_t)ny * sizeof *got), *ref = malloc((size_t)ny * sizeof *ref);
    float *mag = malloc((size_t)ny * sizeof *mag);
    double *bound = malloc((size_t)ny * sizeof *bound);
    if (!got || !ref || !mag || !bound) { oom(NB_CHECK_REDUCE); goto done; }
    /* gather the backend's output into dense order */
    nb_ref_copy_strided(sizeof(float), ndim, dshape, y, ys, got, dstr);
    if (nb_ref_sreduce(op, ndim, shape, x, xs, mask, ref, dstr) != NB_OK) { oom(NB_CHECK_REDUCE); goto done; }
    const bool sums = op == NB_REDUCE_SUM || op == NB_REDUCE_MEAN;
    if (sums) {
        /* sum|x| through the reference on a dense absolute copy */
        int64_t n = 1, cstr[NB_MAX_DIMS];
        for (int i = 0; i < ndim; i++) n *= shape[i];
        int64_t cs = 1;
        for (int i = ndim - 1; i >= 0; i--) { cstr[i] = cs; cs *= shape[i]; }
        float *ax = malloc((size_t)(n > 0 ? n : 1) * sizeof *ax);
        if (!ax) { oom(NB_CHECK_REDUCE); goto done; }
        nb_ref_copy_strided(sizeof(float), ndim, shape, x, xs, ax, cstr);
        for (int64_t i = 0; i < n; i++) ax[i] = fabsf(ax[i]);
        nb_ref_sreduce(op, ndim, shape, ax, cstr, mask, mag, dstr);
        free(ax);
        for (int64_t i = 0; i < ny; i++) bound[i] = 2 * nb_check_gamma((double)nred) * (double)mag[i];
    } else {
        for (int64_t i = 0; i < ny; i++) bound[i] = 0;
    }
    int64_t where;
    const double r = nb_check_worst_ratio(got, ref, bound, NULL, 0, ny, &where);
    char desc[64];
    snprintf(desc, sizeof desc, "op=%d ndim=%d mask=0x%llx", (int)op, ndim, (unsigned long long)mask);
    record(NB_CHECK_REDUCE, r, where, desc);
done:
    free(got); free(ref); free(mag); free(bound);
    return s;
}

static nb_status chk_copy_strided(size_t es, int ndim, const int64_t *shape, const void *src,
                                  const int64_t *ss, void *dst, const int64_t *ds) {
    nb_status s = checked()->copy_strided(es, ndim, shape, src, ss, dst, ds);
    if (s != NB_OK) return s;
    int64_t n = 1, cstr[NB_MAX_DIMS];
    for (int i = 0; i < ndim; i++) n *= shape[i];
    int64_t cs = 1;
    for (int i = ndim - 1; i >= 0; i--) { cstr[i] = cs; cs *= shape[i]; }
    char *want = malloc((size_t)(n > 0 ? n : 1) * es), *got = malloc((size_t)(n > 0 ? n : 1) * es);
    if (want && got) {
        nb_ref_copy_strided(es, ndim, shape, src, ss, want, cstr);
        nb_ref_copy_strided(es, ndim, shape, dst, ds, got, cstr);
        int64_t where = -1;
        for (int64_t i = 0; i < n && where < 0; i++)
            if (memcmp(want + i * (int64_t)es, got + i * (int64_t)es, es) != 0) where = i;
        char desc[64];
        snprintf(desc, sizeof desc, "elem=%zu ndim=%d n=%lld", es, ndim, (long long)n);
        record(NB_CHECK_COPY, where < 0 ? 0.0 : INFINITY, where, desc);
    } else oom(NB_CHECK_COPY);
    free(want); free(got);
    return s;
}

static nb_status chk_sunary(nb_unary_op op, int64_t n, const float *x, float *y) {
    /* y may alias x: keep the input */
    float *xin = malloc((size_t)(n > 0 ? n : 1) * sizeof *xin), *ref = malloc((size_t)(n > 0 ? n : 1) * sizeof *ref);
    double *bound = malloc((size_t)(n > 0 ? n : 1) * sizeof *bound);
    if (xin) memcpy(xin, x, (size_t)n * sizeof *x);
    nb_status s = checked()->sunary(op, n, x, y);
    if (s == NB_OK && xin && ref && bound && nb_ref_sunary(op, n, xin, ref) == NB_OK) {
        for (int64_t i = 0; i < n; i++) bound[i] = nb_check_unary_bound(xin[i], ref[i]);
        int64_t where;
        const double r = nb_check_worst_ratio(y, ref, bound, NULL, 0, n, &where);
        char desc[48];
        snprintf(desc, sizeof desc, "op=%d n=%lld", (int)op, (long long)n);
        record(NB_CHECK_UNARY, r, where, desc);
    } else if (s == NB_OK) oom(NB_CHECK_UNARY);
    free(xin); free(ref); free(bound);
    return s;
}

static nb_status chk_ssoftmax(int log, int64_t rows, int64_t cols, const float *x, int64_t ldx,
                              float *y, int64_t ldy) {
    const int64_t n = rows * cols;
    float *xin = malloc((size_t)(n > 0 ? n : 1) * sizeof *xin), *ref = malloc((size_t)(n > 0 ? n : 1) * sizeof *ref);
    float *got = malloc((size_t)(n > 0 ? n : 1) * sizeof *got);
    double *bound = malloc((size_t)(n > 0 ? n : 1) * sizeof *bound);
    if (xin) for (int64_t i = 0; i < rows; i++) memcpy(xin + i * cols, x + i * ldx, (size_t)cols * sizeof *x);
    nb_status s = checked()->ssoftmax(log, rows, cols, x, ldx, y, ldy);
    if (s == NB_OK && xin && ref && got && bound &&
        nb_ref_ssoftmax(log, rows, cols, xin, cols, ref, cols) == NB_OK) {
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) {
                got[i * cols + j] = y[i * ldy + j];
                bound[i * cols + j] = nb_check_softmax_bound(log, cols, ref[i * cols + j]);
            }
        int64_t where;
        const double r = nb_check_worst_ratio(got, ref, bound, NULL, 0, n, &where);
        char desc[64];
        snprintf(desc, sizeof desc, "log=%d rows=%lld cols=%lld", log, (long long)rows, (long long)cols);
        record(NB_CHECK_SOFTMAX, r, where, desc);
    } else if (s == NB_OK) oom(NB_CHECK_SOFTMAX);
    free(xin); free(ref); free(got); free(bound);
    return s;
}

void nb_check_fill(struct nb_kernels *t, nb_checked_table_fn table) {
    checked = table;
#define NB_CHECK_OVERRIDE(slot, counter) t->slot = chk_##slot;
    NB_CHECKED_SLOTS(NB_CHECK_OVERRIDE)
#undef NB_CHECK_OVERRIDE
    static int registered;   /* once, however many tables are filled */
    if (!registered++) atexit(summary);
}
