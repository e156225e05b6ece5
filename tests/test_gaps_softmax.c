/* Softmax and log_softmax of rows of every tail length 1..32 (twice the
 * widest vector nabla may get, AVX-512's 16 floats; AVX2 has 8, NEON 4),
 * filled with what a masked tail lane must not disturb: large negative
 * values (the row maximum below 0, as masked attention logits are), -inf
 * (a whole row, or among finite values) and one +inf. Issue 16: a row
 * maximum whose masked tail lanes start at 0 instead of -inf passed the
 * whole suite, since every row there had a maximum >= 0.
 *
 * Every row runs on every backend table this CPU has, out of place (input
 * and output against guard pages, so a tail that reads or writes past the
 * row crashes) and in place (the same bits), and through the public
 * nb_ssoftmax (the active ISA: "auto" or "ref" suite). The oracle is the
 * double-precision one of softmax_oracle.h, with PyTorch's rules: a row with
 * +inf, or of all -inf, is all NaN; -inf among finite values gives 0
 * (softmax) and -inf (log_softmax).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "kernels_table.h"
#include "softmax_oracle.h"

enum { MAXN = 32 };

static int tables(const struct nb_kernels *out[NB_ISA_COUNT]) {
    int k = 0;
    for (int isa = NB_ISA_REF; isa < NB_ISA_COUNT; isa++)
        if (nb_kernels_for((nb_isa)isa)) out[k++] = nb_kernels_for((nb_isa)isa);
    return k;
}

/* Rows checked by the running test (each on every table, both ops). */
static int64_t rows_run;

/* x (n floats) through every table out of place and in place, and through
   nb_ssoftmax, softmax and log_softmax, each checked against the oracle. */
static void run_row(const char *what, int64_t n, int64_t p, const float *row) {
    const struct nb_kernels *t[NB_ISA_COUNT];
    const int nt = tables(t);
    const size_t bytes = (size_t)n * sizeof(float);
    const int before = (int)(rows_run & 1);
    float *x = nbt_alloc_guarded(bytes, before), *y = nbt_alloc_guarded(bytes, !before);
    float *z = nbt_alloc_guarded(bytes, before);
    assert_non_null(x); assert_non_null(y); assert_non_null(z);
    memcpy(x, row, bytes);
    char who[96];
    for (int log = 0; log < 2; log++) {
        for (int k = 0; k <= nt; k++) {
            const char *isa = k < nt ? nb_isa_name(t[k]->isa) : "nb_ssoftmax";
            snprintf(who, sizeof who, "%s, %s n=%lld p=%lld", isa, what, (long long)n, (long long)p);
            for (int64_t j = 0; j < n; j++) y[j] = 12345.0f;
            const nb_status s = k < nt ? t[k]->ssoftmax(log, 1, n, x, n, y, n)
                                       : nb_ssoftmax(log, 1, n, x, n, y, n);
            if (s != NB_OK) fail_msg("%s: status %d", who, (int)s);
            so_check(who, log, 1, n, x, n, y, n);
            memcpy(z, x, bytes);
            if (k < nt) assert_int_equal(t[k]->ssoftmax(log, 1, n, z, n, z, n), NB_OK);
            else        assert_int_equal(nb_ssoftmax(log, 1, n, z, n, z, n), NB_OK);
            for (int64_t j = 0; j < n; j++)
                if (!nbt_same_value(y[j], z[j]))
                    fail_msg("%s %s: in place gives %a at %lld, out of place %a", who,
                             log ? "log_softmax" : "softmax", z[j], (long long)j, y[j]);
            assert_memory_equal(x, row, bytes);   /* the input is not written */
        }
    }
    nbt_free_guarded(x); nbt_free_guarded(y); nbt_free_guarded(z);
    rows_run++;
}

/* A spread of small gaps below the maximum: 1, 2.5, 1.5, 3, 2, ... */
static float gap(int64_t j) { return 1.0f + 0.5f * (float)((j * 3) % 5); }

/* ---- tests ---- */

