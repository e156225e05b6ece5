/* Every micro-kernel of the registry (kernels/<isa>/ukernels.def), called
 * directly and compared with its plain-C twin below, written from the
 * contract in src/ukernel.h (not from the SIMD code):
 *
 * - GEMM tiles (packed, A in place, A and B in place), no-pack row kernels (B and B^T):
 *   every m = 1..MR, n = 1..NR (row kernels: n around their vector widths),
 *   k around the unroll, four (alpha, beta) cases; C prefilled with NaN when
 *   beta == 0 (it must not be read); C's rows end at a guard page and the
 *   columns past n are canaries. Bit for bit: the contract fixes each
 *   element's FMA chain and epilogue.
 * - A and B packers: every row count up to 3 panels + 1, both transposes,
 *   odd leading dimensions, canaries after the panels (A may use the
 *   driver's slack, B nothing).
 * - Reduction rows and columns, copies: bit for bit (the lane rule of rsum,
 *   NaN and signed-zero rules of max/min), strides -2..3.
 * - Elementwise functions and softmax rows: within the documented error
 *   bound of a double-precision oracle (tests/unary_oracle.h,
 *   tests/softmax_oracle.h), every length 0..2*unroll+1 and a large one.
 * - im2col / col2im: against the definition, on shapes with padding,
 *   stride, dilation and pixel ranges that start and end mid-row.
 * A micro-kernel whose ISA this CPU cannot run is skipped (one line says so).
 * The implicit-im2col packer needs the driver's tap plan: tests/test_conv_simd.c
 * covers it with NABLA_CONV_PATH=implicit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "internal.h"
#include "softmax_oracle.h"
#include "ukernel.h"
#include "unary_oracle.h"

/* ---- the registry as data ---- */

enum {
    K_GEMM, K_ADIRECT, K_DIRECT, K_PACKA, K_PACKB, K_ROWS, K_ROWS_BT, K_IM2COL, K_COL2IM, K_RSUM, K_RPICK,
    K_RCOL, K_RROWS, K_TRANSPOSE, K_FILL, K_VUNARY, K_SOFTMAX
};
typedef struct {
    const char *name;
    nb_isa isa;
    int kind;
    void (*fn)(void);
    int a, b;   /* shape or variant, per kind (ukernel_registry.h) */
} uk_entry;

#define E(kind, fn, a, b) {#fn, NB_UK_ISA, kind, (void (*)(void))fn, a, b},
static const uk_entry registry[] = {
#define NB_UK_GEMM(fn, mr, nr) E(K_GEMM, fn, mr, nr)
#define NB_UK_GEMM_ADIRECT(fn, mr, nr) E(K_ADIRECT, fn, mr, nr)
#define NB_UK_GEMM_DIRECT(fn, mr, nr) E(K_DIRECT, fn, mr, nr)
#define NB_UK_PACKA(fn, mr) E(K_PACKA, fn, mr, 0)
#define NB_UK_PACKB(fn, nr) E(K_PACKB, fn, nr, 0)
#define NB_UK_GEMM_ROWS(fn, mr) E(K_ROWS, fn, mr, 0)
#define NB_UK_GEMM_ROWS_BT(fn, mr) E(K_ROWS_BT, fn, mr, 0)
#define NB_UK_IM2COL(fn) E(K_IM2COL, fn, 0, 0)
#define NB_UK_COL2IM(fn) E(K_COL2IM, fn, 0, 0)
#define NB_UK_RSUM(fn) E(K_RSUM, fn, 0, 0)
#define NB_UK_RPICK(fn, is_max) E(K_RPICK, fn, is_max, 0)
#define NB_UK_RCOL(fn, op) E(K_RCOL, fn, op, 0)
#define NB_UK_RROWS(fn) E(K_RROWS, fn, 0, 0)
#define NB_UK_TRANSPOSE32(fn, tile) E(K_TRANSPOSE, fn, tile, 0)
#define NB_UK_FILL32(fn) E(K_FILL, fn, 0, 0)
#define NB_UK_VUNARY(fn, op, unroll) E(K_VUNARY, fn, op, unroll)
#define NB_UK_SOFTMAX(fn, log) E(K_SOFTMAX, fn, log, 0)
#include "ukernel_registry.h"
    {NULL, NB_ISA_REF, -1, NULL, 0, 0}
};
#undef E

/* Runs check on every registered micro-kernel of `kind` this CPU can run;
   skips the test when there is none. */
