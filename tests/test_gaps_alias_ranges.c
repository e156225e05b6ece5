/* Overlap at the entry points on matrices and dense tensors (issue 16, row
 * 3, the rest of the family): nb_sgemm/nb_dgemm (C against A and B, each
 * dense or with padded rows, transposed or not), the six conv functions
 * (every output against every other tensor), nb_sunary and nb_ssoftmax
 * (y against x, exact in place allowed). Each pair is tried at every start
 * offset of one operand around the other, from disjoint on one side to
 * disjoint on the other.
 *
 * The oracle is brute force: each operand's element set is marked in a
 * bitmap. Sharing an element: NB_ERR_ALIAS and nothing written (except the
 * documented exact in-place cases: y == x in nb_sunary, y == x with
 * ldy == ldx in nb_ssoftmax, which must be accepted and correct). Disjoint
 * ranges: accepted and correct (against double-precision loops and
 * conv_oracle.c), nothing else written. Sets disjoint but ranges
 * interleaved (C inside A's row padding): either, as these checks compare
 * ranges. Two inputs sharing memory are always accepted.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "conv_oracle.h"
#include "harness.h"
#include "softmax_oracle.h"

enum { POOL = 1024, FIXED = 300 };
enum { MUST_REFUSE, MUST_ACCEPT, EITHER };

static float fp[POOL], fsnap[POOL];
static double dp[POOL], dsnap[POOL];
static unsigned char map_a[POOL], map_b[POOL], outmap[POOL];

typedef struct { int64_t refused, accepted, either; } tally;

static void fill_pool(void) {
    for (int i = 0; i < POOL; i++) {
        dp[i] = (double)((int64_t)(nbt_next() % 7) - 3);
        fp[i] = (float)dp[i];
    }
    memcpy(fsnap, fp, sizeof fp);
    memcpy(dsnap, dp, sizeof dp);
}

static double pool_at(int dbl, int64_t i) { return dbl ? dp[i] : (double)fp[i]; }
static double snap_at(int dbl, int64_t i) { return dbl ? dsnap[i] : (double)fsnap[i]; }

/* rows x cols at element offset `at` with leading dimension ld. */
static void mark_matrix(unsigned char *map, int64_t at, int64_t rows, int64_t cols, int64_t ld) {
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            assert_true(at + i * ld + j >= 0 && at + i * ld + j < POOL);
            map[at + i * ld + j] = 1;
        }
}

/* The rule for two operands marked in map_a / map_b, spanning [a0, a1) and
   [b0, b1). */
static int rule(int64_t a0, int64_t a1, int64_t b0, int64_t b1) {
    int share = 0;
    for (int i = 0; i < POOL; i++) share |= map_a[i] & map_b[i];
    if (share) return MUST_REFUSE;
    return a1 <= b0 || b1 <= a0 ? MUST_ACCEPT : EITHER;
}

/* Status against the rule; a refused call must leave the pool alone, an
   accepted one must not write outside outmap. Returns 1 when the caller
   should check the values. */
static int judge(const char *who, nb_status st, int want, int dbl, tally *t) {
    if (st != NB_OK && st != NB_ERR_ALIAS) fail_msg("%s: status %d (%s)", who, (int)st, nb_last_error());
    if (want == MUST_REFUSE && st != NB_ERR_ALIAS) fail_msg("%s: shares elements, accepted", who);
    if (want == MUST_ACCEPT && st != NB_OK) fail_msg("%s: refused: %s", who, nb_last_error());
    for (int i = 0; i < POOL; i++)
        if ((st != NB_OK || !outmap[i]) && !(pool_at(dbl, i) == snap_at(dbl, i)))
            fail_msg("%s: element %d written (status %d)", who, i, (int)st);
    t->either += want == EITHER;
    if (st != NB_OK) { t->refused++; return 0; }
    t->accepted++;
    return 1;
}

static void report(const tally *t) {
    print_message("# %lld cases: %lld refused, %lld accepted; %lld of them interleave "
                  "without a shared element (either answer allowed)\n", (long long)(t->refused + t->accepted),
                  (long long)t->refused, (long long)t->accepted, (long long)t->either);
}

/* ---- GEMM ---- */

/* C (3 x 4, ldc = 4 + pad_c) at FIXED + shift against A (ta) or B (tb) at
   FIXED, its rows padded by pad_in; the other input far away. K = 2. */
