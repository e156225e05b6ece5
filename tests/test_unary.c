/* nb_sunary: every backend table this CPU runs (ref, and avx2 or neon)
 * against a double-precision libm oracle, within each function's stated
 * error bound; SIMD against ref; sizes, tails, alignment, in place, special
 * values; the public entry point end to end.
 *
 * Error bounds (u = 2^-24; "b ULP" means |y - exact| <= b ulp(exact), and
 * 1 ULP <= 2u |exact|). The libm bounds are glibc's, measured over every
 * third float against double libm: expf 0.502, logf 0.817, tanhf 2.18,
 * erff 0.968 ULP, stated as 1, 1, 3, 1. SLEEF's _u10 functions: 1.0 ULP as
 * documented, except erff, measured at 1.096 ULP for arguments near FLT_MIN
 * (every fifth float, AVX2 build of SLEEF 3.5): 1.1 is used for it (NEON).
 * The AVX2 and AVX-512 tables use nabla's own polynomials, with the bounds
 * derived in kernels/avx2/vmath-avx2.h: exp 1.7, log 1.6, tanh 4.5, erf 2.2
 * ULP (x86_bounds in unary_oracle.h; maxima over all floats: README).
 *   exp, log, tanh: b ULP of the function.
 *   sigmoid (derivation in kernels/avx2/f32-vsigmoid-avx2.c): with e =
 *     exp(-|x|) of bound b_e ULP (relative 2 b_e u),
 *       x >= 0: |err| <= (b_e u + 2u) |s|     (e enters scaled by e/(1+e) <= 1/2)
 *       x <  0: |err| <= (2 b_e u + 2u) |s|   (e enters scaled by 1/(1+e) <= 1)
 *     plus (b_e + 1) 2^-149 absolute for subnormal results.
 *   gelu (derivation in kernels/avx2/f32-vgelu-avx2.c), erf of bound b_f:
 *       |err| <= 0.5|x| (2 b_f u |erf(z)| + u + 2u) + u |gelu(x)| + 2^-149
 *     where 2u covers the rounding of 1 + E (|1 + E| <= 2) and u the effect
 *     of rounding z = x/sqrt2 (max |t erf'(t)| 2u < u). The absolute term in
 *     |x| is what 1 + erf cancellation for x < 0 costs; for x >= 0 the bound
 *     is <= 6 b ULP-equivalent relative.
 *   relu: exact.
 * Every bound gets a factor 1 + 2^-20 for the O(u^2) terms and the oracle's
 * own (double) rounding.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kernels_table.h"

#include "unary_oracle.h"

static void check_all(nb_isa isa, nb_unary_op op, int64_t n, const float *x, const float *y) {
    const fn_bounds *b = bounds_of(isa);
    for (int64_t i = 0; i < n; i++) {
        double r = 0;
        if (!within(op, b, x[i], y[i], &r))
            fail_msg("%s/%s: x[%lld] = %a (%.9g): got %a (%.9g), exact %.17g, %.3g x the bound",
                     nb_isa_name(isa), op_names[op], (long long)i, x[i], x[i], y[i], y[i],
                     oracle(op, x[i]), r);
    }
}

/* ---- inputs ---- */

static float random_finite_bits(void) {
    for (;;) {
        const uint32_t u = (uint32_t)nbt_next();
        float f;
        memcpy(&f, &u, 4);
        if (isfinite(f)) return f;
    }
}

/* A mix: the interesting range of op, and random bit patterns (every binade
   from subnormals to FLT_MAX, both signs). */
static void fill_for(nb_unary_op op, float *x, int64_t n) {
    static const float lo[NOPS] = {-105.0f, 0.0f, -10.0f, -110.0f, -12.0f, -2.0f};
    static const float hi[NOPS] = {90.0f, 4.0f, 10.0f, 110.0f, 12.0f, 2.0f};
    for (int64_t i = 0; i < n; i++) {
        const int kind = (int)(nbt_next() % 4);
        float v = kind == 0 ? random_finite_bits() : kind == 1 ? nbt_uniform(-1.0f, 1.0f)
                                                               : nbt_uniform(lo[op], hi[op]);
        if (op == NB_UNARY_LOG && kind != 0) v = fabsf(v);
        x[i] = v;
    }
}

