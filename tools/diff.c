/* `nabla diff`: the caller's problem on each ISA and on the reference, each
 * result's worst error as a fraction of the family's bound (the bounds of
 * shadow mode, src/check.c), where it is, and whether NaN/Inf positions
 * agree. NABLA_TEST_PERTURB=<isa> (tests only) spoils one element of that
 * ISA's result, to show the check failing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ref.h"
#include "tools.h"

static double *abs_d(const float *p, int64_t n) {
    double *q = malloc((size_t)(n > 0 ? n : 1) * sizeof *q);
    if (q) for (int64_t i = 0; i < n; i++) q[i] = fabs((double)p[i]);
    return q;
}

/* mag = the call on |inputs| in float64 (the dot-product families' bound
   is 2 gamma(L+2) mag, L each dot's length); returns L, or -1. */
static double dot_magnitudes(const nbt_buffers *b, double *mag) {
    const nbt_problem *p = &b->p;
    const nb_conv2d_desc *c = &p->conv;
    double *a0 = abs_d(b->in[0], b->nin[0]), *a1 = abs_d(b->in[1], b->nin[1]);
    double *a2 = b->in[2] ? abs_d(b->in[2], b->nin[2]) : NULL;
    int64_t P = 0, Q = 0;
    double L = -1;
    if (a0 && a1 && (a2 || !b->in[2])) {
        if (p->family != NBT_SGEMM) nb_conv2d_out_shape(c, &P, &Q);
        nb_status s = NB_ERR_ARG;
        switch (p->family) {
        case NBT_SGEMM:
            s = nb_ref_dgemm(p->trans_a, p->trans_b, p->m, p->n, p->k, 1.0, a0, p->trans_a ? p->m : p->k,
                             a1, p->trans_b ? p->k : p->n, 0.0, mag, p->n);
            L = (double)p->k; break;
        case NBT_CONV_FWD:
            s = nb_ref_dconv2d_forward(c, a0, a1, a2, mag);
            L = (double)(c->c / c->groups * c->r * c->s + 1); break;
        case NBT_CONV_BWD_DATA:
            s = nb_ref_dconv2d_backward_data(c, a0, a1, mag);
            L = (double)(c->k / c->groups * c->r * c->s); break;
        default:
            s = nb_ref_dconv2d_backward_filter(c, a0, a1, mag, mag + (b->nout - c->k));
            L = (double)(c->n * P * Q); break;
        }
        if (s != NB_OK) L = -1;
    }
    free(a0); free(a1); free(a2);
    return L;
}

/* Per-element bound (and magnitude for the overflow exception, NULL
   outside the dot-product families); *terms as nb_check_overflow_exempt
   wants. -1 when out of memory. */
static int bounds(const nbt_buffers *b, const float *ref, double *bound, double **mag, double *terms) {
    const nbt_problem *p = &b->p;
    *mag = NULL;
    *terms = 0;
    if (p->family <= NBT_CONV_BWD_FILTER) {
        double *m = malloc((size_t)b->nout * sizeof *m);
        const double L = m ? dot_magnitudes(b, m) : -1;
        if (L < 0) { free(m); return -1; }
        for (int64_t i = 0; i < b->nout; i++) {
            double e = m[i];
            if (p->family == NBT_SGEMM)
                e = fabs((double)p->alpha) * m[i] + (p->beta != 0 ? fabs((double)p->beta * b->c0[i]) : 0.0);
            bound[i] = 2 * nb_check_gamma(L + 2) * e;
            if (e > m[i]) m[i] = e;
        }
        *mag = m;
        *terms = L + 2;
    } else if (p->family == NBT_REDUCE && (p->rop == NB_REDUCE_SUM || p->rop == NB_REDUCE_MEAN)) {
        double *ax = abs_d(b->in[0], b->nin[0]);
        int64_t xs[NB_MAX_DIMS], ys[NB_MAX_DIMS], sx = 1, sy = 1, nred = 1;
        if (!ax) return -1;
        for (int i = p->ndim - 1; i >= 0; i--) {
            xs[i] = sx; sx *= p->shape[i];
            ys[i] = sy; sy *= b->oshape[i];
            if (p->axes >> i & 1) nred *= p->shape[i];
        }
        nb_ref_dreduce(p->rop, p->ndim, p->shape, ax, xs, p->axes, bound, ys);
        for (int64_t i = 0; i < b->nout; i++) bound[i] *= 2 * nb_check_gamma((double)nred);
        free(ax);
    } else {
        for (int64_t i = 0; i < b->nout; i++)
            bound[i] = p->family == NBT_UNARY   ? nb_check_unary_bound(b->in[0][i], ref[i])
                     : p->family == NBT_SOFTMAX ? nb_check_softmax_bound(p->log, p->cols, ref[i])
                                                : 0.0;   /* copies, max, min: exact */
    }
    return 0;
}