static void gemm_case(int dbl, int ta, int tb, char which, int64_t pad_in, int64_t pad_c,
                      int64_t shift, tally *t) {
    const int64_t M = 3, N = 4, K = 2;
    const int64_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    const int64_t lda = ac + (which == 'A' ? pad_in : 0), ldb = bc + (which == 'B' ? pad_in : 0);
    const int64_t ldc = N + pad_c;
    const int64_t a_at = which == 'A' ? FIXED : 800, b_at = which == 'B' ? FIXED : 800;
    const int64_t c_at = FIXED + shift;
    memset(map_a, 0, POOL); memset(map_b, 0, POOL); memset(outmap, 0, POOL);
    if (which == 'A') mark_matrix(map_a, a_at, ar, ac, lda);
    else              mark_matrix(map_a, b_at, br, bc, ldb);
    mark_matrix(map_b, c_at, M, N, ldc);
    mark_matrix(outmap, c_at, M, N, ldc);
    const int64_t in_at = which == 'A' ? a_at : b_at;
    const int64_t in_end = in_at + (which == 'A' ? (ar - 1) * lda + ac : (br - 1) * ldb + bc);
    const int want = rule(in_at, in_end, c_at, c_at + (M - 1) * ldc + N);
    fill_pool();
    const nb_status st = dbl
        ? nb_dgemm(ta, tb, M, N, K, 1.0, dp + a_at, lda, dp + b_at, ldb, 1.0, dp + c_at, ldc)
        : nb_sgemm(ta, tb, M, N, K, 1.0f, fp + a_at, lda, fp + b_at, ldb, 1.0f, fp + c_at, ldc);
    char who[160];
    snprintf(who, sizeof who, "%s %c%c: C (ldc %lld) at %+lld from %c (ld %lld)",
             dbl ? "nb_dgemm" : "nb_sgemm", ta ? 'T' : 'N', tb ? 'T' : 'N', (long long)ldc,
             (long long)shift, which, (long long)(which == 'A' ? lda : ldb));
    if (!judge(who, st, want, dbl, t) || want == EITHER) return;
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = snap_at(dbl, c_at + i * ldc + j);
            for (int64_t k = 0; k < K; k++)
                s += snap_at(dbl, a_at + (ta ? k * lda + i : i * lda + k)) *
                     snap_at(dbl, b_at + (tb ? j * ldb + k : k * ldb + j));
            if (pool_at(dbl, c_at + i * ldc + j) != s)
                fail_msg("%s: C[%lld, %lld] = %g, want %g", who, (long long)i, (long long)j,
                         pool_at(dbl, c_at + i * ldc + j), s);
        }
}

/* Row paddings: with ldc == lda, rows of C fit in A's padding and back. */
static void gemm_output_against_each_input_at_every_offset(void **state) {
    (void)state;
    static const int64_t pads_in[] = {0, 2, 3, 4}, pads_c[] = {0, 2, 3};
    tally t = {0, 0, 0};
    for (int dbl = 0; dbl < 2; dbl++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int w = 0; w < 2; w++)
                    for (int pi = 0; pi < 4; pi++)
                        for (int pc = 0; pc < 3; pc++)
                            for (int64_t sh = -24; sh <= 24; sh++)
                                gemm_case(dbl, ta, tb, w ? 'B' : 'A', pads_in[pi], pads_c[pc], sh, &t);
    report(&t);
}

/* A and B may be the same memory (x x^T): inputs are only read. */
static void gemm_inputs_sharing_memory_are_accepted(void **state) {
    (void)state;
    float x[6] = {1, 2, 3, 4, 5, 6}, c[4] = {0};
    assert_int_equal(nb_sgemm(0, 1, 2, 2, 3, 1.0f, x, 3, x, 3, 0.0f, c, 2), NB_OK);
    assert_true(c[0] == 14 && c[1] == 32 && c[2] == 32 && c[3] == 77);
    double xd[6] = {1, 2, 3, 4, 5, 6}, cd[4] = {0};
    /* B (2 x 2 at xd + 1, ld 3) overlaps A (2 x 2 at xd, ld 3). */
    assert_int_equal(nb_dgemm(0, 1, 2, 2, 2, 1.0, xd, 3, xd + 1, 3, 0.0, cd, 2), NB_OK);
    assert_true(cd[0] == 8 && cd[1] == 17 && cd[2] == 23 && cd[3] == 50);
}

/* ---- convolution ---- */