static const float specials[] = {
    NAN, -NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1.0f, -1.0f, 0.5f, -0.5f, 2.0f,
    0x1p-149f, -0x1p-149f, 0x1p-140f, -0x1.fffffcp-127f, FLT_MIN, -FLT_MIN, FLT_MAX, -FLT_MAX,
    1e-30f, -1e-30f, 1e-8f, -1e-8f, 1e30f, -1e30f,
    /* exp: largest finite result, first overflow, FLT_MIN boundary,
       subnormal range, smallest subnormal, underflow to 0 */
    0x1.62e42ep6f, 0x1.62e430p6f, 88.8f, 89.0f, -0x1.5d589ep6f, -0x1.5d58a0p6f, -90.0f,
    -100.0f, -0x1.9fe368p6f, -0x1.9fe36ap6f, -104.0f, -110.0f, -150.0f,
    /* sigmoid/gelu/tanh: saturation, cancellation */
    5.0f, -5.0f, 9.0f, -9.0f, 10.0f, -10.0f, 13.0f, -13.0f, 15.0f, -15.0f, 20.0f, -20.0f,
    0.0625f, -0.0625f, 0x1p-12f, -0x1p-12f, 0.55f, -0.55f,
    /* log: near 1, negative, subnormal */
    0x1.000002p0f, 0x1.fffffep-1f, 0x1.fffffcp-1f, -2.0f, -FLT_MAX, 3.0f, 10.0f,
};
#define NSPECIALS ((int64_t)(sizeof specials / sizeof specials[0]))

/* ---- the tables under test ---- */

static int tables(const struct nb_kernels *out[NB_ISA_COUNT]) {
    int k = 0;
    for (int isa = NB_ISA_REF; isa < NB_ISA_COUNT; isa++)
        if (nb_kernels_for((nb_isa)isa)) out[k++] = nb_kernels_for((nb_isa)isa);
    return k;
}

static int in_qemu(void) { return getenv("NABLA_QEMU") != NULL; }

/* ---- tests ---- */

static void every_backend_meets_its_bound_on_special_values(void **state) {
    (void)state;
    const struct nb_kernels *t[NB_ISA_COUNT];
    const int nt = tables(t);
    float y[NSPECIALS];
    for (int k = 0; k < nt; k++)
        for (int op = 0; op < NOPS; op++) {
            /* whole array, then one at a time so every special value also
               goes through the masked/partial tail path */
            assert_int_equal(t[k]->sunary((nb_unary_op)op, NSPECIALS, specials, y), NB_OK);
            check_all(t[k]->isa, (nb_unary_op)op, NSPECIALS, specials, y);
            for (int64_t i = 0; i < NSPECIALS; i++) {
                assert_int_equal(t[k]->sunary((nb_unary_op)op, 1, specials + i, y + i), NB_OK);
            }
            check_all(t[k]->isa, (nb_unary_op)op, NSPECIALS, specials, y);
        }
}

static void every_backend_meets_its_bound_on_random_inputs(void **state) {
    (void)state;
    const struct nb_kernels *t[NB_ISA_COUNT];
    const int nt = tables(t);
    const int64_t n = in_qemu() ? 20000 : 300000;
    float *x = malloc((size_t)n * sizeof(float)), *y = malloc((size_t)n * sizeof(float));
    assert_non_null(x); assert_non_null(y);
    for (int op = 0; op < NOPS; op++) {
        fill_for((nb_unary_op)op, x, n);
        for (int k = 0; k < nt; k++) {
            assert_int_equal(t[k]->sunary((nb_unary_op)op, n, x, y), NB_OK);
            check_all(t[k]->isa, (nb_unary_op)op, n, x, y);
        }
    }
    free(x); free(y);
}

/* Every float in a few binades around the cancellation/saturation regions,
   at a stride: the regions where the derived bounds are tight. */
static void derived_bounds_hold_across_critical_ranges(void **state) {
    (void)state;
    const struct nb_kernels *t[NB_ISA_COUNT];
    const int nt = tables(t);
    static const float from[] = {-20.0f, -1.0f, -104.0f, 0x1p-20f};
    static const float to[] = {-1.0f, 1.0f, -80.0f, 0x1p-10f};
    const int64_t n = in_qemu() ? 4096 : 65536;
    float *x = malloc((size_t)n * sizeof(float)), *y = malloc((size_t)n * sizeof(float));
    assert_non_null(x); assert_non_null(y);
    for (size_t r = 0; r < sizeof from / sizeof from[0]; r++) {
        for (int64_t i = 0; i < n; i++) x[i] = from[r] + (to[r] - from[r]) * (float)i / (float)n;
        for (int k = 0; k < nt; k++)
            for (int op = NB_UNARY_TANH; op <= NB_UNARY_GELU; op++) {
                assert_int_equal(t[k]->sunary((nb_unary_op)op, n, x, y), NB_OK);
                check_all(t[k]->isa, (nb_unary_op)op, n, x, y);
            }
    }
    free(x); free(y);
}

/* The bounds are tight enough to catch a wrong kernel: a result one part in
   2^20 off (or a naive sigmoid that returns 0 for x = -95) fails. */
