/* Overlap between strided views (issue 16, row 3): nb_copy_strided's src and
 * dst, nb_sreduce's and nb_dreduce's x and y, for every pair of view kinds
 * (dense, transposed, with holes, reversed, broadcast, overlapping windows)
 * at every start offset around each other.
 *
 * The promise (kernels.h, nd_iter.h): a call is refused with NB_ERR_ALIAS
 * when the overlap is "provable": the byte ranges intersect and either view
 * is dense (its element offsets are every offset between its lowest and
 * highest one) or both start at the same address. A copy onto the identical
 * view is a no-op. Otherwise the call is accepted, and correct whenever the
 * two views share no byte; two views with holes that do share one may be
 * accepted (the result is then unspecified) or refused. (Copies of that
 * last kind are not run: see copy_case.)
 *
 * The oracle is brute force: the byte sets of both views are marked in
 * bitmaps, density is "the set has no hole", and an accepted call is
 * checked byte by byte against a snapshot of the buffer (dst/y written
 * exactly, every other byte unchanged); a refused one must leave every
 * byte unchanged.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"

enum { BUFB = 1536, ORIGIN = 640 };   /* bytes; the first view starts at ORIGIN */

typedef struct {
    const char *name;
    int64_t st[2];   /* strides of a 3 x 4 view (elements) */
} kind;

/* Views of shape 3 x 4. Broadcast and window kinds may only be read. */
static const kind dense_kinds[] = {
    {"dense", {4, 1}}, {"dense transposed", {1, 3}}, {"holes (padded rows)", {6, 1}},
    {"holes (every other)", {8, 2}}, {"reversed", {-4, -1}}, {"reversed with holes", {-8, 2}},
};
static const kind read_kinds[] = {
    {"broadcast rows", {0, 1}}, {"broadcast with holes", {0, 2}}, {"broadcast columns", {1, 0}},
    {"window", {1, 1}}, {"window 2", {2, 1}}, {"window with holes", {3, 2}},
};
#define NDENSE (int)(sizeof dense_kinds / sizeof dense_kinds[0])
#define NREAD (int)(sizeof read_kinds / sizeof read_kinds[0])

static const kind *kind_at(int i) { return i < NDENSE ? &dense_kinds[i] : &read_kinds[i - NDENSE]; }

typedef struct {
    int64_t base;     /* byte offset of element [0, 0] in the buffer */
    int ndim;
    int64_t shape[2], st[2];
    int64_t es;
} view;

/* Marks the view's bytes; returns its lowest and highest byte and whether
   its element offsets have no hole. */
static void mark(const view *v, unsigned char *map, int64_t *blo, int64_t *bhi, int *dense) {
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    unsigned char seen[256] = {0};   /* element offsets relative to lo: small views */
    int64_t offs[64];
    int n = 0;
    for (int64_t i = 0; i < v->shape[0]; i++)
        for (int64_t j = 0; j < (v->ndim > 1 ? v->shape[1] : 1); j++) {
            const int64_t o = i * v->st[0] + (v->ndim > 1 ? j * v->st[1] : 0);
            offs[n++] = o;
            if (o < lo) lo = o;
            if (o > hi) hi = o;
        }
    assert_true(hi - lo < 256);
    for (int k = 0; k < n; k++) {
        seen[offs[k] - lo] = 1;
        for (int64_t b = 0; b < v->es; b++) {
            const int64_t at = v->base + offs[k] * v->es + b;
            assert_true(at >= 0 && at < BUFB);
            map[at] = 1;
        }
    }
    *dense = 1;
    for (int64_t o = 0; o <= hi - lo; o++) if (!seen[o]) *dense = 0;
    *blo = v->base + lo * v->es;
    *bhi = v->base + (hi + 1) * v->es - 1;
}

/* refused_disjoint: refused by the rule although no byte is shared (a dense
   view inside the range of one with holes). */
typedef struct { int64_t refused, accepted, either, refused_disjoint; } tally;

static int shared;   /* the last expected() call found a shared byte */