static int64_t special_mismatches(const float *got, const float *want, int64_t n) {
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        const float g = got[i], w = want[i];
        bad += isnan(g) != isnan(w) || isinf(g) != isinf(w) || (isinf(g) && isinf(w) && g != w);
    }
    return bad;
}

static void print_position(const nbt_buffers *b, int64_t where) {
    int64_t idx[NB_MAX_DIMS], r = where;
    if (b->p.family == NBT_CONV_BWD_FILTER && where >= b->nout - b->p.conv.k) {
        printf("dbias[%lld]", (long long)(where - (b->nout - b->p.conv.k)));
        return;
    }
    for (int i = b->odim - 1; i >= 0; i--) { idx[i] = r % b->oshape[i]; r /= b->oshape[i]; }
    printf("[");
    for (int i = 0; i < b->odim; i++) printf("%s%lld", i ? "," : "", (long long)idx[i]);
    printf("]");
}

/* One ISA's result against the reference: prints its line, returns the
   worst error / bound. */
static double compare(const nbt_buffers *b, nb_isa isa, const float *got, const float *ref,
                      const double *bound, const double *mag, double terms) {
    int64_t where;
    const double r = nb_check_worst_ratio(got, ref, bound, mag, terms, b->nout, &where);
    const int64_t bad = special_mismatches(got, ref, b->nout);
    printf("  %-8s worst %.3g x bound", nb_isa_name(isa), r);
    if (where >= 0) {
        printf(" at ");
        print_position(b, where);
        printf(" (%.9g vs ref %.9g)", (double)got[where], (double)ref[where]);
    }
    if (bad) printf(", NaN/Inf positions differ at %lld elements", (long long)bad);
    else printf(", NaN/Inf positions agree");
    printf(r > 1 ? "  OUTSIDE THE BOUND\n" : "  ok\n");
    return r;
}

static void perturb(nb_isa isa, float *out, int64_t n) {
    const char *e = getenv("NABLA_TEST_PERTURB");
    if (!e || strcmp(e, nb_isa_name(isa)) != 0 || n == 0) return;
    float *o = &out[n / 2];
    *o = *o + fabsf(*o) * 0x1p-8f + 1.0f;
}

int nbt_diff_problem(const nbt_problem *p, const nbt_cli *o) {
    char desc[256];
    nbt_format(p, desc, sizeof desc);
    nbt_buffers b;
    const int init = nbt_buffers_init(&b, p, o->seed, o->data);
    const size_t n = (size_t)(b.nout > 0 ? b.nout : 1);
    float *ref = malloc(n * sizeof *ref), *got = malloc(n * sizeof *got);
    double *bound = malloc(n * sizeof *bound), *mag = NULL, terms = 0;
    int rc = 0;
    nb_isa_set(NB_ISA_REF);
    if (init || !ref || !got || !bound || nbt_call(&b, ref, 1) != NB_OK || bounds(&b, ref, bound, &mag, &terms)) {
        fprintf(stderr, "nabla: diff: %s: %s\n", desc,
                init || !ref || !got || !bound ? "out of memory" : nb_last_error());
        rc = 2;
        goto done;
    }
    printf("%s (seed %llu)\n", desc, (unsigned long long)o->seed);
    if (o->nisa == 1 && o->isas[0] == NB_ISA_REF) printf("  only the reference: nothing to compare\n");
    for (int i = 0; i < o->nisa; i++) {
        if (o->isas[i] == NB_ISA_REF) continue;
        nb_isa_set(o->isas[i]);
        if (nbt_call(&b, got, 1) != NB_OK) {
            fprintf(stderr, "nabla: diff: %s failed on %s: %s\n", desc, nb_isa_name(o->isas[i]), nb_last_error());
            rc = 2;
            continue;
        }
        perturb(o->isas[i], got, b.nout);
        if (compare(&b, o->isas[i], got, ref, bound, mag, terms) > 1 && rc == 0) rc = 1;
    }
done:
    free(ref); free(got); free(bound); free(mag);
    nbt_buffers_free(&b);
    return rc;
}
