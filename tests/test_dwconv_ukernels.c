/* The depthwise micro-kernels (src/ukernel_dwconv.h), one channel plane at
 * a time, straight from the registry: every ISA's forward and
 * backward-filter kernel (and the backward-data scatter) on this CPU
 * against the plain-C twin, bit for bit (the contract fixes the FMA chains
 * and the filter-sum lanes), and the twins against the double-precision
 * definition within gamma(terms + 1) sum |terms|.
 *
 * Planes: widths around the vector widths (1..4, 7..9, 15..17, 31..33,
 * 63..65), small prime heights, stride 1, 2, 3, padding 0 to more than the
 * kernel (and negative, as backward-data's forward pass uses), dilation 1
 * and 2, kernels 1x1 to 5x5 with 3x3 often (the fast paths), accumulate on
 * and off. Planes sit against a guard page (after or before), start at odd
 * float offsets, and the outputs are NaN-filled first (every element must
 * be written). Data with NaN and Inf: the same bits (NaN payloads aside).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "internal.h"
#include "kernels_table.h"
#include "ukernel.h"

typedef struct {
    const char *name;
    nb_isa isa;
    int kind;   /* 0 fwd, 1 bwf, 2 bwd, 3 bwf + row sum */
    void (*fn)(void);
} entry;

#define NB_UK_DWCONV_FWD(fn) {#fn, NB_UK_ISA, 0, (void (*)(void))fn},
#define NB_UK_DWCONV_BWF(fn) {#fn, NB_UK_ISA, 1, (void (*)(void))fn},
#define NB_UK_DWCONV_BWD(fn) {#fn, NB_UK_ISA, 2, (void (*)(void))fn},
#define NB_UK_DWCONV_BWF_SUM(fn) {#fn, NB_UK_ISA, 3, (void (*)(void))fn},
static const entry entries[] = {
#include "ukernel_registry.h"
};
#define ENTRIES ((int)(sizeof entries / sizeof entries[0]))

static nb_dw_plane random_plane(void) {
    static const int64_t widths[] = {1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65};
    static const int64_t heights[] = {1, 2, 3, 5, 7, 11, 13};
    for (;;) {
        nb_dw_plane g = {0};
        g.w = widths[nbt_range(0, 15)];
        g.h = heights[nbt_range(0, 6)];
        g.r = nbt_range(0, 2) ? 3 : nbt_range(1, 5);
        g.s = nbt_range(0, 2) ? 3 : nbt_range(1, 5);
        g.stride_h = nbt_range(1, 3);
        g.stride_w = nbt_range(0, 1) ? 1 : nbt_range(1, 3);
        g.dil_h = nbt_range(0, 3) ? 1 : 2;
        g.dil_w = nbt_range(0, 3) ? 1 : 2;
        g.pad_h = nbt_range(-1, g.r + 1);
        g.pad_w = nbt_range(-1, g.s + 1);
        const int64_t ph = g.h + 2 * g.pad_h - g.dil_h * (g.r - 1) - 1;
        const int64_t pw = g.w + 2 * g.pad_w - g.dil_w * (g.s - 1) - 1;
        if (ph < 0 || pw < 0) continue;
        g.p = ph / g.stride_h + 1;
        g.q = pw / g.stride_w + 1;
        nb_dw_plane_ranges(&g);
        return g;
    }
}

/* A guarded buffer of n floats: against the guard page before it, or
   ending at the guard page after it from an offset of 0..3 floats; *base is
   what to free. */
static float *gbuf(int64_t n, float **base) {
    const int before = (int)nbt_range(0, 1), off = before ? 0 : (int)nbt_range(0, 3);
    *base = nbt_alloc_guarded((size_t)(n + off) * sizeof(float), before);
    assert_non_null(*base);
    return *base + off;
}

static void fill_data(float *p, int64_t n, int special) {
    nbt_fill_uniform(p, n, -1, 1);
    if (special && n > 0) {
        p[nbt_range(0, n - 1)] = NAN;
        p[nbt_range(0, n - 1)] = INFINITY;
        p[nbt_range(0, n - 1)] = -INFINITY;
    }
}

static int same(float a, float b) { return (isnan(a) && isnan(b)) || memcmp(&a, &b, 4) == 0; }

