/* Problem descriptors of `nabla bench` / `nabla diff` (see shape_parse.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shape_parse.h"

/* Every size below 2^40: products of a few of them are checked, but a
   single dimension above that is a typo, not a shape. */
#define NBT_MAX_DIM (INT64_C(1) << 40)

static const char *const family_names[NBT_FAMILIES] = {
    "sgemm", "conv2d-fwd", "conv2d-bwd-data", "conv2d-bwd-filter", "reduce", "copy", "unary", "softmax",
};
static const char *const reduce_names[] = {"sum", "mean", "max", "min"};
static const char *const unary_names[] = {"exp", "log", "tanh", "sigmoid", "gelu", "relu"};

const char *nbt_family_name(nbt_family f) {
    return (unsigned)f < NBT_FAMILIES ? family_names[f] : "?";
}

int nbt_fail(char *err, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

/* A decimal integer in [lo, hi] taking the whole of [s, s+n) (n < 0: to the
   end of s). */
static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *v) {
    if (!isdigit((unsigned char)*s)) return false;
    errno = 0;
    char *end;
    const long long x = strtoll(s, &end, 10);
    if (errno || *end || x < lo || x > hi) return false;
    *v = (int64_t)x;
    return true;
}

static int lookup(const char *s, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

/* "AxBxC": 1..NB_MAX_DIMS positive sizes. */
static int parse_dims(const char *s, int64_t *dims, int *ndim, char *err, size_t len) {
    char buf[256];
    if (strlen(s) >= sizeof buf) return nbt_fail(err, len, "shape '%.40s...' is too long", s);
    strcpy(buf, s);
    *ndim = 0;
    for (char *save = NULL, *t = strtok_r(buf, "x", &save); t; t = strtok_r(NULL, "x", &save)) {
        if (*ndim == NB_MAX_DIMS) return nbt_fail(err, len, "shape '%s' has more than %d dims", s, NB_MAX_DIMS);
        if (!parse_int(t, 1, NBT_MAX_DIM, &dims[*ndim]))
            return nbt_fail(err, len, "shape '%s': '%s' is not a size between 1 and 2^40", s, t);
        (*ndim)++;
    }
    if (*ndim == 0 || s[0] == 'x' || s[strlen(s) - 1] == 'x' || strstr(s, "xx"))
        return nbt_fail(err, len, "shape '%s' is not sizes joined by 'x' (e.g. 64x64)", s);
    return 0;
}

/* "0,2,3,1": exactly n distinct integers in [0, n). */
static int parse_list(const char *s, int n, int *out, int *count, bool permutation, char *err, size_t len) {
    char buf[128];
    if (strlen(s) >= sizeof buf) return nbt_fail(err, len, "list '%.40s...' is too long", s);
    strcpy(buf, s);
    uint64_t seen = 0;
    *count = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int64_t v;
        if (!parse_int(t, 0, n - 1, &v)) return nbt_fail(err, len, "'%s' in '%s' is not an axis in [0, %d)", t, s, n);
        if (seen >> v & 1) return nbt_fail(err, len, "axis %s repeats in '%s'", t, s);
        if (*count == n) return nbt_fail(err, len, "'%s' has more than %d axes", s, n);
        seen |= UINT64_C(1) << v;
        out[(*count)++] = (int)v;
    }
    if (*count == 0 || s[strlen(s) - 1] == ',' || strstr(s, ",,"))
        return nbt_fail(err, len, "'%s' is not axes joined by ',' (e.g. 0,1)", s);
    if (permutation && *count != n)
        return nbt_fail(err, len, "permutation '%s' has %d axes, the shape has %d", s, *count, n);
    return 0;
}

/* key=<float>: 1 when t is one, 0 when t is something else, -1 when
   malformed. */
static int parse_float_kv(const char *t, const char *key, float *v, char *err, size_t len) {
    const size_t kl = strlen(key);
    if (strncmp(t, key, kl) != 0 || t[kl] != '=') return 0;
    char *end;
    errno = 0;
    *v = strtof(t + kl + 1, &end);
    if (errno || *end || end == t + kl + 1) return nbt_fail(err, len, "'%s' is not %s=<number>", t, key);
    return 1;
}