static void for_each(int kind, void (*check)(const uk_entry *e)) {
    int ran = 0, skipped = 0;
    for (const uk_entry *e = registry; e->name; e++) {
        if (e->kind != kind) continue;
        if (!nb_isa_supported(e->isa)) { skipped++; continue; }
        check(e);
        ran++;
    }
    if (skipped) printf("# %d micro-kernel(s) of this kind skipped: their ISA does not run here\n", skipped);
    if (!ran) skip();
}

/* ---- GEMM: the plain-C twin of the contract (src/ukernel.h) ---- */

static float epilogue(float acc, float alpha, float beta, const float *c) {
    const float t = alpha * acc;
    return beta == 0.0f ? t : fmaf(beta, *c, t);
}

/* C[i,j] = epilogue(sum_p fma(a(i,p), b(p,j))) with a(i,p) = a[i*rs + p*cs],
   b(p,j) = b[p*rsb + j*csb]. */
static void twin_gemm(size_t m, size_t n, size_t k, const float *a, ptrdiff_t rs, ptrdiff_t cs,
                      const float *b, ptrdiff_t rsb, ptrdiff_t csb, float *c, ptrdiff_t ldc,
                      float alpha, float beta) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            float acc = 0.0f;
            for (size_t p = 0; p < k; p++)
                acc = fmaf(a[(ptrdiff_t)i * rs + (ptrdiff_t)p * cs], b[(ptrdiff_t)p * rsb + (ptrdiff_t)j * csb], acc);
            float *cij = c + (ptrdiff_t)i * ldc + (ptrdiff_t)j;
            *cij = epilogue(acc, alpha, beta, cij);
        }
}

static const float alphas[4] = {1.0f, 0.5f, 1.0f, -2.0f}, betas[4] = {0.0f, 0.0f, 1.0f, 0.75f};
static const size_t ks[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33};

/* C: m rows of ldc floats ending at a guard page; columns past n canaries. */
static float *c_alloc(size_t m, ptrdiff_t ldc) {
    return nbt_alloc_guarded((size_t)m * (size_t)ldc * sizeof(float), 0);
}
static void c_fill(float *c, float *want, size_t m, size_t n, ptrdiff_t ldc, float beta) {
    for (size_t e = 0; e < m * (size_t)ldc; e++) {
        const size_t j = e % (size_t)ldc;
        c[e] = want[e] = j >= n ? -7.0f : beta == 0.0f ? NAN : nbt_uniform(-1, 1);
    }
}
static void c_compare(const char *who, const float *got, const float *want, size_t m, size_t n, size_t k,
                      ptrdiff_t ldc, float alpha, float beta) {
    for (size_t e = 0; e < m * (size_t)ldc; e++)
        if (!nbt_same_value(got[e], want[e]) || signbit(got[e]) != signbit(want[e]))
            fail_msg("%s m=%zu n=%zu k=%zu alpha=%g beta=%g: C[%zu][%zu] = %a, twin %a%s", who, m, n, k,
                     (double)alpha, (double)beta, e / (size_t)ldc, e % (size_t)ldc, (double)got[e],
                     (double)want[e], e % (size_t)ldc >= n ? " (outside the tile)" : "");
}

