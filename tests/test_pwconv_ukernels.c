/* The pointwise (1x1) convolution tiles (src/ukernel_pwconv.h), straight
 * from the registry: every ISA's tile on this CPU against the contract's
 * FMA chain written out with fmaf (correctly rounded, so the tile must
 * give the same bits), and the chain against the double-precision sum
 * within gamma(k + 1) sum |terms| (so the oracle itself is checked).
 *
 * Tiles: every m in 1..MR, n around the vector widths and NR (1, 7..9,
 * 15..17, 23..25, 31..33, NR - 1, NR and random; a quarter of the calls
 * a run of tiles, NR + 1 .. 3 NR + 17), k 1..3, 24, 64, 100, 144, 256 and random, ldx and
 * ldy from n to n + 40; x and y end against a guard page (masked loads and
 * stores must not step past the tile), y's gaps between rows and the
 * packed filters' padding rows (NaN) must stay out of the result; bias,
 * NB_PW_ACCUMULATE, NB_PW_PREFETCH, the block copy (xcopy), NB_PW_STREAM (with y rows 64-byte aligned, so that
 * the streamed stores run), NaN and Inf in x.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "internal.h"
#include "ukernel.h"

typedef struct {
    const char *name;
    nb_isa isa;
    nb_pwconv_fn fn;
    int mr, nr;
} entry;

#define NB_UK_PWCONV(fn, mr, nr) {#fn, NB_UK_ISA, fn, mr, nr},
static const entry entries[] = {
    {NULL, NB_ISA_REF, NULL, 0, 0},   /* keeps the array non-empty on ISAs without a tile */
#include "ukernel_registry.h"
};
#define ENTRIES ((int)(sizeof entries / sizeof entries[0]))

typedef struct {
    size_t m, n, k;
    ptrdiff_t ldx, ldy;
    const float *bias;
    int flags;
} tile_case;

static int same(float a, float b) { return (isnan(a) && isnan(b)) || memcmp(&a, &b, 4) == 0; }

/* The contract's y[r, j] from y0 (y before the call). */
static float chain(const tile_case *c, int mr, const float *w, const float *x, int64_t r,
                   int64_t j, float y0) {
    float acc = 0.0f;
    for (size_t p = 0; p < c->k; p++) acc = fmaf(w[p * mr + r], x[p * c->ldx + j], acc);
    if (c->flags & NB_PW_ACCUMULATE) return y0 + acc;
    return c->bias ? c->bias[r] + acc : acc;
}

static size_t pick_n(int nr) {
    static const size_t ns[] = {1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33};
    const int64_t i = nbt_range(0, 15);
    if (i < 13) return ns[i] <= (size_t)nr ? ns[i] : (size_t)nr;
    if (i == 13) return (size_t)nr;
    if (i == 14) return (size_t)nr - 1;
    return (size_t)nbt_range(1, nr);
}

static size_t pick_k(void) {
    /* 144, 256: the AVX2 tile takes the spread share from k 128 on */
    static const size_t ks[] = {1, 2, 3, 24, 64, 100, 144, 256};
    return nbt_range(0, 1) ? ks[nbt_range(0, 7)] : (size_t)nbt_range(1, 40);
}