static int parse_sgemm(int ntok, char *const *tok, nbt_problem *p, char *err, size_t len) {
    int64_t d[NB_MAX_DIMS];
    int nd = 0, have = 0;
    p->alpha = 1.0f;
    p->beta = 0.0f;
    for (int i = 0; i < ntok; i++) {
        const char *t = tok[i];
        if (strcmp(t, "--trans-a") == 0) { p->trans_a = 1; continue; }
        if (strcmp(t, "--trans-b") == 0) { p->trans_b = 1; continue; }
        int kv = parse_float_kv(t, "alpha", &p->alpha, err, len);
        if (kv == 0) kv = parse_float_kv(t, "beta", &p->beta, err, len);
        if (kv < 0) return -1;
        if (kv > 0) continue;
        if (have++) return nbt_fail(err, len, "sgemm: unexpected '%s' after the shape", t);
        if (parse_dims(t, d, &nd, err, len)) return -1;
        if (nd != 3) return nbt_fail(err, len, "sgemm: shape '%s' is not MxNxK", t);
    }
    if (!have) return nbt_fail(err, len, "sgemm: missing shape MxNxK");
    p->m = d[0]; p->n = d[1]; p->k = d[2];
    return 0;
}

struct conv_key { const char *name; int64_t *a, *b; };

static int parse_conv_desc(const char *s, nb_conv2d_desc *d, char *err, size_t len) {
    *d = (nb_conv2d_desc){0};
    int64_t st = 0, pad = -1, dl = 0;
    const struct conv_key keys[] = {
        {"n", &d->n, NULL}, {"c", &d->c, NULL}, {"h", &d->h, NULL}, {"w", &d->w, NULL},
        {"k", &d->k, NULL}, {"r", &d->r, NULL}, {"s", &d->s, NULL}, {"g", &d->groups, NULL},
        {"p", &pad, NULL}, {"ph", &d->pad_h, NULL}, {"pw", &d->pad_w, NULL},
        {"st", &st, NULL}, {"sth", &d->stride_h, NULL}, {"stw", &d->stride_w, NULL},
        {"dl", &dl, NULL}, {"dlh", &d->dilation_h, NULL}, {"dlw", &d->dilation_w, NULL},
    };
    d->pad_h = d->pad_w = -1;
    uint32_t seen = 0;
    for (const char *c = s; *c;) {
        char key[8], num[24];
        size_t kl = 0, nl = 0;
        while (isalpha((unsigned char)c[kl]) && kl < sizeof key - 1) { key[kl] = c[kl]; kl++; }
        key[kl] = 0;
        c += kl;
        while (isdigit((unsigned char)c[nl]) && nl < sizeof num - 1) { num[nl] = c[nl]; nl++; }
        num[nl] = 0;
        c += nl;
        int i = 0;
        while (i < (int)(sizeof keys / sizeof keys[0]) && strcmp(keys[i].name, key) != 0) i++;
        if (kl == 0 || i == (int)(sizeof keys / sizeof keys[0]))
            return nbt_fail(err, len, "conv descriptor '%s': unknown key '%s' "
                        "(keys: n c h w k r s g p ph pw st sth stw dl dlh dlw)", s, key);
        if (seen >> i & 1) return nbt_fail(err, len, "conv descriptor '%s': key '%s' given twice", s, key);
        seen |= 1u << i;
        const int64_t lo = (key[0] == 'p') ? 0 : 1;
        if (!parse_int(num, lo, NBT_MAX_DIM, keys[i].a))
            return nbt_fail(err, len, "conv descriptor '%s': key '%s' needs a number >= %lld", s, key, (long long)lo);
    }
    for (int i = 1; i <= 5; i++)   /* c h w k r: h and r stand for w and s */
        if (!(seen >> i & 1) && i != 3)
            return nbt_fail(err, len, "conv descriptor '%s': key '%s' is missing", s, keys[i].name);
    if (!d->n) d->n = 1;
    if (!d->w) d->w = d->h;
    if (!d->s) d->s = d->r;
    if (!d->groups) d->groups = 1;
    if (pad >= 0 && (d->pad_h >= 0 || d->pad_w >= 0))
        return nbt_fail(err, len, "conv descriptor '%s': 'p' with 'ph'/'pw'", s);
    if (st && (d->stride_h || d->stride_w)) return nbt_fail(err, len, "conv descriptor '%s': 'st' with 'sth'/'stw'", s);
    if (dl && (d->dilation_h || d->dilation_w)) return nbt_fail(err, len, "conv descriptor '%s': 'dl' with 'dlh'/'dlw'", s);
    if (d->pad_h < 0) d->pad_h = pad > 0 ? pad : 0;
    if (d->pad_w < 0) d->pad_w = pad > 0 ? pad : 0;
    if (!d->stride_h) d->stride_h = st ? st : 1;
    if (!d->stride_w) d->stride_w = st ? st : 1;
    if (!d->dilation_h) d->dilation_h = dl ? dl : 1;
    if (!d->dilation_w) d->dilation_w = dl ? dl : 1;
    int64_t P, Q;
    if (nb_conv2d_out_shape(d, &P, &Q) != NB_OK)
        return nbt_fail(err, len, "conv descriptor '%s': %s", s, nb_last_error());
    return 0;
}

