/* `--replay LOG`: every distinct float32 call of a NABLA_VERBOSE=1 log, as
 * a problem descriptor (tools/shape_parse.h). The log keeps leading
 * dimensions and strides; the replay runs each call on dense buffers of the
 * same shapes (a copy's source strides become the permutation they encode,
 * or a plain copy when they encode none). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The value of " key=" in line, up to the next space. */
static bool kv(const char *line, const char *key, char *buf, size_t len) {
    char pat[32];
    snprintf(pat, sizeof pat, " %s=", key);
    const char *v = strstr(line, pat);
    if (!v) return false;
    v += strlen(pat);
    size_t n = strcspn(v, " \n");
    if (n >= len) n = len - 1;
    memcpy(buf, v, n);
    buf[n] = 0;
    return true;
}

/* "AxB" into a and b. */
static bool pair(const char *line, const char *key, long long *a, long long *b) {
    char v[64];
    return kv(line, key, v, sizeof v) && sscanf(v, "%lldx%lld", a, b) == 2;
}

static int sgemm_desc(const char *line, char *d, size_t len) {
    char m[32], n[32], k[32], al[32], be[32], tr[3] = "";
    const char *isa = strstr(line, " isa=");
    if (!isa || sscanf(isa, " isa=%*s %2s", tr) != 1 || !kv(line, "M", m, sizeof m) || !kv(line, "N", n, sizeof n) ||
        !kv(line, "K", k, sizeof k) || !kv(line, "alpha", al, sizeof al) || !kv(line, "beta", be, sizeof be))
        return -1;
    snprintf(d, len, "sgemm %sx%sx%s%s%s alpha=%s beta=%s", m, n, k, tr[0] == 'T' ? " --trans-a" : "",
             tr[1] == 'T' ? " --trans-b" : "", al, be);
    return 1;
}

static int conv_desc(const char *line, const char *family, char *d, size_t len) {
    static const char *const keys[] = {"n", "c", "h", "w", "k", "r", "s", "groups"};
    char v[8][32];
    long long sh, sw, ph, pw, dh, dw;
    for (int i = 0; i < 8; i++)
        if (!kv(line, keys[i], v[i], sizeof v[i])) return -1;
    if (!pair(line, "stride", &sh, &sw) || !pair(line, "pad", &ph, &pw) || !pair(line, "dilation", &dh, &dw))
        return -1;
    snprintf(d, len, "%s n%sc%sh%sw%sk%sr%ss%sph%lldpw%lldsth%lldstw%llddlh%llddlw%lldg%s", family, v[0], v[1],
             v[2], v[3], v[4], v[5], v[6], ph, pw, sh, sw, dh, dw, v[7]);
    return 1;
}

static int reduce_desc(const char *line, char *d, size_t len) {
    static const char *const ops[] = {"sum", "mean", "max", "min"};
    char op[8], shape[200], mask[32], axes[64] = "";
    if (!kv(line, "op", op, sizeof op) || !kv(line, "shape", shape, sizeof shape) ||
        !kv(line, "mask", mask, sizeof mask))
        return -1;
    const int o = atoi(op);
    const unsigned long long m = strtoull(mask, NULL, 16);
    if (o < 0 || o > 3) return -1;
    if (m == 0) return 0;   /* nothing reduced: a copy */
    for (int i = 0, k = 0; i < 64; i++)
        if (m >> i & 1) k += snprintf(axes + k, sizeof axes - (size_t)k, "%s%d", k ? "," : "", i);
    snprintf(d, len, "reduce %s %s axes=%s", ops[o], shape, axes);
    return 1;
}

/* The permutation a copy's source strides encode over the iteration
   shape (the source dense), else the identity. */
static void copy_perm(int n, const long long *shape, const long long *ss, int *perm) {
    int order[NB_MAX_DIMS];
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++)   /* by source stride, largest first (stable) */
        for (int j = i; j > 0 && ss[order[j]] > ss[order[j - 1]]; j--) {
            const int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
        }
    long long st = 1;
    bool dense = true;
    for (int j = n - 1; j >= 0; j--) {
        if (shape[order[j]] > 1 && ss[order[j]] != st) dense = false;
        st *= shape[order[j]];
    }
    for (int j = 0; j < n; j++) perm[order[j]] = dense ? j : order[j];
    if (!dense) for (int i = 0; i < n; i++) perm[i] = i;
}

