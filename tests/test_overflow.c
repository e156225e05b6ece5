/* The documented exception to the GEMM and convolution bounds
 * (include/nabla/kernels.h, "Overflow"): the SIMD paths accumulate each dot
 * product in float and apply alpha afterwards, so where a float
 * intermediate can exceed FLT_MAX the result may be +-Inf or NaN although
 * the exact one (and the reference's, accumulated in double) is finite.
 * Shown on both paths, and shadow mode (which checks every call against
 * the bound) must accept exactly that exception. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

#define HUGE_F 3e38f
enum { KBIG = 1000 };   /* more than two KC blocks on every ISA (AVX2 384, NEON 256) */

/* a.b = 2 HUGE_F (above FLT_MAX) scaled by alpha = 1/4: exactly HUGE_F / 2. */
static const float a2[2] = {HUGE_F, HUGE_F}, b2[2] = {1.0f, 1.0f};

/* +HUGE twice in the first KC block, -HUGE twice in the second: exactly 0.
   A float accumulation gets +Inf, then -Inf: NaN. */
static float amix[KBIG], bones[KBIG];
static void fill_mixed(void) {
    memset(amix, 0, sizeof amix);
    amix[0] = amix[1] = HUGE_F;
    amix[600] = amix[601] = -HUGE_F;
    for (int k = 0; k < KBIG; k++) bones[k] = 1.0f;
}

/* What the contract allows: the reference's value, or (only because a sum
   of magnitudes mag over `terms` terms exceeds FLT_MAX) +-Inf or NaN. */
static void expect_documented(const char *what, float got, float want, double mag, double terms) {
    if (nbt_same_value(got, want)) return;
    if (nb_check_overflow_exempt(got, mag, terms)) return;
    fail_msg("%s: %g where the reference gives %g (magnitude sum %g)", what, (double)got, (double)want, mag);
}

static void the_reference_gemm_gives_the_exact_result_where_float_sums_overflow(void **state) {
    (void)state;
    fill_mixed();
    float c = -1;
    assert_int_equal(nb_kernels_ref.sgemm(0, 0, 1, 1, 2, 0.25f, a2, 2, b2, 1, 0.0f, &c, 1), NB_OK);
    assert_true(c == 0.5f * HUGE_F);
    assert_int_equal(nb_kernels_ref.sgemm(0, 0, 1, 1, KBIG, 1.0f, amix, KBIG, bones, 1, 0.0f, &c, 1), NB_OK);
    assert_true(c == 0.0f);
}

static void simd_gemm_where_float_sums_overflow_is_exact_or_the_documented_inf_or_nan(void **state) {
    (void)state;
    fill_mixed();
    int tables = 0;
    for (nb_isa isa = NB_ISA_REF + 1; isa < NB_ISA_COUNT; isa++) {
        const struct nb_kernels *t = nb_kernels_for(isa);
        if (!t) continue;
        tables++;
        float c = -1;
        assert_int_equal(t->sgemm(0, 0, 1, 1, 2, 0.25f, a2, 2, b2, 1, 0.0f, &c, 1), NB_OK);
        expect_documented("alpha 1/4", c, 0.5f * HUGE_F, 2.0 * HUGE_F, 2);
        assert_int_equal(t->sgemm(0, 0, 1, 1, KBIG, 1.0f, amix, KBIG, bones, 1, 0.0f, &c, 1), NB_OK);
        expect_documented("+-huge", c, 0.0f, 4.0 * HUGE_F, KBIG);
        /* Away from FLT_MAX nothing is exempt: the same data scaled down is exact. */
        const float small[2] = {1e30f, 1e30f};
        assert_int_equal(t->sgemm(0, 0, 1, 1, 2, 0.25f, small, 2, b2, 1, 0.0f, &c, 1), NB_OK);
        assert_true(c == 0.5f * 1e30f);
    }
    if (!tables) skip();
}

/* Only a non-finite result is exempt, only above the threshold, and only
   for finite inputs (an Inf or NaN input makes the magnitude sum Inf/NaN:
   those results must match the reference's class). */