/* The issue's input: one row of 5 (not a multiple of any vector width). */
static void issue16_row_of_five_large_negatives_matches_pytorch(void **state) {
    (void)state;
    const float x[5] = {-1000, -1001, -1002, -1003, -1004};
    double s = 0;
    for (int j = 0; j < 5; j++) s += exp(-(double)j);
    const struct nb_kernels *t[NB_ISA_COUNT];
    const int nt = tables(t);
    for (int k = 0; k <= nt; k++) {
        float y[5], ly[5];
        if (k < nt) {
            assert_int_equal(t[k]->ssoftmax(0, 1, 5, x, 5, y, 5), NB_OK);
            assert_int_equal(t[k]->ssoftmax(1, 1, 5, x, 5, ly, 5), NB_OK);
        } else {
            assert_int_equal(nb_ssoftmax(0, 1, 5, x, 5, y, 5), NB_OK);
            assert_int_equal(nb_ssoftmax(1, 1, 5, x, 5, ly, 5), NB_OK);
        }
        const char *isa = k < nt ? nb_isa_name(t[k]->isa) : "nb_ssoftmax";
        /* torch.softmax: y0 = 1 / sum_j e^-j = 0.63640..., log y0 = -0.45191... */
        if (!(fabs(y[0] - 1 / s) < 1e-6 && fabs(y[0] - 0.6364) < 1e-4 &&
              fabs(ly[0] + log(s)) < 1e-6 && fabs(ly[0] + 0.4519) < 1e-4))
            fail_msg("%s: softmax y0 = %.9g (want %.9g), log_softmax y0 = %.9g (want %.9g)",
                     isa, y[0], 1 / s, ly[0], -log(s));
        so_check(isa, 0, 1, 5, x, 5, y, 5);
        so_check(isa, 1, 1, 5, x, 5, ly, 5);
    }
}

/* Every length, the maximum at every position, at four magnitudes (at
   -1e30 and -FLT_MAX the gaps round away: uniform rows). */
static void large_negative_rows_of_every_tail_length(void **state) {
    (void)state;
    static const float bases[] = {-1000.0f, -1e5f, -1e30f, -FLT_MAX};
    float x[MAXN];
    rows_run = 0;
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++)
        for (int64_t n = 1; n <= MAXN; n++)
            for (int64_t p = 0; p < n; p++) {
                for (int64_t j = 0; j < n; j++) x[j] = bases[b] - gap(j);
                x[p] = bases[b];
                run_row("large negative", n, p, x);
            }
    print_message("# %lld rows\n", (long long)rows_run);
}

/* torch.softmax of a row of all -inf: NaN everywhere. */
static void all_minus_inf_rows_of_every_tail_length_are_nan(void **state) {
    (void)state;
    float x[MAXN];
    rows_run = 0;
    for (int64_t n = 1; n <= MAXN; n++) {
        for (int64_t j = 0; j < n; j++) x[j] = -INFINITY;
        run_row("all -inf", n, -1, x);
    }
    print_message("# %lld rows\n", (long long)rows_run);
}

/* -inf among large negative values: one finite value at p (softmax 1 / 0,
   log_softmax 0 / -inf), one -inf at p, and every other entry -inf. */
static void minus_inf_among_large_negatives_every_tail_length(void **state) {
    (void)state;
    float x[MAXN];
    rows_run = 0;
    for (int64_t n = 1; n <= MAXN; n++) {
        for (int64_t p = 0; p < n; p++) {
            for (int64_t j = 0; j < n; j++) x[j] = -INFINITY;
            x[p] = -1000.0f;
            run_row("one finite among -inf", n, p, x);
            if (n == 1) continue;   /* the row would be all -inf */
            for (int64_t j = 0; j < n; j++) x[j] = -1000.0f - gap(j);
            x[p] = -INFINITY;
            run_row("one -inf among large negatives", n, p, x);
        }
        for (int64_t j = 0; j < n; j++) x[j] = j % 2 ? -INFINITY : -1000.0f - gap(j);
        run_row("alternating -inf", n, -1, x);
    }
    print_message("# %lld rows\n", (long long)rows_run);
}

/* torch.softmax of a row with +inf: NaN everywhere, whatever the rest. */
static void one_plus_inf_makes_every_tail_length_nan(void **state) {
    (void)state;
    float x[MAXN];
    rows_run = 0;
    for (int64_t n = 1; n <= MAXN; n++)
        for (int64_t p = 0; p < n; p++) {
            for (int64_t j = 0; j < n; j++) x[j] = -1000.0f - gap(j);
            x[p] = INFINITY;
            run_row("+inf among large negatives", n, p, x);
            for (int64_t j = 0; j < n; j++) x[j] = -INFINITY;
            x[p] = INFINITY;
            run_row("+inf among -inf", n, p, x);
        }
    print_message("# %lld rows\n", (long long)rows_run);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(issue16_row_of_five_large_negatives_matches_pytorch),
        cmocka_unit_test(large_negative_rows_of_every_tail_length),
        cmocka_unit_test(all_minus_inf_rows_of_every_tail_length_are_nan),
        cmocka_unit_test(minus_inf_among_large_negatives_every_tail_length),
        cmocka_unit_test(one_plus_inf_makes_every_tail_length_nan),
    };
    return nbt_run(tests);
}