static void check_tile(const uk_entry *e) {
    const size_t MR = (size_t)e->a, NR = (size_t)e->b;
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        const size_t k = ks[ki];
        float *a = nb_aligned_alloc(MR * k * sizeof(float)), *b = nb_aligned_alloc(NR * k * sizeof(float));
        float *ad = malloc(MR * (k + 3) * sizeof(float));
        assert_non_null(a); assert_non_null(b); assert_non_null(ad);
        for (size_t m = 1; m <= MR; m++)
            for (size_t n = 1; n <= NR; n++) {
                /* Packed panels: rows >= m of A and columns >= n of B are zero. */
                for (size_t p = 0; p < k; p++) {
                    for (size_t r = 0; r < MR; r++) a[p * MR + r] = ad[r * (k + 3) + p] = r < m ? nbt_uniform(-1, 1) : 0.0f;
                    for (size_t j = 0; j < NR; j++) b[p * NR + j] = j < n ? nbt_uniform(-1, 1) : 0.0f;
                }
                const int ab = (int)nbt_range(0, 3);
                const ptrdiff_t ldc = (ptrdiff_t)n + (ptrdiff_t)nbt_range(0, 3);
                /* B in place (K_DIRECT): k rows of n floats, ldb apart (odd
                   ones: unaligned rows), the last row ending at a guard
                   page; the gaps between rows are NaN (never read). */
                const ptrdiff_t ldb = (ptrdiff_t)n + (ptrdiff_t)nbt_range(0, 3);
                float *bd = NULL;
                if (e->kind == K_DIRECT) {
                    bd = nbt_alloc_guarded(((k - 1) * (size_t)ldb + n) * sizeof(float), 0);
                    assert_non_null(bd);
                    for (size_t p = 0; p < k; p++)
                        for (size_t j = 0; j < (size_t)ldb && p * (size_t)ldb + j < (k - 1) * (size_t)ldb + n; j++)
                            bd[p * (size_t)ldb + j] = j < n ? b[p * NR + j] : NAN;
                }
                float *c = c_alloc(m, ldc), *want = malloc(m * (size_t)ldc * sizeof(float));
                assert_non_null(want);
                c_fill(c, want, m, n, ldc, betas[ab]);
                twin_gemm(m, n, k, a, 1, (ptrdiff_t)MR, b, (ptrdiff_t)NR, 1, want, ldc, alphas[ab], betas[ab]);
                if (e->kind == K_GEMM)
                    ((nb_gemm_ukernel_fn)e->fn)(m, n, k, a, b, c, ldc, alphas[ab], betas[ab]);
                else if (e->kind == K_DIRECT)
                    ((nb_gemm_ukernel_direct_fn)e->fn)(m, n, k, ad, (ptrdiff_t)(k + 3), bd, ldb, c, ldc,
                                                       alphas[ab], betas[ab]);
                else
                    ((nb_gemm_ukernel_adirect_fn)e->fn)(m, n, k, ad, (ptrdiff_t)(k + 3), b, c, ldc,
                                                        alphas[ab], betas[ab]);
                c_compare(e->name, c, want, m, n, k, ldc, alphas[ab], betas[ab]);
                if (bd) nbt_free_guarded(bd);
                nbt_free_guarded(c);
                free(want);
            }
        nb_aligned_free(a); nb_aligned_free(b); free(ad);
    }
}

static void gemm_tiles_match_their_twin_on_every_edge(void **state) {
    (void)state;
    for_each(K_GEMM, check_tile);
}
static void a_in_place_tiles_match_their_twin_on_every_edge(void **state) {
    (void)state;
    for_each(K_ADIRECT, check_tile);
}
static void unpacked_tiles_match_their_twin_on_every_edge(void **state) {
    (void)state;
    for_each(K_DIRECT, check_tile);
}

/* No-pack rows: a(i,p) = a[i*rs + p*cs] in place, B (or B^T) in place. */
static void check_rows(const uk_entry *e) {
    const size_t MR = (size_t)e->a;
    static const size_t ns[] = {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65};
    for (size_t m = 1; m <= MR; m++)
        for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
            for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
                const size_t n = ns[ni], k = ks[ki] + (e->kind == K_ROWS_BT ? 20 : 0);
                const size_t kc = e->kind == K_ROWS_BT ? 16 : k;   /* B^T: several KC blocks */
                const int ta = (int)nbt_range(0, 1), ab = (int)nbt_range(0, 3);
                const ptrdiff_t rs = ta ? 1 : (ptrdiff_t)k + 1, cs = ta ? (ptrdiff_t)m + 2 : 1;
                const ptrdiff_t ldb = (ptrdiff_t)(e->kind == K_ROWS_BT ? k : n) + 1;
                /* A and B end at guard pages: no read past their last element. */
                const size_t nbf = (size_t)ldb * (e->kind == K_ROWS_BT ? n : k);
                float *a = nbt_alloc_guarded((m + 2) * (k + 1) * sizeof(float), 0);
                float *b = nbt_alloc_guarded(nbf * sizeof(float), 0);
                assert_non_null(a); assert_non_null(b);
                nbt_fill_uniform(a, (int64_t)((m + 2) * (k + 1)), -1, 1);
                nbt_fill_uniform(b, (int64_t)nbf, -1, 1);
                const ptrdiff_t ldc = (ptrdiff_t)n + 2;
                float *c = c_alloc(m, ldc), *want = malloc(m * (size_t)ldc * sizeof(float));
                assert_non_null(want);
                c_fill(c, want, m, n, ldc, betas[ab]);
                if (e->kind == K_ROWS) {
                    twin_gemm(m, n, k, a, rs, cs, b, ldb, 1, want, ldc, alphas[ab], betas[ab]);
                    ((nb_gemm_rows_fn)e->fn)(m, n, k, a, rs, cs, b, ldb, c, ldc, alphas[ab], betas[ab]);
                } else {   /* per KC block: beta on the first, then 1 */
                    for (size_t p0 = 0; p0 < k; p0 += kc) {
                        const size_t kb = k - p0 < kc ? k - p0 : kc;
                        twin_gemm(m, n, kb, a + (ptrdiff_t)p0 * cs, rs, cs, b + p0, 1, ldb, want, ldc,
                                  alphas[ab], p0 == 0 ? betas[ab] : 1.0f);
                    }
                    ((nb_gemm_rows_bt_fn)e->fn)(m, n, k, kc, a, rs, cs, b, ldb, c, ldc, alphas[ab], betas[ab]);
                }
                c_compare(e->name, c, want, m, n, k, ldc, alphas[ab], betas[ab]);
                nbt_free_guarded(c);
                free(want);
                nbt_free_guarded(a);
                nbt_free_guarded(b);
            }
}