/* The double-precision forward of pixel (p, q) and the sum of |terms|. */
static double exact_fwd(const nb_dw_plane *g, const float *x, const float *w, double bias,
                        int64_t p, int64_t q, double *mag) {
    double acc = bias;
    *mag = fabs(bias);
    for (int64_t r = 0; r < g->r; r++)
        for (int64_t s = 0; s < g->s; s++) {
            const int64_t ih = p * g->stride_h - g->pad_h + r * g->dil_h;
            const int64_t iw = q * g->stride_w - g->pad_w + s * g->dil_w;
            if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w) continue;
            acc += (double)x[ih * g->w + iw] * w[r * g->s + s];
            *mag += fabs((double)x[ih * g->w + iw] * w[r * g->s + s]);
        }
    return acc;
}

static double gamma_f(int64_t n) {
    const double u = ldexp(1.0, -24);
    return n * u / (1 - n * u);
}

static void twins_match_the_double_definition(void **state) {
    (void)state;
    for (int it = 0; it < 300; it++) {
        const nb_dw_plane g = random_plane();
        const int64_t nx = g.h * g.w, ny = g.p * g.q, RS = g.r * g.s;
        float *x = malloc((size_t)nx * 4), *w = malloc((size_t)RS * 4), *y = malloc((size_t)ny * 4);
        float *dy = malloc((size_t)ny * 4), *dw = malloc((size_t)RS * 4);
        float *zero = calloc((size_t)(g.w + 64), 4);
        nbt_fill_uniform(x, nx, -1, 1); nbt_fill_uniform(w, RS, -1, 1); nbt_fill_uniform(dy, ny, -1, 1);
        nb_f32_dwconv_fwd_ukernel__scalar(&g, x, w, 0.25f, 0, zero, y);
        for (int64_t p = 0; p < g.p; p++)
            for (int64_t q = 0; q < g.q; q++) {
                double mag;
                const double e = exact_fwd(&g, x, w, 0.25, p, q, &mag);
                if (!(fabs(y[p * g.q + q] - e) <= gamma_f(RS + 1) * mag))
                    fail_msg("fwd (%lld, %lld): %.9g vs %.9g", (long long)p, (long long)q,
                             (double)y[p * g.q + q], e);
            }
        nb_f32_dwconv_bwf_ukernel__scalar(&g, x, dy, zero, 0, dw);
        for (int64_t t = 0; t < RS; t++) {
            double e = 0, mag = 0;
            for (int64_t p = 0; p < g.p; p++)
                for (int64_t q = 0; q < g.q; q++) {
                    const int64_t ih = p * g.stride_h - g.pad_h + (t / g.s) * g.dil_h;
                    const int64_t iw = q * g.stride_w - g.pad_w + (t % g.s) * g.dil_w;
                    if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) continue;
                    e += (double)x[ih * g.w + iw] * dy[p * g.q + q];
                    mag += fabs((double)x[ih * g.w + iw] * dy[p * g.q + q]);
                }
            if (!(fabs(dw[t] - e) <= gamma_f(ny + NB_DW_LANES) * mag))
                fail_msg("bwf tap %lld: %.9g vs %.9g", (long long)t, (double)dw[t], e);
        }
        free(x); free(w); free(y); free(dy); free(dw); free(zero);
    }
}