/* x 1x2x3x3 (18), w 2x2x2x2 (16), y 1x2x2x2 (8), bias 2. */
static const nb_conv2d_desc D = {1, 2, 3, 3, 2, 2, 2, 1, 1, 0, 0, 1, 1, 1};
enum { LX = 18, LW = 16, LY = 8, LB = 2 };
enum { FWD, BDATA, BFILTER };
typedef struct { const char *name; int64_t len; int out; } targ;
/* Tensors of each function, in signature order. */
static const targ fwd_args[] = {{"x", LX, 0}, {"w", LW, 0}, {"bias", LB, 0}, {"y", LY, 1}};
static const targ bdata_args[] = {{"dy", LY, 0}, {"w", LW, 0}, {"dx", LX, 1}};
static const targ bfilt_args[] = {{"x", LX, 0}, {"dy", LY, 0}, {"dw", LW, 1}, {"dbias", LB, 1}};

static nb_status conv_call(int f, int dbl, const int64_t *at) {
    if (dbl) {
        double *p[4] = {dp + at[0], dp + at[1], dp + at[2], f == BDATA ? NULL : dp + at[3]};
        if (f == FWD) return nb_dconv2d_forward(&D, p[0], p[1], p[2], p[3]);
        if (f == BDATA) return nb_dconv2d_backward_data(&D, p[0], p[1], p[2]);
        return nb_dconv2d_backward_filter(&D, p[0], p[1], p[2], p[3]);
    }
    float *p[4] = {fp + at[0], fp + at[1], fp + at[2], f == BDATA ? NULL : fp + at[3]};
    if (f == FWD) return nb_sconv2d_forward(&D, p[0], p[1], p[2], p[3]);
    if (f == BDATA) return nb_sconv2d_backward_data(&D, p[0], p[1], p[2]);
    return nb_sconv2d_backward_filter(&D, p[0], p[1], p[2], p[3]);
}

/* The outputs of function f from the snapshot, checked exactly (small
   integers: every sum is exact). */
static void conv_check(const char *who, int f, int dbl, const int64_t *at) {
    double in[3][LX], exact[LX + LB], mag[LX + LB];
    const targ *a = f == FWD ? fwd_args : f == BDATA ? bdata_args : bfilt_args;
    for (int i = 0; i < 3; i++)
        if (!a[i].out)
            for (int64_t j = 0; j < a[i].len; j++) in[i][j] = snap_at(dbl, at[i] + j);
    int64_t n_out = 0;
    if (f == FWD) { oc_forward(&D, in[0], in[1], in[2], exact, mag); n_out = LY; }
    if (f == BDATA) { oc_backward_data(&D, in[0], in[1], exact, mag); n_out = LX; }
    if (f == BFILTER) {
        oc_backward_filter(&D, in[0], in[1], exact, mag);
        oc_backward_bias(&D, in[1], exact + LW, mag);
        n_out = LW + LB;
    }
    const int out0 = f == FWD ? 3 : 2;
    for (int64_t j = 0; j < n_out; j++) {
        const int o = f == BFILTER && j >= LW ? 3 : out0;
        const int64_t e = f == BFILTER && j >= LW ? j - LW : j;
        if (pool_at(dbl, at[o] + e) != exact[j])
            fail_msg("%s: %s[%lld] = %g, want %g", who, a[o].name, (long long)e,
                     pool_at(dbl, at[o] + e), exact[j]);
    }
}

/* Tensor m moves around tensor s (at FIXED); the others sit apart. */
static void conv_case(int f, int dbl, int s, int m, int64_t shift, tally *t) {
    const targ *a = f == FWD ? fwd_args : f == BDATA ? bdata_args : bfilt_args;
    const int n = f == BDATA ? 3 : 4;
    int64_t at[4];
    for (int i = 0; i < n; i++) at[i] = 500 + 100 * i;
    at[s] = FIXED;
    at[m] = FIXED + shift;
    memset(map_a, 0, POOL); memset(map_b, 0, POOL); memset(outmap, 0, POOL);
    mark_matrix(map_a, at[s], 1, a[s].len, a[s].len);
    mark_matrix(map_b, at[m], 1, a[m].len, a[m].len);
    for (int i = 0; i < n; i++) if (a[i].out) mark_matrix(outmap, at[i], 1, a[i].len, a[i].len);
    int want = rule(at[s], at[s] + a[s].len, at[m], at[m] + a[m].len);
    if (!a[s].out && !a[m].out) want = MUST_ACCEPT;   /* two inputs */
    fill_pool();
    char who[160];
    snprintf(who, sizeof who, "%s%s: %s at %+lld from %s", dbl ? "nb_dconv2d_" : "nb_sconv2d_",
             f == FWD ? "forward" : f == BDATA ? "backward_data" : "backward_filter", a[m].name,
             (long long)shift, a[s].name);
    const nb_status st = conv_call(f, dbl, at);
    if (judge(who, st, want, dbl, t) && want != EITHER) conv_check(who, f, dbl, at);
}