static void row_kernels_match_their_twin(void **state) {
    (void)state;
    for_each(K_ROWS, check_rows);
}
static void transposed_b_row_kernels_match_their_twin_per_kc_block(void **state) {
    (void)state;
    for_each(K_ROWS_BT, check_rows);
}

/* ---- packers ---- */

/* dst[panel][p][r] = op(X)[panel*w + r, p], 0 beyond rows (A: op(A) rows;
   B: op(B) columns). */
static void twin_pack(int is_b, int trans, size_t rows, size_t k, const float *src, ptrdiff_t ld,
                      size_t w, float *dst) {
    const int by_row = is_b ? trans : !trans;
    for (size_t q = 0; q < (rows + w - 1) / w; q++)
        for (size_t p = 0; p < k; p++)
            for (size_t r = 0; r < w; r++) {
                const size_t i = q * w + r;
                dst[(q * k + p) * w + r] = i >= rows ? 0.0f
                    : by_row ? src[(ptrdiff_t)i * ld + (ptrdiff_t)p] : src[(ptrdiff_t)p * ld + (ptrdiff_t)i];
            }
}

static void check_pack(const uk_entry *e) {
    const int is_b = e->kind == K_PACKB;
    const size_t w = (size_t)e->a, slack = is_b ? 0 : NB_GEMM_PACK_SLACK;
    for (int trans = 0; trans < 2; trans++)
        for (size_t rows = 1; rows <= 3 * w + 1; rows++)
            for (size_t k = 1; k <= 19; k += (k < 10 ? 1 : 4)) {
                const int by_row = is_b ? trans : !trans;
                const ptrdiff_t ld = (ptrdiff_t)(by_row ? k : rows) + (ptrdiff_t)nbt_range(0, 3);
                const size_t nsrc = (size_t)ld * (by_row ? rows : k);
                float *src = malloc(nsrc * sizeof(float) + sizeof(float));
                assert_non_null(src);
                float *s = src + nbt_range(0, 1);   /* unaligned too */
                nbt_fill_uniform(s, (int64_t)nsrc, -1, 1);
                const size_t npk = (rows + w - 1) / w * w * k;
                float *got = nb_aligned_alloc((npk + slack + 16) * sizeof(float));
                float *want = malloc(npk * sizeof(float));
                assert_non_null(got); assert_non_null(want);
                for (size_t i = 0; i < npk + slack + 16; i++) got[i] = -7.0f;
                twin_pack(is_b, trans, rows, k, s, ld, w, want);
                if (is_b) ((nb_gemm_pack_b_fn)e->fn)(trans, k, rows, s, ld, got);
                else      ((nb_gemm_pack_a_fn)e->fn)(trans, rows, k, s, ld, got);
                for (size_t i = 0; i < npk; i++)
                    if (!nbt_same_value(got[i], want[i]) || signbit(got[i]) != signbit(want[i]))
                        fail_msg("%s trans=%d rows=%zu k=%zu: element %zu = %g, twin %g", e->name, trans,
                                 rows, k, i, (double)got[i], (double)want[i]);
                for (size_t i = npk + slack; i < npk + slack + 16; i++)
                    if (got[i] != -7.0f)
                        fail_msg("%s trans=%d rows=%zu k=%zu: wrote %zu floats past its panels", e->name,
                                 trans, rows, k, i - npk);
                nb_aligned_free(got);
                free(want); free(src);
            }
}