static int copy_desc(const char *line, char *d, size_t len) {
    char elem[8], shape[200], ss[200];
    long long sh[NB_MAX_DIMS], st[NB_MAX_DIMS], src[NB_MAX_DIMS];
    int n = 0, m = 0, perm[NB_MAX_DIMS];
    if (!kv(line, "elem", elem, sizeof elem) || !kv(line, "shape", shape, sizeof shape) ||
        !kv(line, "src_strides", ss, sizeof ss))
        return -1;
    if (atoi(elem) != 4) return 0;   /* float32 copies only */
    for (char *p = shape; n < NB_MAX_DIMS && *p; n++) { sh[n] = strtoll(p, &p, 10); if (*p == 'x') p++; }
    for (char *p = ss; m < NB_MAX_DIMS && *p; m++) { st[m] = strtoll(p, &p, 10); if (*p == ',') p++; }
    if (n != m || n == 0) return -1;
    copy_perm(n, sh, st, perm);
    /* the source shape: dim perm[i] of the source is dim i of the copy */
    for (int i = 0; i < n; i++) src[perm[i]] = sh[i];
    int k = snprintf(d, len, "copy permute ");
    for (int i = 0; i < n; i++) k += snprintf(d + k, len - (size_t)k, "%s%lld", i ? "x" : "", src[i]);
    for (int i = 0; i < n; i++) k += snprintf(d + k, len - (size_t)k, "%s%d", i ? "," : " ", perm[i]);
    return 1;
}

/* The descriptor of one log line: 1, 0 (not a replayable float32 call),
   -1 (a call line with a field missing). */
static int line_desc(const char *line, char *d, size_t len) {
    char fn[40], v[2][32];
    const char *p = strstr(line, "nabla: nb_");
    if (!p || sscanf(p, "nabla: %39s", fn) != 1 || !strstr(p, " isa=")) return 0;
    if (strcmp(fn, "nb_sgemm") == 0) return sgemm_desc(p, d, len);
    if (strcmp(fn, "nb_sconv2d_forward") == 0) return conv_desc(p, "conv2d-fwd", d, len);
    if (strcmp(fn, "nb_sconv2d_backward_data") == 0) return conv_desc(p, "conv2d-bwd-data", d, len);
    if (strcmp(fn, "nb_sconv2d_backward_filter") == 0) return conv_desc(p, "conv2d-bwd-filter", d, len);
    if (strcmp(fn, "nb_sreduce") == 0) return reduce_desc(p, d, len);
    if (strcmp(fn, "nb_copy_strided") == 0) return copy_desc(p, d, len);
    if (strcmp(fn, "nb_sunary") == 0) {
        if (!kv(p, "op", v[0], sizeof v[0]) || !kv(p, "n", v[1], sizeof v[1])) return -1;
        snprintf(d, len, "unary %s %s", v[0], v[1]);
        return 1;
    }
    if (strcmp(fn, "nb_ssoftmax") == 0) {
        long long r, c;
        if (!kv(p, "log", v[0], sizeof v[0]) || !kv(p, "rows", v[1], sizeof v[1])) return -1;
        r = atoll(v[1]);
        if (!kv(p, "cols", v[1], sizeof v[1])) return -1;
        c = atoll(v[1]);
        snprintf(d, len, "softmax %s %lldx%lld", atoi(v[0]) ? "logsoftmax" : "softmax", r, c);
        return 1;
    }
    return 0;
}

/* Distinct descriptors seen so far. */
typedef struct { char **s; int n, cap; } seen_set;

static int seen_add(seen_set *z, const char *s) {
    for (int i = 0; i < z->n; i++)
        if (strcmp(z->s[i], s) == 0) return 0;
    if (z->n == z->cap) {
        char **q = realloc(z->s, (size_t)(z->cap ? 2 * z->cap : 16) * sizeof *q);
        if (!q) return -1;
        z->s = q;
        z->cap = z->cap ? 2 * z->cap : 16;
    }
    if (!(z->s[z->n] = malloc(strlen(s) + 1))) return -1;
    strcpy(z->s[z->n++], s);
    return 1;
}

static int parse_desc(char *desc, int copies, nbt_problem *p, char *err, size_t len) {
    char *tok[NBT_MAX_TOKENS];
    int n = 0;
    for (char *save = NULL, *t = strtok_r(desc, " ", &save); t && n < NBT_MAX_TOKENS; t = strtok_r(NULL, " ", &save))
        tok[n++] = t;
    return n ? nbt_parse(tok[0], n - 1, tok + 1, nbt_memory_limit(), copies, p, err, len) : -1;
}

int nbt_replay(const char *path, int copies, nbt_replay_fn fn, void *ctx, char *err, size_t len) {
    FILE *f = fopen(path, "r");
    if (!f) return nbt_fail(err, len, "--replay: cannot read '%s'", path);
    char line[2048], desc[512], canon[512], why[256];
    seen_set z = {0};
    int lineno = 0, rc = 0;
    while (rc >= 0 && fgets(line, sizeof line, f)) {
        lineno++;
        const int k = line_desc(line, desc, sizeof desc);
        nbt_problem p;
        if (k == 0) continue;
        if (k < 0) { rc = nbt_fail(err, len, "%s:%d: a call line without all its arguments", path, lineno); break; }
        if (parse_desc(desc, copies, &p, why, sizeof why)) {
            rc = nbt_fail(err, len, "%s:%d: %s", path, lineno, why);
            break;
        }
        nbt_format(&p, canon, sizeof canon);
        const int added = seen_add(&z, canon);
        if (added < 0) rc = nbt_fail(err, len, "--replay: out of memory");
        else if (added) { fn(&p, ctx); rc++; }
    }
    fclose(f);
    for (int i = 0; i < z.n; i++) free(z.s[i]);
    free(z.s);
    return rc;
}