/* One entry against its twin on plane g. */
static void check_entry(const entry *e, const nb_dw_plane *g, int special) {
    const int64_t nx = g->h * g->w, ny = g->p * g->q, RS = g->r * g->s;
    float *bx, *bw, *bdy, *bo;
    float *x = gbuf(nx, &bx), *w = gbuf(RS, &bw), *dy = gbuf(ny, &bdy);
    const int64_t nout = e->kind == 0 ? ny : e->kind == 1 || e->kind == 3 ? RS : nx;
    float *out = gbuf(nout, &bo), *want = malloc((size_t)nout * 4);
    float *zero = calloc((size_t)(g->w + 64), 4);
    fill_data(x, nx, special); fill_data(w, RS, 0); fill_data(dy, ny, special);
    const int acc = (int)nbt_range(0, 1);
    if (acc) fill_data(out, nout, 0);
    else for (int64_t i = 0; i < nout; i++) out[i] = NAN;
    memcpy(want, out, (size_t)nout * 4);
    if (e->kind == 0) {
        nb_f32_dwconv_fwd_ukernel__scalar(g, x, w, 0.5f, acc, zero, want);
        ((nb_dwconv_fwd_fn)e->fn)(g, x, w, 0.5f, acc, zero, out);
    } else if (e->kind == 1) {
        nb_f32_dwconv_bwf_ukernel__scalar(g, x, dy, zero, acc, want);
        ((nb_dwconv_bwf_fn)e->fn)(g, x, dy, zero, acc, out);
    } else if (e->kind == 3) {
        /* the filter sums as the twin's, the row sum as its ISA's conv.rowsum, bit for bit */
        nb_f32_dwconv_bwf_ukernel__scalar(g, x, dy, zero, acc, want);
        const double s = ((nb_dwconv_bwf_sum_fn)e->fn)(g, x, dy, zero, acc, out);
        const double t = nb_ukernels_for(e->isa)->conv.rowsum(ny, dy);
        if (memcmp(&s, &t, sizeof s) != 0 && !(isnan(s) && isnan(t)))
            fail_msg("%s: row sum %.17g != conv.rowsum %.17g (plane %lldx%lld -> %lldx%lld)", e->name,
                     s, t, (long long)g->h, (long long)g->w, (long long)g->p, (long long)g->q);
    } else {
        nb_f32_dwconv_bwd_ukernel__scalar(g, dy, w, acc, want);
        ((nb_dwconv_bwd_fn)e->fn)(g, dy, w, acc, out);
    }
    for (int64_t i = 0; i < nout; i++)
        if (!same(out[i], want[i]))
            fail_msg("%s: [%lld] %.9g != twin %.9g (plane %lldx%lld -> %lldx%lld, %lldx%lld, stride "
                     "%lldx%lld pad %lldx%lld dil %lldx%lld, acc %d)",
                     e->name, (long long)i, (double)out[i], (double)want[i], (long long)g->h,
                     (long long)g->w, (long long)g->p, (long long)g->q, (long long)g->r,
                     (long long)g->s, (long long)g->stride_h, (long long)g->stride_w,
                     (long long)g->pad_h, (long long)g->pad_w, (long long)g->dil_h,
                     (long long)g->dil_w, acc);
    nbt_free_guarded(bx); nbt_free_guarded(bw); nbt_free_guarded(bdy); nbt_free_guarded(bo);
    free(want); free(zero);
}

static void every_kernel_gives_its_twins_bits(void **state) {
    (void)state;
    int ran = 0;
    for (int i = 0; i < ENTRIES; i++) {
        if (entries[i].isa == NB_ISA_REF || !nb_isa_supported(entries[i].isa)) continue;
        for (int it = 0; it < 400; it++) {
            const nb_dw_plane g = random_plane();
            check_entry(&entries[i], &g, it % 4 == 3);
        }
        /* The bench layers' planes: 3x3 "same", stride 1 and 2. */
        const nb_dw_plane fixed[] = {
            {.h = 56, .w = 56, .p = 56, .q = 56, .r = 3, .s = 3, .stride_h = 1, .stride_w = 1,
             .pad_h = 1, .pad_w = 1, .dil_h = 1, .dil_w = 1},
            {.h = 56, .w = 56, .p = 28, .q = 28, .r = 3, .s = 3, .stride_h = 2, .stride_w = 2,
             .pad_h = 1, .pad_w = 1, .dil_h = 1, .dil_w = 1},
            {.h = 112, .w = 112, .p = 112, .q = 112, .r = 3, .s = 3, .stride_h = 1, .stride_w = 1,
             .pad_h = 1, .pad_w = 1, .dil_h = 1, .dil_w = 1},
        };
        for (int f = 0; f < 3; f++) {
            nb_dw_plane g = fixed[f];
            nb_dw_plane_ranges(&g);
            check_entry(&entries[i], &g, 0);
            check_entry(&entries[i], &g, 1);
        }
        ran++;
    }
    printf("# %d depthwise kernels checked against their twins\n", ran);
}

/* 3x3, stride 1, dilation 1: the rolling-window kernels (AVX-512: strips
   of up to 4 blocks of 16 columns, center loads and shifted taps, masked
   edge blocks, the first and last two rows apart) and the AVX2 forward's
   bands of 3 rows (a last band of 1 or 2; edge blocks masking only the
   tap columns that need it; more than 8 edge blocks, with padding up to
   40 on a narrow plane, build their masks per band). The AVX-512 forward
   takes its row bands on planes over 32 KiB (x and y): the widths from
   113 up with heights of 29 and 56, and the 112x112 plane of the first
   test. Widths around every
   strip and block edge up to 2 strips, heights 1 to 7, a prime and around
   a band of 16 rows, padding
   -1 (backward-data's forward pass when the forward cropped) to past the
   kernel on each side apart (columns: sometimes past a whole block), accumulate on and off (the masked loop),
   NaN / Inf in a quarter of the runs, planes at odd float offsets against
   a guard page (an unmasked load one float past a row would crash
   here). */