static void packers_match_their_twin(void **state) {
    (void)state;
    for_each(K_PACKA, check_pack);
    for_each(K_PACKB, check_pack);
}

/* ---- reductions and copies: bit for bit ---- */

/* NaN-propagating max / min with -0 < +0 (ref/reduce.c's rules). */
static float pick(float r, float v, int is_max) {
    if (isnan(r)) return r;
    if (isnan(v)) return v;
    if (v == r) return is_max ? (signbit(r) ? v : r) : (signbit(r) ? r : v);
    return (is_max ? v > r : v < r) ? v : r;
}

static float special(void) {
    static const float sp[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f, -3.5f};
    return nbt_range(0, 9) == 0 ? sp[nbt_range(0, 6)] : nbt_uniform(-4, 4);
}

static const int64_t lens[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97, 1000};

static void check_reduce(const uk_entry *e) {
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (int64_t inc = -2; inc <= 3; inc++) {
            const int64_t n = lens[li], ainc = inc < 0 ? -inc : inc == 0 ? 1 : inc;
            if (e->kind != K_RSUM && e->kind != K_RPICK && inc != 1) continue;   /* columns: contiguous */
            if (e->kind == K_RPICK && n == 0) continue;                          /* n >= 1 */
            const int64_t span = n ? (n - 1) * ainc + 1 : 1;
            float *buf = malloc((size_t)span * sizeof(float));
            assert_non_null(buf);
            for (int64_t i = 0; i < span; i++) buf[i] = special();
            const float *x = inc < 0 ? buf + span - 1 : buf;   /* x[i*inc] stays inside */
            if (e->kind == K_RSUM) {
                float acc[NB_RSUM_LANES], want[NB_RSUM_LANES];
                for (int j = 0; j < NB_RSUM_LANES; j++) acc[j] = want[j] = nbt_uniform(-1, 1);
                for (int64_t i = 0; i < n; i++) want[i % NB_RSUM_LANES] += x[i * inc];
                ((nb_f32_rsum_ft *)e->fn)(n, x, inc, acc);
                for (int j = 0; j < NB_RSUM_LANES; j++)
                    if (!nbt_same_value(acc[j], want[j]))
                        fail_msg("%s n=%lld inc=%lld: lane %d = %a, twin %a", e->name, (long long)n,
                                 (long long)inc, j, (double)acc[j], (double)want[j]);
            } else if (e->kind == K_RPICK) {
                float want = x[0];
                for (int64_t i = 1; i < n; i++) want = pick(want, x[i * inc], e->a);
                const float got = ((nb_f32_rpick_ft *)e->fn)(n, x, inc);
                if (!nbt_same_value(got, want) || signbit(got) != signbit(want))
                    fail_msg("%s n=%lld inc=%lld: %a, twin %a", e->name, (long long)n, (long long)inc,
                             (double)got, (double)want);
            } else {
                float *acc = malloc((size_t)(n + 1) * sizeof(float)), *want = malloc((size_t)(n + 1) * sizeof(float));
                assert_non_null(acc); assert_non_null(want);
                for (int64_t j = 0; j <= n; j++) acc[j] = want[j] = special();
                for (int64_t j = 0; j < n; j++)
                    want[j] = e->a == 0 ? want[j] + x[j] : pick(want[j], x[j], e->a == 1);
                ((nb_f32_rcol_ft *)e->fn)(n, x, acc);
                for (int64_t j = 0; j <= n; j++)
                    if (!nbt_same_value(acc[j], want[j]) || signbit(acc[j]) != signbit(want[j]))
                        fail_msg("%s n=%lld: acc[%lld] = %a, twin %a%s", e->name, (long long)n, (long long)j,
                                 (double)acc[j], (double)want[j], j == n ? " (past the end)" : "");
                free(acc); free(want);
            }
            free(buf);
        }
}

static void reduction_kernels_match_their_twin(void **state) {
    (void)state;
    for_each(K_RSUM, check_reduce);
    for_each(K_RPICK, check_reduce);
    for_each(K_RCOL, check_reduce);
}