/* What the promise says about (read view r, written view w). */
enum { MUST_REFUSE, MUST_ACCEPT, EITHER };
static int expected(const view *r, const view *w, unsigned char *rmap, unsigned char *wmap) {
    int64_t rlo, rhi, wlo, whi;
    int rd, wd;
    memset(rmap, 0, BUFB); memset(wmap, 0, BUFB);
    mark(r, rmap, &rlo, &rhi, &rd);
    mark(w, wmap, &wlo, &whi, &wd);
    int share = 0;
    for (int b = 0; b < BUFB; b++) share |= rmap[b] & wmap[b];
    shared = share;
    const int ranges = rlo <= whi && wlo <= rhi;
    if (ranges && (rd || wd || r->base == w->base)) return MUST_REFUSE;
    return share ? EITHER : MUST_ACCEPT;
}

static _Alignas(64) unsigned char buf[BUFB];
static unsigned char snap[BUFB], rmap[BUFB], wmap[BUFB];

static void fill_buffer(void) {
    for (int i = 0; i < BUFB; i++) buf[i] = (unsigned char)(nbt_next() >> 56);
    memcpy(snap, buf, BUFB);
}

static void describe(char *out, size_t n, const char *what, const kind *rk, const kind *wk,
                     const view *r, const view *w) {
    snprintf(out, n, "%s: %s (base %lld) -> %s (base %lld), elem %lld", what, rk->name,
             (long long)r->base, wk->name, (long long)w->base, (long long)r->es);
}

/* ---- nb_copy_strided ---- */

static void copy_case(const kind *sk, const kind *dk, int64_t es, int64_t shift, tally *t) {
    view s = {ORIGIN, 2, {3, 4}, {sk->st[0], sk->st[1]}, es};
    view d = {ORIGIN + shift, 2, {3, 4}, {dk->st[0], dk->st[1]}, es};
    const int identical = shift == 0 && sk == dk;
    const int want = identical ? MUST_ACCEPT : expected(&s, &d, rmap, wmap);
    if (want == EITHER) {
        /* Views with holes sharing bytes, not a provable overlap: an
           accepted call copies element bytes with memcpy over overlapping
           ranges (undefined; AddressSanitizer stops there) and its result
           is unspecified, so there is nothing to check. Counted only. */
        t->either++;
        return;
    }
    fill_buffer();
    const nb_status st = nb_copy_strided((size_t)es, 2, s.shape, buf + s.base, s.st, buf + d.base, d.st);
    char who[200];
    describe(who, sizeof who, "nb_copy_strided", sk, dk, &s, &d);
    if (st != NB_OK && st != NB_ERR_ALIAS) fail_msg("%s: status %d", who, (int)st);
    if (want == MUST_REFUSE && st != NB_ERR_ALIAS)
        fail_msg("%s: a provable overlap was accepted (status %d)", who, (int)st);
    if (want == MUST_ACCEPT && st != NB_OK)
        fail_msg("%s: refused (%s) but the views share no byte and are not a provable "
                 "overlap", who, nb_last_error());
    if (st != NB_OK || identical) {
        if (memcmp(buf, snap, BUFB) != 0) fail_msg("%s: %s call wrote memory", who,
                                                   identical ? "a no-op" : "a refused");
        t->refused += st != NB_OK;
        t->refused_disjoint += st != NB_OK && !shared;
        t->accepted += st == NB_OK;
        return;
    }
    t->accepted++;
    for (int64_t i = 0; i < 3; i++)
        for (int64_t j = 0; j < 4; j++) {
            const int64_t so = s.base + (i * s.st[0] + j * s.st[1]) * es;
            const int64_t dof = d.base + (i * d.st[0] + j * d.st[1]) * es;
            if (memcmp(buf + dof, snap + so, (size_t)es) != 0)
                fail_msg("%s: element [%lld, %lld] not copied", who, (long long)i, (long long)j);
        }
    for (int b = 0; b < BUFB; b++)
        if (!wmap[b] && buf[b] != snap[b]) fail_msg("%s: byte %d outside dst written", who, b);
}