static void three_by_three_stride_one_gives_the_twins_bits(void **state) {
    (void)state;
    static const int64_t widths[] = {1,  2,  3,  4,  15, 16, 17, 31, 32, 33, 47,  48,  49,
                                     63, 64, 65, 79, 80, 81, 95, 96, 97, 127, 128, 129,
                                     5,  13, 23, 53, 56, 113, 200, 260, 271};
    /* 17, 18: a band of 16 rows (AVX2) and a last band of 1 or 2; 6 to 9
       and 29, 56: the AVX2 forward's steady loop (3 steps a turn) entered
       and left at every phase */
    static const int64_t heights[] = {1, 2, 3, 4, 5, 7, 11, 17, 18, 6, 8, 9, 29, 56};
    const int nw = (int)(sizeof widths / sizeof widths[0]), nh = (int)(sizeof heights / sizeof heights[0]);
    int ran = 0;
    for (int i = 0; i < ENTRIES; i++) {
        if (entries[i].isa == NB_ISA_REF || !nb_isa_supported(entries[i].isa)) continue;
        for (int it = 0; it < 600; it++) {
            nb_dw_plane g = {.r = 3, .s = 3, .stride_h = 1, .stride_w = 1, .dil_h = 1, .dil_w = 1};
            g.w = widths[nbt_range(0, nw - 1)];
            g.h = heights[nbt_range(0, nh - 1)];
            g.pad_h = nbt_range(-1, 4);
            /* now and then wider than a block, so middle blocks of a strip need masks */
            g.pad_w = nbt_range(0, 7) ? nbt_range(-1, 4) : nbt_range(8, 40);
            g.p = g.h + 2 * g.pad_h - 2;
            g.q = g.w + 2 * g.pad_w - 2;
            if (g.p < 1 || g.q < 1) continue;
            nb_dw_plane_ranges(&g);
            check_entry(&entries[i], &g, it % 4 == 3);
        }
        ran++;
    }
    printf("# %d depthwise kernels checked on 3x3 stride-1 planes\n", ran);
}

/* The dbias row sum the depthwise backward-filter takes per dy plane
   (nb_conv_desc.rowsum): every x86 configuration's bits are the AVX2 one's
   (the AVX-512 twin regroups its double accumulators), and each is within
   n u sum |x| of the exact sum. Lengths around the 32-float step and the
   8-float tail, and a depthwise plane. */
static void conv_rowsums_agree(void **state) {
    (void)state;
    static const int64_t lens[] = {0, 1, 7, 8, 9, 31, 32, 33, 39, 40, 63, 64, 65, 100, 3136, 12551};
    const nb_isa isas[] = {NB_ISA_AVX2, NB_ISA_AVX512, NB_ISA_NEON};
    float *x = malloc(12551 * sizeof(float));
    for (int li = 0; li < 16; li++) {
        const int64_t n = lens[li];
        nbt_fill_uniform(x, n, -1, 1);
        double exact = 0, mag = 0;
        for (int64_t i = 0; i < n; i++) exact += (double)x[i], mag += fabs((double)x[i]);
        int have = 0;
        double first = 0;
        for (int j = 0; j < 3; j++) {
            if (!nb_isa_supported(isas[j])) continue;
            const double got = nb_ukernels_for(isas[j])->conv.rowsum(n, x);
            if (!(fabs(got - exact) <= 2 * n * ldexp(1.0, -52) * mag + 1e-300))
                fail_msg("rowsum isa %d n %lld: %.17g vs %.17g", (int)isas[j], (long long)n, got, exact);
            if (j < 2 && have && memcmp(&got, &first, sizeof got) != 0)
                fail_msg("rowsum n %lld: AVX-512 %.17g != AVX2 %.17g", (long long)n, got, first);
            if (j < 2 && !have) first = got, have = 1;
        }
    }
    free(x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(twins_match_the_double_definition),
        cmocka_unit_test(every_kernel_gives_its_twins_bits),
        cmocka_unit_test(three_by_three_stride_one_gives_the_twins_bits),
        cmocka_unit_test(conv_rowsums_agree),
    };
    return nbt_run(tests);
}