/* rrows: max / min bit for bit; the sum within its 16 roundings a row. */
static void check_rrows(const uk_entry *e) {
    for (int op = 0; op < 3; op++)
        for (int64_t n = 1; n <= NB_RROWS_MAX_N; n += (n < 18 ? 1 : 7))
            for (int64_t rows = 1; rows <= 19; rows += 3) {
                const int64_t ldx = n + nbt_range(0, 3);
                float *x = malloc((size_t)(rows * ldx) * sizeof(float)), *out = malloc((size_t)(rows + 1) * sizeof(float));
                assert_non_null(x); assert_non_null(out);
                nbt_fill_uniform(x, rows * ldx, -4, 4);
                out[rows] = -7.0f;
                ((nb_f32_rrows_ft *)e->fn)(op, rows, n, x, ldx, out);
                for (int64_t r = 0; r < rows; r++) {
                    const float *xr = x + r * ldx;
                    double sum = 0, mag = 0;
                    float want = xr[0];
                    for (int64_t c = 0; c < n; c++) {
                        sum += xr[c]; mag += fabs(xr[c]);
                        if (c) want = pick(want, xr[c], op == 1);
                    }
                    const int bad = op == 0 ? fabs(out[r] - sum) > 16 * 0x1p-24 * mag * (1 + 0x1p-20)
                                            : !nbt_same_value(out[r], want);
                    if (bad)
                        fail_msg("%s op=%d rows=%lld n=%lld: out[%lld] = %a, want %a", e->name, op,
                                 (long long)rows, (long long)n, (long long)r, (double)out[r],
                                 op == 0 ? sum : (double)want);
                }
                if (out[rows] != -7.0f) fail_msg("%s wrote past out[rows - 1]", e->name);
                free(x); free(out);
            }
}

static void row_reduction_kernels_match_their_twin(void **state) {
    (void)state;
    for_each(K_RROWS, check_rrows);
}

static void check_copy(const uk_entry *e) {
    for (int64_t m = 0; m <= 3 * e->a + 1; m += (m < 2 * e->a + 2 ? 1 : 5))
        for (int64_t n = 0; n <= 3 * e->a + 1; n += (n < 2 * e->a + 2 ? 1 : 5)) {
            const int64_t lds = m + nbt_range(0, 2), ldd = n + nbt_range(0, 2);
            uint32_t *src = malloc((size_t)(n * lds + 1) * 4), *dst = malloc((size_t)(m * ldd + 1) * 4);
            assert_non_null(src); assert_non_null(dst);
            for (int64_t i = 0; i <= n * lds; i++) src[i] = (uint32_t)nbt_next();
            for (int64_t i = 0; i <= m * ldd; i++) dst[i] = 0xdeadbeefu;
            if (e->kind == K_TRANSPOSE) {
                ((nb_x32_transpose_ft *)e->fn)(m, n, src, lds, dst, ldd, (int)nbt_range(0, 1));
                for (int64_t i = 0; i < m; i++)
                    for (int64_t j = 0; j < ldd; j++) {
                        const uint32_t want = j < n ? src[j * lds + i] : 0xdeadbeefu;
                        if (dst[i * ldd + j] != want)
                            fail_msg("%s m=%lld n=%lld: dst[%lld][%lld] wrong", e->name, (long long)m,
                                     (long long)n, (long long)i, (long long)j);
                    }
            } else {
                ((nb_x32_fill_ft *)e->fn)(m * n, src[0], dst);
                for (int64_t i = 0; i <= m * n; i++)
                    if (dst[i] != (i < m * n ? src[0] : 0xdeadbeefu))
                        fail_msg("%s n=%lld: dst[%lld] wrong", e->name, (long long)(m * n), (long long)i);
            }
            free(src); free(dst);
        }
}

static void copy_kernels_match_their_twin(void **state) {
    (void)state;
    for_each(K_TRANSPOSE, check_copy);
    for_each(K_FILL, check_copy);
}

/* ---- elementwise functions and softmax rows: the documented bounds ---- */

static void check_vunary(const uk_entry *e) {
    const nb_unary_op op = (nb_unary_op)e->a;
    for (int64_t n = 0; n <= 2 * e->b + 1 + 1000; n += (n <= 2 * e->b + 1 ? 1 : 1000)) {
        float *buf = malloc((size_t)(2 * n + 3) * sizeof(float));
        assert_non_null(buf);
        float *x = buf + 1, *y = buf + n + 2;   /* x unaligned */
        for (int64_t i = 0; i < n; i++) {
            x[i] = special() * (op == NB_UNARY_EXP ? 20.0f : 1.0f);
            if (op == NB_UNARY_LOG && nbt_range(0, 1)) x[i] = fabsf(x[i]);
        }
        y[n] = -7.0f;
        const int in_place = n % 2;
        if (in_place) memcpy(y, x, (size_t)n * sizeof(float));
        ((nb_f32_vunary_fn)e->fn)((size_t)n, in_place ? y : x, y);
        for (int64_t i = 0; i < n; i++) {
            double r = 0;
            if (!within(op, bounds_of(e->isa), x[i], y[i], &r))
                fail_msg("%s n=%lld: %s(%a) = %a, exact %.17g, %.3g x the bound", e->name, (long long)n,
                         op_names[op], (double)x[i], (double)y[i], oracle(op, x[i]), r);
        }
        if (y[n] != -7.0f) fail_msg("%s n=%lld wrote past the end", e->name, (long long)n);
        free(buf);
    }
}