static int parse_named(const char *fam, int ntok, char *const *tok, const char *const *names, int nnames,
                       int *op, char *err, size_t len) {
    if (ntok < 2) return nbt_fail(err, len, "%s: expected an operation and a shape", fam);
    *op = lookup(tok[0], names, nnames);
    if (*op < 0) return nbt_fail(err, len, "%s: unknown operation '%s'", fam, tok[0]);
    return 0;
}

static int parse_reduce(int ntok, char *const *tok, nbt_problem *p, char *err, size_t len) {
    int op = 0, axes[NB_MAX_DIMS], na;
    if (parse_named("reduce", ntok, tok, reduce_names, 4, &op, err, len)) return -1;
    p->rop = (nb_reduce_op)op;
    if (parse_dims(tok[1], p->shape, &p->ndim, err, len)) return -1;
    if (ntok != 3 || strncmp(tok[2], "axes=", 5) != 0)
        return nbt_fail(err, len, "reduce: expected 'axes=A,B,...' after the shape");
    if (parse_list(tok[2] + 5, p->ndim, axes, &na, false, err, len)) return -1;
    for (int i = 0; i < na; i++) p->axes |= UINT64_C(1) << axes[i];
    return 0;
}

static int parse_copy(int ntok, char *const *tok, nbt_problem *p, char *err, size_t len) {
    int op = 0, na;
    static const char *const names[] = {"permute"};
    if (parse_named("copy", ntok, tok, names, 1, &op, err, len)) return -1;
    if (parse_dims(tok[1], p->shape, &p->ndim, err, len)) return -1;
    if (ntok != 3) return nbt_fail(err, len, "copy: expected a permutation (e.g. 0,2,3,1) after the shape");
    return parse_list(tok[2], p->ndim, p->perm, &na, true, err, len);
}

static int parse_unary(int ntok, char *const *tok, nbt_problem *p, char *err, size_t len) {
    int op = 0;
    if (parse_named("unary", ntok, tok, unary_names, 6, &op, err, len)) return -1;
    p->uop = (nb_unary_op)op;
    if (ntok != 2 || !parse_int(tok[1], 1, NBT_MAX_DIM, &p->count))
        return nbt_fail(err, len, "unary: '%s' is not an element count between 1 and 2^40", tok[1]);
    return 0;
}