static void the_oracle_check_rejects_wrong_results(void **state) {
    (void)state;
    const fn_bounds *b = &sleef_bounds;
    assert_false(within(NB_UNARY_EXP, b, 1.0f, (float)(exp(1.0) * (1 + 0x1p-20)), NULL));
    assert_false(within(NB_UNARY_SIGMOID, b, -95.0f, 0.0f, NULL));
    assert_false(within(NB_UNARY_GELU, b, 3.0f, (float)(3.0 * 0.99865 * (1 + 0x1p-19)), NULL));
    assert_false(within(NB_UNARY_RELU, b, NAN, 0.0f, NULL));
    assert_false(within(NB_UNARY_RELU, b, -0.0f, -0.0f, NULL));
    assert_false(within(NB_UNARY_LOG, b, -1.0f, -INFINITY, NULL));
    assert_true(within(NB_UNARY_EXP, b, 1.0f, expf(1.0f), NULL));
    /* nabla's x86 bounds are looser, and still reject these */
    assert_false(within(NB_UNARY_EXP, &x86_bounds, 1.0f, (float)(exp(1.0) * (1 + 0x1p-20)), NULL));
    assert_false(within(NB_UNARY_TANH, &x86_bounds, 0.5f, (float)(tanh(0.5) * (1 + 0x1p-20)), NULL));
    assert_false(within(NB_UNARY_LOG, &x86_bounds, 3.0f, (float)(log(3.0) * (1 + 0x1p-20)), NULL));
}

/* SIMD and ref differ by at most the sum of their bounds (relu: not at all). */
static void simd_matches_reference_within_the_sum_of_bounds(void **state) {
    (void)state;
    const struct nb_kernels *t[NB_ISA_COUNT];
    const int nt = tables(t);
    const struct nb_kernels *ref = nb_kernels_for(NB_ISA_REF);
    const int64_t n = 10007;
    float x[10007], yr[10007], ys[10007];
    for (int k = 0; k < nt; k++) {
        if (t[k]->isa == NB_ISA_REF) continue;
        for (int op = 0; op < NOPS; op++) {
            fill_for((nb_unary_op)op, x, n);
            memcpy(x, specials, sizeof specials);
            assert_int_equal(ref->sunary((nb_unary_op)op, n, x, yr), NB_OK);
            assert_int_equal(t[k]->sunary((nb_unary_op)op, n, x, ys), NB_OK);
            for (int64_t i = 0; i < n; i++) {
                const double exact = oracle((nb_unary_op)op, x[i]);
                if (isnan(yr[i]) || isnan(ys[i])) {
                    assert_true(isnan(yr[i]) && isnan(ys[i]));
                    continue;
                }
                const double tol = allowed((nb_unary_op)op, &libm_bounds, x[i], exact) +
                                   allowed((nb_unary_op)op, bounds_of(t[k]->isa), x[i], exact);
                const double lim = 0x1p128;
                const double a = isinf(yr[i]) ? copysign(lim, yr[i]) : yr[i];
                const double c = isinf(ys[i]) ? copysign(lim, ys[i]) : ys[i];
                if (!(fabs(a - c) <= tol))
                    fail_msg("%s vs ref, %s(%a): %a vs %a", nb_isa_name(t[k]->isa), op_names[op],
                             x[i], ys[i], yr[i]);
            }
        }
    }
}

/* Sizes around the vector width and unroll, at every misalignment, with the
   last element against a guard page (and the first after one): a tail that
   reads or writes past either end faults. */
static void tails_and_misalignment_never_touch_memory_outside(void **state) {
    (void)state;
    const struct nb_kernels *t[NB_ISA_COUNT];
    const int nt = tables(t);
    static const int64_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 23, 24, 31, 32, 33,
                                    47, 97, 1009};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int off = 0; off < 8; off++)
            for (int before = 0; before < 2; before++) {
                const int64_t n = sizes[s];
                const size_t bytes = (size_t)(n + off) * sizeof(float);
                float *xb = nbt_alloc_guarded(bytes, before), *yb = nbt_alloc_guarded(bytes, before);
                assert_non_null(xb); assert_non_null(yb);
                /* guard after: the data ends at the page; guard before: it
                   starts `off` floats after the page */
                float *x = before ? xb + off : xb + off, *y = before ? yb + off : yb + off;
                for (int k = 0; k < nt; k++)
                    for (int op = 0; op < NOPS; op++) {
                        fill_for((nb_unary_op)op, x, n);
                        for (int i = 0; i < off; i++) yb[i] = -7.0f;
                        assert_int_equal(t[k]->sunary((nb_unary_op)op, n, x, y), NB_OK);
                        check_all(t[k]->isa, (nb_unary_op)op, n, x, y);
                        for (int i = 0; i < off; i++) assert_true(yb[i] == -7.0f);
                    }
                nbt_free_guarded(xb); nbt_free_guarded(yb);
            }
}