static void elementwise_kernels_stay_within_their_bound(void **state) {
    (void)state;
    for_each(K_VUNARY, check_vunary);
}

static void check_softmax_row(const uk_entry *e) {
    for (int64_t n = 1; n <= 40; n++) {
        float *x = malloc((size_t)n * sizeof(float)), *y = malloc((size_t)(n + 1) * sizeof(float));
        assert_non_null(x); assert_non_null(y);
        for (int64_t i = 0; i < n; i++) x[i] = nbt_uniform(-30, 30) - (n % 3 == 0 ? 1000.0f : 0.0f);
        y[n] = -7.0f;
        ((nb_f32_softmax_row_fn)e->fn)((size_t)n, x, y);
        so_check(e->name, e->a, 1, n, x, n, y, n);
        if (y[n] != -7.0f) fail_msg("%s n=%lld wrote past the row", e->name, (long long)n);
        free(x); free(y);
    }
}

static void softmax_rows_stay_within_their_bound(void **state) {
    (void)state;
    for_each(K_SOFTMAX, check_softmax_row);
}

/* ---- im2col / col2im against the definition ---- */
/* One image, one filter: c, h, w, r, s, stride, padding and dilation (h, w). */
#define SHAPE(c_, h_, w_, r_, s_, sh, sw, ph, pw, dh, dw)                                    \
    {.n = 1, .c = c_, .h = h_, .w = w_, .k = 1, .r = r_, .s = s_, .stride_h = sh, .stride_w = sw, \
     .pad_h = ph, .pad_w = pw, .dilation_h = dh, .dilation_w = dw, .groups = 1}
static const nb_conv2d_desc conv_shapes[] = {
    SHAPE(2, 5, 7, 3, 3, 1, 1, 1, 1, 1, 1),
    SHAPE(3, 9, 11, 3, 2, 2, 2, 2, 3, 1, 2),
    SHAPE(1, 4, 19, 1, 5, 1, 3, 0, 6, 1, 1),
    /* images of at most 64 floats (AVX-512's small-image im2col): the small CNN's 8x8 and
       16-channel 4x4 layers, 64 floats with stride 2 and dilation, 1x1, a 5x5 window > image */
    SHAPE(1, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1),
    SHAPE(16, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1),
    SHAPE(3, 16, 4, 2, 3, 2, 1, 3, 2, 2, 1),
    SHAPE(2, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1),
    SHAPE(2, 3, 5, 5, 5, 1, 2, 2, 4, 1, 1),
    /* runs of 1..35 taps at stride 2 and 1 (full vectors and every tail) */
    SHAPE(2, 6, 70, 3, 3, 2, 2, 1, 1, 1, 1),
    SHAPE(1, 3, 37, 2, 3, 1, 1, 1, 2, 1, 1),
};

/* The input element that tap (c, r, s) of output pixel j reads, or -1 (padding). */
static int64_t tap_source(const nb_conv2d_desc *d, int64_t Q, int64_t c, int64_t r, int64_t s, int64_t j) {
    const int64_t ih = (j / Q) * d->stride_h - d->pad_h + r * d->dilation_h;
    const int64_t iw = (j % Q) * d->stride_w - d->pad_w + s * d->dilation_w;
    return ih < 0 || ih >= d->h || iw < 0 || iw >= d->w ? -1 : (c * d->h + ih) * d->w + iw;
}