static int parse_softmax(int ntok, char *const *tok, nbt_problem *p, char *err, size_t len) {
    int op = 0, nd;
    static const char *const names[] = {"softmax", "logsoftmax"};
    int64_t d[NB_MAX_DIMS];
    if (parse_named("softmax", ntok, tok, names, 2, &op, err, len)) return -1;
    p->log = op;
    if (parse_dims(tok[1], d, &nd, err, len)) return -1;
    if (nd != 2 || ntok != 2) return nbt_fail(err, len, "softmax: shape '%s' is not ROWSxCOLS", tok[1]);
    p->rows = d[0]; p->cols = d[1];
    return 0;
}

static bool mul_ok(int64_t a, int64_t b, int64_t *r) {
    return !__builtin_mul_overflow(a, b, r);
}

/* Element counts in double: exact enough to refuse overflow and size. */
static double prod(const int64_t *d, int n) {
    double r = 1;
    for (int i = 0; i < n; i++) r *= (double)d[i];
    return r;
}

static double conv_out(const nb_conv2d_desc *d) {
    int64_t P = 0, Q = 0;
    nb_conv2d_out_shape(d, &P, &Q);
    return (double)d->n * (double)d->k * (double)P * (double)Q;
}

/* Elements of inputs and output as doubles (no overflow possible). */
static void sizes_d(const nbt_problem *p, double in[3], double *out) {
    const nb_conv2d_desc *c = &p->conv;
    const double x = (double)c->n * c->c * c->h * c->w;
    const double w = c->groups ? (double)c->k * (double)(c->c / c->groups) * c->r * c->s : 0;
    in[0] = in[1] = in[2] = 0;
    switch (p->family) {
    case NBT_SGEMM: in[0] = (double)p->m * p->k; in[1] = (double)p->k * p->n; *out = (double)p->m * p->n; break;
    case NBT_CONV_FWD: in[0] = x; in[1] = w; in[2] = (double)c->k; *out = conv_out(c); break;
    case NBT_CONV_BWD_DATA: in[0] = conv_out(c); in[1] = w; *out = x; break;
    case NBT_CONV_BWD_FILTER: in[0] = x; in[1] = conv_out(c); *out = w + (double)c->k; break;
    case NBT_REDUCE: {
        double o = 1;
        for (int i = 0; i < p->ndim; i++) o *= (p->axes >> i & 1) ? 1.0 : (double)p->shape[i];
        in[0] = prod(p->shape, p->ndim); *out = o; break;
    }
    case NBT_COPY: in[0] = *out = prod(p->shape, p->ndim); break;
    case NBT_UNARY: in[0] = *out = (double)p->count; break;
    default: in[0] = *out = (double)p->rows * p->cols; break;
    }
}

void nbt_sizes(const nbt_problem *p, int64_t in[3], int64_t *out) {
    double din[3], dout;
    sizes_d(p, din, &dout);
    for (int i = 0; i < 3; i++) in[i] = (int64_t)din[i];
    *out = (int64_t)dout;
}

static int check_memory(const nbt_problem *p, uint64_t limit, int copies, char *err, size_t len) {
    double in[3], out;
    sizes_d(p, in, &out);
    /* inputs, the outputs kept, and the bound's float64 work arrays */
    const double bytes = 4.0 * (in[0] + in[1] + in[2]) + (4.0 * copies + 24.0) * out;
    int64_t check;
    if (bytes >= 0x1p62 || !mul_ok((int64_t)out, 24 + 4 * (int64_t)copies, &check))
        return nbt_fail(err, len, "%s: the buffers' byte count overflows", nbt_family_name(p->family));
    if (bytes > (double)limit)
        return nbt_fail(err, len, "%s: the buffers need %.3g GB, more than the %.3g GB of memory available here",
                    nbt_family_name(p->family), bytes / 1e9, (double)limit / 1e9);
    return 0;
}

