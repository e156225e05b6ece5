/* Buffers and calls of `nabla bench` / `nabla diff` problems. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "problem_run.h"

static uint64_t rng_state;

static uint64_t next(void) {
    rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static double unit(void) { return (double)(next() >> 11) * 0x1p-53; }

static float normal(void) {
    const double a = unit() + 0x1p-60, b = unit();
    return (float)(sqrt(-2 * log(a)) * cos(6.283185307179586 * b));
}

static float sample(nbt_data d) {
    /* Large but with products below FLT_MAX: an overflowing product is the
       documented exception of the GEMM and conv bounds, not a special. */
    static const float specials[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, FLT_MIN / 4, 1e15f, -1e15f};
    switch (d) {
    case NBT_DATA_UNIFORM: return (float)(2 * unit() - 1);
    case NBT_DATA_INTEGERS: return (float)((int)(next() % 17) - 8);
    case NBT_DATA_SPECIALS:
        if (next() % 64 == 0) return specials[next() % 8];
        return normal();
    default: return normal();
    }
}

int nbt_data_parse(const char *s, nbt_data *d) {
    static const char *const names[] = {"normal", "uniform", "integers", "specials"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) { *d = (nbt_data)i; return 0; }
    return -1;
}

void nbt_out_dims(const nbt_problem *p, int *nd, int64_t *d) {
    const nb_conv2d_desc *c = &p->conv;
    int64_t P = 0, Q = 0;
    if (p->family >= NBT_CONV_FWD && p->family <= NBT_CONV_BWD_FILTER) nb_conv2d_out_shape(c, &P, &Q);
    switch (p->family) {
    case NBT_SGEMM: *nd = 2; d[0] = p->m; d[1] = p->n; break;
    case NBT_CONV_FWD: *nd = 4; d[0] = c->n; d[1] = c->k; d[2] = P; d[3] = Q; break;
    case NBT_CONV_BWD_DATA: *nd = 4; d[0] = c->n; d[1] = c->c; d[2] = c->h; d[3] = c->w; break;
    case NBT_CONV_BWD_FILTER: *nd = 4; d[0] = c->k; d[1] = c->c / c->groups; d[2] = c->r; d[3] = c->s; break;
    case NBT_REDUCE:
        *nd = p->ndim;
        for (int i = 0; i < p->ndim; i++) d[i] = (p->axes >> i & 1) ? 1 : p->shape[i];
        break;
    case NBT_COPY:
        *nd = p->ndim;
        for (int i = 0; i < p->ndim; i++) d[i] = p->shape[p->perm[i]];
        break;
    case NBT_UNARY: *nd = 1; d[0] = p->count; break;
    default: *nd = 2; d[0] = p->rows; d[1] = p->cols; break;
    }
}

static float *filled(int64_t n, nbt_data data) {
    float *q = malloc((size_t)(n > 0 ? n : 1) * sizeof *q);
    if (q) for (int64_t i = 0; i < n; i++) q[i] = sample(data);
    return q;
}

int nbt_buffers_init(nbt_buffers *b, const nbt_problem *p, uint64_t seed, nbt_data data) {
    *b = (nbt_buffers){.p = *p};
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
    if (!rng_state) rng_state = 1;
    nbt_sizes(p, b->nin, &b->nout);
    nbt_out_dims(p, &b->odim, b->oshape);
    for (int i = 0; i < 3; i++)
        if (b->nin[i] && !(b->in[i] = filled(b->nin[i], data))) goto oom;
    if (p->family == NBT_SGEMM && !(b->c0 = filled(b->nout, data))) goto oom;
    return 0;
oom:
    nbt_buffers_free(b);
    return -1;
}

void nbt_buffers_free(nbt_buffers *b) {
    for (int i = 0; i < 3; i++) free(b->in[i]);
    free(b->c0);
    *b = (nbt_buffers){0};
}

static void contiguous(int n, const int64_t *shape, int64_t *st) {
    int64_t s = 1;
    for (int i = n - 1; i >= 0; i--) { st[i] = s; s *= shape[i]; }
}

nb_status nbt_call(const nbt_buffers *b, float *out, int reset) {
    const nbt_problem *p = &b->p;
    const nb_conv2d_desc *c = &p->conv;
    int64_t xs[NB_MAX_DIMS], ys[NB_MAX_DIMS], ps[NB_MAX_DIMS];
    switch (p->family) {
    case NBT_SGEMM:
        if (reset) memcpy(out, b->c0, (size_t)b->nout * sizeof *out);
        return nb_sgemm(p->trans_a, p->trans_b, p->m, p->n, p->k, p->alpha, b->in[0], p->trans_a ? p->m : p->k,
                        b->in[1], p->trans_b ? p->k : p->n, p->beta, out, p->n);
    case NBT_CONV_FWD: return nb_sconv2d_forward(c, b->in[0], b->in[1], b->in[2], out);
    case NBT_CONV_BWD_DATA: return nb_sconv2d_backward_data(c, b->in[0], b->in[1], out);
    case NBT_CONV_BWD_FILTER:
        return nb_sconv2d_backward_filter(c, b->in[0], b->in[1], out, out + (b->nout - c->k));
    case NBT_REDUCE:
        contiguous(p->ndim, p->shape, xs);
        contiguous(b->odim, b->oshape, ys);
        return nb_sreduce(p->rop, p->ndim, p->shape, b->in[0], xs, p->axes, out, ys);
    case NBT_COPY:
        contiguous(p->ndim, p->shape, xs);
        for (int i = 0; i < p->ndim; i++) ps[i] = xs[p->perm[i]];
        contiguous(b->odim, b->oshape, ys);
        return nb_copy_strided(sizeof(float), p->ndim, b->oshape, b->in[0], ps, out, ys);
    case NBT_UNARY: return nb_sunary(p->uop, p->count, b->in[0], out);
    default: return nb_ssoftmax(p->log, p->rows, p->cols, b->in[0], p->cols, out, p->cols);
    }
}

double nbt_flops(const nbt_problem *p) {
    const nb_conv2d_desc *c = &p->conv;
    int64_t P = 0, Q = 0;
    switch (p->family) {
    case NBT_SGEMM: return 2.0 * (double)p->m * (double)p->n * (double)p->k;
    case NBT_CONV_FWD: case NBT_CONV_BWD_DATA: case NBT_CONV_BWD_FILTER:
        nb_conv2d_out_shape(c, &P, &Q);
        return 2.0 * (double)c->n * (double)c->k * (double)P * (double)Q * (double)(c->c / c->groups) *
               (double)c->r * (double)c->s;
    default: return 0;
    }
}

double nbt_bytes(const nbt_problem *p) {
    int64_t in[3], out;
    nbt_sizes(p, in, &out);
    return 4.0 * ((double)in[0] + (double)in[1] + (double)in[2] + (double)out);
}