static void the_exception_covers_only_non_finite_results_of_huge_finite_sums(void **state) {
    (void)state;
    assert_true(nb_check_overflow_exempt(INFINITY, 2.0 * HUGE_F, 2));
    assert_true(nb_check_overflow_exempt(NAN, 4.0 * HUGE_F, KBIG));
    assert_false(nb_check_overflow_exempt(1.0f, 2.0 * HUGE_F, 2));
    assert_false(nb_check_overflow_exempt(INFINITY, 1e38, 2));
    assert_false(nb_check_overflow_exempt(INFINITY, INFINITY, 2));
    assert_false(nb_check_overflow_exempt(NAN, NAN, 2));
}

/* Shadow mode wraps the active ISA; the calls above through it must show
   no violation (and an ordinary wrong result still would: test_check.c). */
static void shadow_mode_accepts_the_documented_exception(void **state) {
    (void)state;
    fill_mixed();
    static struct nb_kernels t;
    t = nb_kernels_ref;
    nb_check_fill(&t, nb_kernels_active_unchecked);
    long calls0, viol0, calls, viol;
    double worst;
    nb_check_stats(NB_CHECK_SGEMM, &calls0, &viol0, &worst);
    float c;
    assert_int_equal(t.sgemm(0, 0, 1, 1, 2, 0.25f, a2, 2, b2, 1, 0.0f, &c, 1), NB_OK);
    assert_int_equal(t.sgemm(0, 0, 1, 1, KBIG, 1.0f, amix, KBIG, bones, 1, 0.0f, &c, 1), NB_OK);
    nb_check_stats(NB_CHECK_SGEMM, &calls, &viol, &worst);
    assert_int_equal(calls, calls0 + 2);
    assert_int_equal(viol, viol0);
    /* A 1x1 convolution over KBIG channels is the same dot product. */
    const nb_conv2d_desc d = {1, KBIG, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1};
    nb_check_stats(NB_CHECK_CONV_FWD, &calls0, &viol0, &worst);
    assert_int_equal(t.sconv2d_forward(&d, amix, bones, NULL, &c), NB_OK);
    nb_check_stats(NB_CHECK_CONV_FWD, &calls, &viol, &worst);
    assert_int_equal(calls, calls0 + 1);
    assert_int_equal(viol, viol0);
    float cref = -1;
    assert_int_equal(nb_kernels_ref.sconv2d_forward(&d, amix, bones, NULL, &cref), NB_OK);
    assert_true(cref == 0.0f);
    expect_documented("conv +-huge", c, cref, 4.0 * HUGE_F, KBIG);
}

/* +HUGE twice in the first KC block, -Inf in the second: exactly -Inf. A
   float accumulation gets +Inf, then NaN, which kernels.h accepts (an
   infinite term against finite terms whose magnitude sum alone overflows);
   so must shadow mode, whose magnitudes are over the finite terms (it once
   took the infinite term in and refused the exception). */
static void shadow_mode_accepts_nan_for_an_infinite_term_against_overflowing_finite_ones(void **state) {
    (void)state;
    fill_mixed();
    amix[600] = -INFINITY;
    amix[601] = 0.0f;
    static struct nb_kernels t;
    t = nb_kernels_ref;
    nb_check_fill(&t, nb_kernels_active_unchecked);
    long calls0, viol0, calls, viol;
    double worst;
    nb_check_stats(NB_CHECK_SGEMM, &calls0, &viol0, &worst);
    float c = 0, cref = 0;
    assert_int_equal(t.sgemm(0, 0, 1, 1, KBIG, 1.0f, amix, KBIG, bones, 1, 0.0f, &c, 1), NB_OK);
    nb_check_stats(NB_CHECK_SGEMM, &calls, &viol, &worst);
    assert_int_equal(calls, calls0 + 1);
    assert_int_equal(viol, viol0);
    assert_int_equal(nb_kernels_ref.sgemm(0, 0, 1, 1, KBIG, 1.0f, amix, KBIG, bones, 1, 0.0f, &cref, 1), NB_OK);
    assert_true(isinf(cref) && cref < 0);
    assert_true(isnan(c) || c == cref);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_reference_gemm_gives_the_exact_result_where_float_sums_overflow),
        cmocka_unit_test(simd_gemm_where_float_sums_overflow_is_exact_or_the_documented_inf_or_nan),
        cmocka_unit_test(the_exception_covers_only_non_finite_results_of_huge_finite_sums),
        cmocka_unit_test(shadow_mode_accepts_the_documented_exception),
        cmocka_unit_test(shadow_mode_accepts_nan_for_an_infinite_term_against_overflowing_finite_ones),
    };
    return nbt_run(tests);
}