/* The issue's input: dense buf[0..4) onto buf + 1 with stride 2. */
static void issue16_copy_from_dense_onto_holes_inside_it_is_an_alias(void **state) {
    (void)state;
    float b[16];
    for (int i = 0; i < 16; i++) b[i] = (float)i;
    const int64_t sh[1] = {4}, s1[1] = {1}, s2[1] = {2};
    assert_int_equal(nb_copy_strided(4, 1, sh, b, s1, b + 1, s2), NB_ERR_ALIAS);
    for (int i = 0; i < 16; i++) assert_true(b[i] == (float)i);
    /* ...and the same the other way round: holes onto a dense range. */
    assert_int_equal(nb_copy_strided(4, 1, sh, b + 1, s2, b, s1), NB_ERR_ALIAS);
    for (int i = 0; i < 16; i++) assert_true(b[i] == (float)i);
}

/* Every readable kind onto every writable kind, the dst start moved byte by
   byte (half an element for 8-byte elements) through and past the src. */
static void copy_every_pair_of_view_kinds_at_every_offset(void **state) {
    (void)state;
    static const int64_t sizes[] = {4, 8, 2};
    tally t = {0, 0, 0, 0};
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
        const int64_t es = sizes[z], step = es == 8 ? 4 : 1, reach = 30 * es;
        for (int a = 0; a < NDENSE + NREAD; a++)
            for (int b = 0; b < NDENSE; b++)
                for (int64_t sh = -reach; sh <= reach; sh += step)
                    copy_case(kind_at(a), &dense_kinds[b], es, sh, &t);
    }
    print_message("# %lld cases run: %lld refused (%lld sharing no byte), %lld accepted; "
                  "%lld more share bytes without a provable overlap (not run)\n",
                  (long long)(t.refused + t.accepted), (long long)t.refused,
                  (long long)t.refused_disjoint, (long long)t.accepted, (long long)t.either);
}

/* ---- nb_sreduce / nb_dreduce ---- */

/* x: a 3 x 4 view; y: its sums over axis 1 (mask 2: 3 outputs), over axis
   0 (mask 1: 4 outputs) or over both (mask 3: 1 output), with stride ys. */
static void reduce_case(int dbl, const kind *xk, uint64_t mask, int64_t ys, int64_t shift, tally *t) {
    const int64_t es = dbl ? 8 : 4;
    view x = {ORIGIN, 2, {3, 4}, {xk->st[0], xk->st[1]}, es};
    const int64_t nout = mask == 2 ? 3 : mask == 1 ? 4 : 1;
    view y = {ORIGIN + shift * es, 1, {nout, 1}, {nout > 1 ? ys : 1, 0}, es};
    const int64_t y_strides[2] = {mask == 2 ? ys : 77, mask == 1 ? ys : 77};   /* reduced: ignored */
    const int want = expected(&x, &y, rmap, wmap);
    fill_buffer();
    /* Small integers, so every sum is exact whatever the order. */
    for (int b = 0; b + es <= BUFB; b += (int)es) {
        if (dbl) { double v = (double)(nbt_next() % 9); memcpy(buf + b, &v, 8); }
        else     { float v = (float)(nbt_next() % 9); memcpy(buf + b, &v, 4); }
    }
    memcpy(snap, buf, BUFB);
    const int64_t shape[2] = {3, 4};
    const nb_status st = dbl
        ? nb_dreduce(NB_REDUCE_SUM, 2, shape, (const double *)(void *)(buf + x.base), x.st, mask,
                     (double *)(void *)(buf + y.base), y_strides)
        : nb_sreduce(NB_REDUCE_SUM, 2, shape, (const float *)(void *)(buf + x.base), x.st, mask,
                     (float *)(void *)(buf + y.base), y_strides);
    char who[200];
    const kind yk = {ys == 1 || ys == -1 || nout == 1 ? "y dense" : "y with holes", {ys, 0}};
    describe(who, sizeof who, dbl ? "nb_dreduce" : "nb_sreduce", xk, &yk, &x, &y);
    if (st != NB_OK && st != NB_ERR_ALIAS) fail_msg("%s: status %d", who, (int)st);
    if (want == MUST_REFUSE && st != NB_ERR_ALIAS)
        fail_msg("%s, mask %llu, y stride %lld: a provable overlap was accepted", who,
                 (unsigned long long)mask, (long long)ys);
    if (want == MUST_ACCEPT && st != NB_OK)
        fail_msg("%s, mask %llu, y stride %lld: refused (%s) but the views share no byte",
                 who, (unsigned long long)mask, (long long)ys, nb_last_error());
    if (st != NB_OK) {
        if (memcmp(buf, snap, BUFB) != 0) fail_msg("%s: a refused call wrote memory", who);
        t->refused++;
        t->refused_disjoint += !shared;
        return;
    }
    t->accepted++;
    for (int b = 0; b < BUFB; b++)
        if (!wmap[b] && buf[b] != snap[b]) fail_msg("%s: byte %d outside y written", who, b);
    if (want == EITHER) { t->either++; return; }
    for (int64_t k = 0; k < nout; k++) {
        double sum = 0;
        for (int64_t i = 0; i < 3; i++)
            for (int64_t j = 0; j < 4; j++) {
                if ((mask == 2 && i != k) || (mask == 1 && j != k)) continue;
                const int64_t o = x.base + (i * x.st[0] + j * x.st[1]) * es;
                if (dbl) { double v; memcpy(&v, snap + o, 8); sum += v; }
                else     { float v; memcpy(&v, snap + o, 4); sum += v; }
            }
        double got;
        if (dbl) memcpy(&got, buf + y.base + k * y.st[0] * es, 8);
        else { float g; memcpy(&g, buf + y.base + k * y.st[0] * es, 4); got = g; }
        if (got != sum) fail_msg("%s, mask %llu: y[%lld] = %g, want %g", who,
                                 (unsigned long long)mask, (long long)k, got, sum);
    }
}