static void conv_every_pair_with_an_output_at_every_offset(void **state) {
    (void)state;
    tally t = {0, 0, 0};
    for (int dbl = 0; dbl < 2; dbl++)
        for (int f = FWD; f <= BFILTER; f++) {
            const targ *a = f == FWD ? fwd_args : f == BDATA ? bdata_args : bfilt_args;
            const int n = f == BDATA ? 3 : 4;
            for (int s = 0; s < n; s++)
                for (int m = 0; m < n; m++) {
                    if (m == s) continue;
                    for (int64_t sh = -a[m].len - 1; sh <= a[s].len + 1; sh++)
                        conv_case(f, dbl, s, m, sh, &t);
                }
        }
    report(&t);
}

/* ---- elementwise and softmax ---- */

static void unary_y_against_x_at_every_offset(void **state) {
    (void)state;
    static const int64_t ns[] = {1, 5, 8, 9, 17, 33};
    tally t = {0, 0, 0};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
        for (int64_t sh = -ns[k] - 1; sh <= ns[k] + 1; sh++) {
            const int64_t n = ns[k], y_at = FIXED + sh;
            memset(map_a, 0, POOL); memset(map_b, 0, POOL); memset(outmap, 0, POOL);
            mark_matrix(map_a, FIXED, 1, n, n);
            mark_matrix(map_b, y_at, 1, n, n);
            mark_matrix(outmap, y_at, 1, n, n);
            const int want = sh == 0 ? MUST_ACCEPT : rule(FIXED, FIXED + n, y_at, y_at + n);
            fill_pool();
            char who[96];
            snprintf(who, sizeof who, "nb_sunary: y at %+lld from x, n = %lld", (long long)sh, (long long)n);
            if (!judge(who, nb_sunary(NB_UNARY_RELU, n, fp + FIXED, fp + y_at), want, 0, &t)) continue;
            for (int64_t j = 0; j < n; j++)
                if (fp[y_at + j] != fmaxf(fsnap[FIXED + j], 0.0f))
                    fail_msg("%s: y[%lld] = %g", who, (long long)j, fp[y_at + j]);
        }
    report(&t);
}

static void softmax_y_against_x_at_every_offset(void **state) {
    (void)state;
    static const int64_t colss[] = {1, 5, 8, 9};
    tally t = {0, 0, 0};
    for (size_t c = 0; c < sizeof colss / sizeof colss[0]; c++)
        for (int64_t px = 0; px <= 3; px += 3)
            for (int64_t py = 0; py <= 2; py += 2)
                for (int log = 0; log < 2; log++) {
                    const int64_t rows = 3, cols = colss[c], ldx = cols + px, ldy = cols + py;
                    const int64_t sx = (rows - 1) * ldx + cols, sy = (rows - 1) * ldy + cols;
                    for (int64_t sh = -sy - 1; sh <= sx + 1; sh++) {
                        const int64_t y_at = FIXED + sh;
                        memset(map_a, 0, POOL); memset(map_b, 0, POOL); memset(outmap, 0, POOL);
                        mark_matrix(map_a, FIXED, rows, cols, ldx);
                        mark_matrix(map_b, y_at, rows, cols, ldy);
                        mark_matrix(outmap, y_at, rows, cols, ldy);
                        const int in_place = sh == 0 && ldx == ldy;
                        const int want = in_place ? MUST_ACCEPT : rule(FIXED, FIXED + sx, y_at, y_at + sy);
                        fill_pool();
                        char who[128];
                        snprintf(who, sizeof who, "nb_ssoftmax(log=%d): y (ldy %lld) at %+lld from x "
                                 "(ldx %lld), cols %lld", log, (long long)ldy, (long long)sh,
                                 (long long)ldx, (long long)cols);
                        const nb_status st = nb_ssoftmax(log, rows, cols, fp + FIXED, ldx, fp + y_at, ldy);
                        if (judge(who, st, want, 0, &t) && want != EITHER)
                            so_check(who, log, rows, cols, fsnap + FIXED, ldx, fp + y_at, ldy);
                    }
                }
    report(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gemm_output_against_each_input_at_every_offset),
        cmocka_unit_test(gemm_inputs_sharing_memory_are_accepted),
        cmocka_unit_test(conv_every_pair_with_an_output_at_every_offset),
        cmocka_unit_test(unary_y_against_x_at_every_offset),
        cmocka_unit_test(softmax_y_against_x_at_every_offset),
    };
    return nbt_run(tests);
}