static void check_im2col(const uk_entry *e) {
    for (size_t si = 0; si < sizeof conv_shapes / sizeof conv_shapes[0]; si++) {
        const nb_conv2d_desc *d = &conv_shapes[si];
        int64_t P, Q;
        nb_conv_out_dims(d, &P, &Q);
        const int64_t L = d->c * d->r * d->s, PQ = P * Q, HW = d->c * d->h * d->w;
        for (int64_t j0 = 0; j0 < PQ; j0 += 1 + j0 / 2) {
            const int64_t nj = nbt_range(1, PQ - j0), ldcol = nj + nbt_range(0, 3);
            float *x = malloc((size_t)HW * sizeof(float)), *col = malloc((size_t)(L * ldcol) * sizeof(float));
            float *want = malloc((size_t)(e->kind == K_IM2COL ? L * ldcol : HW) * sizeof(float));
            assert_non_null(x); assert_non_null(col); assert_non_null(want);
            nbt_fill_int(x, HW, 9);
            nbt_fill_int(col, L * ldcol, 9);
            if (e->kind == K_IM2COL) {
                memcpy(want, col, (size_t)(L * ldcol) * sizeof(float));
                for (int64_t l = 0; l < L; l++)
                    for (int64_t j = j0; j < j0 + nj; j++) {
                        const int64_t src = tap_source(d, Q, l / (d->r * d->s), l / d->s % d->r, l % d->s, j);
                        want[l * ldcol + j - j0] = src < 0 ? 0.0f : x[src];
                    }
                ((nb_conv_im2col_fn)e->fn)(d, d->c, P, Q, j0, nj, x, col, ldcol);
                for (int64_t i = 0; i < L * ldcol; i++)
                    if (!nbt_same_value(col[i], want[i]) || signbit(col[i]) != signbit(want[i]))
                        fail_msg("%s shape %zu j0=%lld nj=%lld: col[%lld] = %g, want %g", e->name, si,
                                 (long long)j0, (long long)nj, (long long)i, (double)col[i], (double)want[i]);
            } else {   /* integers: the adds are exact, any order gives these bits */
                memcpy(want, x, (size_t)HW * sizeof(float));
                for (int64_t l = 0; l < L; l++)
                    for (int64_t j = j0; j < j0 + nj; j++) {
                        const int64_t src = tap_source(d, Q, l / (d->r * d->s), l / d->s % d->r, l % d->s, j);
                        if (src >= 0) want[src] += col[l * ldcol + j - j0];
                    }
                ((nb_conv_col2im_fn)e->fn)(d, d->c, P, Q, j0, nj, col, ldcol, x);
                for (int64_t i = 0; i < HW; i++)
                    if (x[i] != want[i])
                        fail_msg("%s shape %zu j0=%lld nj=%lld: x[%lld] = %g, want %g", e->name, si,
                                 (long long)j0, (long long)nj, (long long)i, (double)x[i], (double)want[i]);
            }
            free(x); free(col); free(want);
        }
    }
}

static void im2col_and_col2im_match_the_definition(void **state) {
    (void)state;
    for_each(K_IM2COL, check_im2col);
    for_each(K_COL2IM, check_im2col);
}

/* One line (and one skipped case) per ISA this build has kernels for but
   this CPU cannot run (AVX-512 on a Zen 3 or under qemu, which emulates no
   AVX-512): its micro-kernels were not tested here. */
static void every_built_isa_runs_here_or_is_reported_skipped(void **state) {
    (void)state;
    int missing = 0;
    for (int isa = NB_ISA_REF + 1; isa < NB_ISA_COUNT; isa++) {
        int built = 0;
        for (const uk_entry *e = registry; e->name; e++) built |= e->isa == (nb_isa)isa;
        if (built && !nb_isa_supported((nb_isa)isa)) {
            printf("# %s: built, but this CPU cannot run it: its micro-kernels were skipped\n",
                   nb_isa_name((nb_isa)isa));
            missing++;
        }
    }
    if (missing) skip();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_built_isa_runs_here_or_is_reported_skipped),
        cmocka_unit_test(gemm_tiles_match_their_twin_on_every_edge),
        cmocka_unit_test(a_in_place_tiles_match_their_twin_on_every_edge),
        cmocka_unit_test(unpacked_tiles_match_their_twin_on_every_edge),
        cmocka_unit_test(row_kernels_match_their_twin),
        cmocka_unit_test(transposed_b_row_kernels_match_their_twin_per_kc_block),
        cmocka_unit_test(packers_match_their_twin),
        cmocka_unit_test(reduction_kernels_match_their_twin),
        cmocka_unit_test(row_reduction_kernels_match_their_twin),
        cmocka_unit_test(copy_kernels_match_their_twin),
        cmocka_unit_test(elementwise_kernels_stay_within_their_bound),
        cmocka_unit_test(softmax_rows_stay_within_their_bound),
        cmocka_unit_test(im2col_and_col2im_match_the_definition),
    };
    return nbt_run(tests);
}