static void in_place_gives_the_same_bits_as_out_of_place(void **state) {
    (void)state;
    const struct nb_kernels *t[NB_ISA_COUNT];
    const int nt = tables(t);
    enum { N = 1031 };
    float x[N], y[N], z[N];
    for (int k = 0; k < nt; k++)
        for (int op = 0; op < NOPS; op++) {
            fill_for((nb_unary_op)op, x, N);
            memcpy(z, x, sizeof x);
            assert_int_equal(t[k]->sunary((nb_unary_op)op, N, x, y), NB_OK);
            assert_int_equal(t[k]->sunary((nb_unary_op)op, N, z, z), NB_OK);
            for (int i = 0; i < N; i++) assert_true(nbt_same_value(y[i], z[i]));
        }
}

/* Public entry point, large and prime n (crosses the threading threshold):
   within the active backend's bound, and the same bits on 1 and 2 threads. */
static void public_entry_point_on_a_large_prime_size_is_thread_count_invariant(void **state) {
    (void)state;
    const int64_t n = in_qemu() ? 100003 : 1000003;
    float *x = nbt_alloc_guarded((size_t)n * sizeof(float), 0);
    float *y1 = nbt_alloc_guarded((size_t)n * sizeof(float), 0);
    float *y2 = nbt_alloc_guarded((size_t)n * sizeof(float), 1);
    assert_non_null(x); assert_non_null(y1); assert_non_null(y2);
    const int saved = nb_get_num_threads();
    for (int op = 0; op < NOPS; op++) {
        fill_for((nb_unary_op)op, x, n);
        nb_set_num_threads(1);
        assert_int_equal(nb_sunary((nb_unary_op)op, n, x, y1), NB_OK);
        nb_set_num_threads(2);
        assert_int_equal(nb_sunary((nb_unary_op)op, n, x, y2), NB_OK);
        check_all(nb_isa_active(), (nb_unary_op)op, n, x, y1);
        assert_memory_equal(y1, y2, (size_t)n * sizeof(float));
    }
    nb_set_num_threads(saved);
    nbt_free_guarded(x); nbt_free_guarded(y1); nbt_free_guarded(y2);
}

static void documented_special_cases(void **state) {
    (void)state;
    const float x[8] = {-INFINITY, INFINITY, NAN, -0.0f, 0.0f, -1.0f, -200.0f, 200.0f};
    float y[8];
    assert_int_equal(nb_sunary(NB_UNARY_EXP, 8, x, y), NB_OK);
    assert_true(y[0] == 0.0f && isinf(y[1]) && isnan(y[2]) && y[3] == 1.0f && y[6] == 0.0f &&
                isinf(y[7]));
    assert_int_equal(nb_sunary(NB_UNARY_LOG, 8, x, y), NB_OK);
    assert_true(isnan(y[0]) && isinf(y[1]) && y[1] > 0 && isnan(y[2]) && isinf(y[3]) &&
                y[3] < 0 && isinf(y[4]) && y[4] < 0 && isnan(y[5]) && isnan(y[6]));
    assert_int_equal(nb_sunary(NB_UNARY_TANH, 8, x, y), NB_OK);
    assert_true(y[0] == -1.0f && y[1] == 1.0f && isnan(y[2]) && y[3] == 0.0f && signbit(y[3]));
    assert_int_equal(nb_sunary(NB_UNARY_SIGMOID, 8, x, y), NB_OK);
    assert_true(y[0] == 0.0f && y[1] == 1.0f && isnan(y[2]) && y[3] == 0.5f && y[6] == 0.0f &&
                y[7] == 1.0f);
    assert_int_equal(nb_sunary(NB_UNARY_GELU, 8, x, y), NB_OK);
    assert_true(isnan(y[0]) && isinf(y[1]) && y[1] > 0 && isnan(y[2]) && y[3] == 0.0f &&
                y[6] == 0.0f && y[7] == 200.0f);
    assert_int_equal(nb_sunary(NB_UNARY_RELU, 8, x, y), NB_OK);
    assert_true(y[0] == 0.0f && isinf(y[1]) && isnan(y[2]) && y[3] == 0.0f && !signbit(y[3]) &&
                y[5] == 0.0f && y[7] == 200.0f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_oracle_check_rejects_wrong_results),
        cmocka_unit_test(every_backend_meets_its_bound_on_special_values),
        cmocka_unit_test(every_backend_meets_its_bound_on_random_inputs),
        cmocka_unit_test(derived_bounds_hold_across_critical_ranges),
        cmocka_unit_test(simd_matches_reference_within_the_sum_of_bounds),
        cmocka_unit_test(tails_and_misalignment_never_touch_memory_outside),
        cmocka_unit_test(in_place_gives_the_same_bits_as_out_of_place),
        cmocka_unit_test(public_entry_point_on_a_large_prime_size_is_thread_count_invariant),
        cmocka_unit_test(documented_special_cases),
    };
    return nbt_run(tests);
}