/* The issue's input for reductions: x dense buf[0..4), y = buf + 1 with
   stride 2 (x is 4 x 1, the size-1 axis reduced). */
static void issue16_reduce_from_dense_onto_holes_inside_it_is_an_alias(void **state) {
    (void)state;
    float b[16];
    for (int i = 0; i < 16; i++) b[i] = (float)i;
    const int64_t sh[2] = {4, 1}, xs[2] = {1, 1}, ys[2] = {2, 0};
    assert_int_equal(nb_sreduce(NB_REDUCE_SUM, 2, sh, b, xs, 2, b + 1, ys), NB_ERR_ALIAS);
    assert_int_equal(nb_sreduce(NB_REDUCE_MAX, 2, sh, b + 1, ys, 2, b, xs), NB_ERR_ALIAS);
    for (int i = 0; i < 16; i++) assert_true(b[i] == (float)i);
}

static void reduce_every_pair_of_view_kinds_at_every_offset(void **state) {
    (void)state;
    static const int64_t ystrides[] = {1, -1, 2, -2, 3};
    static const uint64_t masks[] = {1, 2, 3};
    tally t = {0, 0, 0, 0};
    for (int dbl = 0; dbl < 2; dbl++)
        for (int a = 0; a < NDENSE + NREAD; a++)
            for (size_t m = 0; m < 3; m++)
                for (size_t y = 0; y < (masks[m] == 3 ? 1 : 5); y++)
                    for (int64_t sh = -30; sh <= 30; sh++)
                        reduce_case(dbl, kind_at(a), masks[m], ystrides[y], sh, &t);
    print_message("# %lld cases: %lld refused (%lld sharing no byte), %lld accepted (%lld "
                  "sharing bytes)\n", (long long)(t.refused + t.accepted), (long long)t.refused,
                  (long long)t.refused_disjoint, (long long)t.accepted, (long long)t.either);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(issue16_copy_from_dense_onto_holes_inside_it_is_an_alias),
        cmocka_unit_test(copy_every_pair_of_view_kinds_at_every_offset),
        cmocka_unit_test(issue16_reduce_from_dense_onto_holes_inside_it_is_an_alias),
        cmocka_unit_test(reduce_every_pair_of_view_kinds_at_every_offset),
    };
    return nbt_run(tests);
}