/* One call of e on a random tile; every element of y checked. */
static void one_tile(const entry *e, size_t m, int special) {
    tile_case c = {m, pick_n(e->nr), pick_k(), 0, 0, NULL, 0};
    /* A quarter of the calls run several tiles (n > NR: no xcopy, no pf). */
    const int run = nbt_range(0, 3) == 0;
    if (run) c.n = (size_t)nbt_range(e->nr + 1, 3 * e->nr + 17);
    c.ldx = (ptrdiff_t)c.n + (ptrdiff_t)nbt_range(0, 40);
    const int mode = (int)nbt_range(0, 3);   /* 0 store, 1 bias, 2 accumulate, 3 stream */
    c.ldy = (ptrdiff_t)c.n + (ptrdiff_t)nbt_range(0, 40);
    if (mode == 3) c.ldy = (c.ldy + 15) / 16 * 16;   /* rows 64-byte aligned: the streamed stores run */
    c.flags = mode == 2 ? NB_PW_ACCUMULATE : mode == 3 ? NB_PW_STREAM : 0;
    if (nbt_range(0, 1)) c.flags |= NB_PW_PREFETCH;   /* a hint: the same bits */
    const size_t nx = (c.k - 1) * (size_t)c.ldx + c.n, ny = (c.m - 1) * (size_t)c.ldy + c.n;
    float *xb = nbt_alloc_guarded(nx * 4, 0), *yb = nbt_alloc_guarded(ny * 4, 0);
    float *w = malloc(c.k * (size_t)e->mr * 4), *bias = malloc((size_t)e->mr * 4);
    float *y0 = malloc(ny * 4);
    assert_non_null(xb); assert_non_null(yb); assert_non_null(w); assert_non_null(bias);
    assert_non_null(y0);
    float *x = xb, *y = yb;   /* guarded: both end at the guard page */
    nbt_fill_uniform(x, (int64_t)nx, -1, 1);
    nbt_fill_uniform(w, (int64_t)(c.k * e->mr), -1, 1);
    nbt_fill_uniform(bias, e->mr, -1, 1);
    for (size_t p = 0; p < c.k; p++)   /* the padding rows: never stored */
        for (int r = (int)c.m; r < e->mr; r++) w[p * e->mr + r] = NAN;
    if (special) {
        x[nbt_range(0, (int64_t)nx - 1)] = NAN;
        x[nbt_range(0, (int64_t)nx - 1)] = INFINITY;
        x[nbt_range(0, (int64_t)nx - 1)] = -INFINITY;
    }
    nbt_fill_uniform(y, (int64_t)ny, -1, 1);
    memcpy(y0, y, ny * 4);
    if (mode == 1) c.bias = bias;
    /* Half the calls copy the block (xcopy, NR floats a channel). */
    float *xc = !run && nbt_range(0, 1) ? malloc(c.k * (size_t)e->nr * 4) : NULL;
    /* Half the calls get a share of the block to prefetch (a hint: the
       same bits; rows past the end of x: a prefetch must not fault). */
    const nb_pw_prefetch pf = {x + nbt_range(0, (int64_t)nx), c.ldx + (ptrdiff_t)nbt_range(0, 9),
                               (size_t)nbt_range(1, 9)};
    e->fn(c.m, c.n, c.k, w, x, c.ldx, y, c.ldy, c.bias, c.flags, xc, !run && nbt_range(0, 1) ? &pf : NULL);
    for (size_t p = 0; xc && p < c.k; p++)
        for (size_t j = 0; j < c.n; j++)
            if (!same(xc[p * (size_t)e->nr + j], x[p * (size_t)c.ldx + j]))
                fail_msg("%s k%zu n%zu: xcopy[%zu, %zu] = %.9g, want %.9g", e->name, c.k, c.n, p,
                         j, (double)xc[p * (size_t)e->nr + j], (double)x[p * (size_t)c.ldx + j]);
    free(xc);
    for (size_t r = 0; r < c.m; r++)
        for (size_t j = 0; j < (size_t)c.ldy && r * (size_t)c.ldy + j < ny; j++) {
            const size_t i = r * (size_t)c.ldy + j;
            const float want = j < c.n ? chain(&c, e->mr, w, x, (int64_t)r, (int64_t)j, y0[i]) : y0[i];
            if (!same(y[i], want))
                fail_msg("%s m%zu n%zu k%zu ldx%td ldy%td mode %d: y[%zu, %zu] = %.9g, want %.9g",
                         e->name, c.m, c.n, c.k, c.ldx, c.ldy, mode, r, j, (double)y[i],
                         (double)want);
        }
    free(w); free(bias); free(y0);
    nbt_free_guarded(xb); nbt_free_guarded(yb);
}

static void tiles_give_the_chain_bits(void **state) {
    (void)state;
    int ran = 0;
    for (int i = 0; i < ENTRIES; i++) {
        const entry *e = &entries[i];
        if (!e->fn || !nb_isa_supported(e->isa)) continue;
        for (int it = 0; it < 60; it++)
            for (size_t m = 1; m <= (size_t)e->mr; m++) one_tile(e, m, it % 5 == 4);
        ran++;
    }
    if (!ran) skip();
}

static double gamma_f(int64_t n) {
    const double u = ldexp(1.0, -24);
    return n * u / (1 - n * u);
}

/* The oracle's chain against the double-precision sum (so the bits the
   tiles must match are a correct result). */
static void the_chain_is_within_the_gemm_bound(void **state) {
    (void)state;
    for (int it = 0; it < 200; it++) {
        tile_case c = {1, 1, pick_k(), 0, 1, NULL, 0};
        c.ldx = 1;
        float *w = malloc(c.k * 4), *x = malloc(c.k * 4);
        assert_non_null(w); assert_non_null(x);
        nbt_fill_uniform(w, (int64_t)c.k, -1, 1);
        nbt_fill_uniform(x, (int64_t)c.k, -1, 1);
        double e = 0, mag = 0;
        for (size_t p = 0; p < c.k; p++) {
            e += (double)w[p] * x[p];
            mag += fabs((double)w[p] * x[p]);
        }
        const float got = chain(&c, 1, w, x, 0, 0, 0.0f);
        if (!(fabs(got - e) <= gamma_f((int64_t)c.k + 1) * mag))
            fail_msg("k%zu: %.9g vs %.9g", c.k, (double)got, e);
        free(w); free(x);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tiles_give_the_chain_bits),
        cmocka_unit_test(the_chain_is_within_the_gemm_bound),
    };
    return nbt_run(tests);
}