int nbt_parse(const char *family, int ntok, char *const *tok, uint64_t mem_limit, int copies,
              nbt_problem *p, char *err, size_t errlen) {
    *p = (nbt_problem){0};
    const int f = lookup(family, family_names, NBT_FAMILIES);
    if (f < 0)
        return nbt_fail(err, errlen, "unknown family '%s' (sgemm, conv2d-fwd, conv2d-bwd-data, "
                    "conv2d-bwd-filter, reduce, copy, unary, softmax)", family);
    p->family = (nbt_family)f;
    int r;
    switch (p->family) {
    case NBT_SGEMM: r = parse_sgemm(ntok, tok, p, err, errlen); break;
    case NBT_CONV_FWD: case NBT_CONV_BWD_DATA: case NBT_CONV_BWD_FILTER:
        r = ntok == 1 ? parse_conv_desc(tok[0], &p->conv, err, errlen)
                      : nbt_fail(err, errlen, "%s: expected one descriptor like n8c128h28w28k128r3s3p1", family);
        break;
    case NBT_REDUCE: r = parse_reduce(ntok, tok, p, err, errlen); break;
    case NBT_COPY: r = parse_copy(ntok, tok, p, err, errlen); break;
    case NBT_UNARY: r = parse_unary(ntok, tok, p, err, errlen); break;
    default: r = parse_softmax(ntok, tok, p, err, errlen); break;
    }
    return r ? r : check_memory(p, mem_limit, copies, err, errlen);
}

static int put_dims(char *buf, size_t len, const int64_t *d, int n) {
    int k = 0;
    for (int i = 0; i < n && (size_t)k < len; i++)
        k += snprintf(buf + k, len - (size_t)k, "%s%lld", i ? "x" : "", (long long)d[i]);
    return k;
}

void nbt_format(const nbt_problem *p, char *buf, size_t len) {
    const nb_conv2d_desc *c = &p->conv;
    char dims[200] = "", list[64] = "";
    int k = 0;
    put_dims(dims, sizeof dims, p->shape, p->ndim);
    for (int i = 0; i < p->ndim; i++)
        if (p->family == NBT_COPY || p->axes >> i & 1)
            k += snprintf(list + k, sizeof list - (size_t)k, "%s%d", k ? "," : "",
                          p->family == NBT_COPY ? p->perm[i] : i);
    switch (p->family) {
    case NBT_SGEMM:
        snprintf(buf, len, "sgemm %lldx%lldx%lld%s%s alpha=%.9g beta=%.9g", (long long)p->m, (long long)p->n,
                 (long long)p->k, p->trans_a ? " --trans-a" : "", p->trans_b ? " --trans-b" : "",
                 (double)p->alpha, (double)p->beta);
        break;
    case NBT_CONV_FWD: case NBT_CONV_BWD_DATA: case NBT_CONV_BWD_FILTER:
        snprintf(buf, len, "%s n%lldc%lldh%lldw%lldk%lldr%llds%lldph%lldpw%lldsth%lldstw%llddlh%llddlw%lldg%lld",
                 nbt_family_name(p->family), (long long)c->n, (long long)c->c, (long long)c->h, (long long)c->w,
                 (long long)c->k, (long long)c->r, (long long)c->s, (long long)c->pad_h, (long long)c->pad_w,
                 (long long)c->stride_h, (long long)c->stride_w, (long long)c->dilation_h,
                 (long long)c->dilation_w, (long long)c->groups);
        break;
    case NBT_REDUCE: snprintf(buf, len, "reduce %s %s axes=%s", reduce_names[p->rop], dims, list); break;
    case NBT_COPY: snprintf(buf, len, "copy permute %s %s", dims, list); break;
    case NBT_UNARY: snprintf(buf, len, "unary %s %lld", unary_names[p->uop], (long long)p->count); break;
    default:
        snprintf(buf, len, "softmax %s %lldx%lld", p->log ? "logsoftmax" : "softmax", (long long)p->rows,
                 (long long)p->cols);
        break;
    }
}

uint64_t nbt_memory_limit(void) {
    /* MemAvailable (Linux: free memory plus what the page cache would give
       back), else the physical memory */
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    if (f) fclose(f);
    if (kb) return (uint64_t)kb * 1024;
    const long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : UINT64_C(1) << 34;
}
