/* Dispatch: the table is complete, NABLA_ISA is honoured, unsupported ISAs
 * are refused, and what is reported matches what runs. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kernels_table.h"

static void every_slot_of_every_usable_table_is_set(void **state) {
    (void)state;
    int tables = 0;
    for (int isa = NB_ISA_REF; isa < NB_ISA_COUNT; isa++) {
        const struct nb_kernels *t = nb_kernels_for((nb_isa)isa);
        if (!t) continue;
        tables++;
        assert_int_equal(t->isa, isa);
        for (int i = 0; i < nb_kernel_slot_count; i++)
            assert_true(nb_kernels_slot_is_set(t, i));
    }
    assert_true(tables >= 1);
}

static void reference_is_always_supported(void **state) {
    (void)state;
    assert_true(nb_isa_supported(NB_ISA_REF));
    assert_non_null(nb_kernels_for(NB_ISA_REF));
}

static void a_supported_simd_isa_overrides_at_least_one_slot(void **state) {
    (void)state;
    const struct nb_kernels *ref = nb_kernels_for(NB_ISA_REF);
    for (int isa = NB_ISA_REF + 1; isa < NB_ISA_COUNT; isa++) {
        const struct nb_kernels *t = nb_kernels_for((nb_isa)isa);
        if (!t) continue;
        int overridden = 0;
        for (int i = 0; i < nb_kernel_slot_count; i++) overridden += nb_kernels_slot_differs(t, ref, i);
        assert_true(overridden > 0);
    }
}

static void nabla_isa_environment_is_honoured(void **state) {
    (void)state;
    const char *env = getenv("NABLA_ISA");
    if (env && strcmp(env, "ref") == 0) {
        assert_int_equal(nb_isa_active(), NB_ISA_REF);
    } else {
        /* auto: the best supported ISA (avx512 > avx2 > neon > ref) */
        nb_isa best = nb_isa_supported(NB_ISA_AVX512) ? NB_ISA_AVX512
                      : nb_isa_supported(NB_ISA_AVX2) ? NB_ISA_AVX2
                      : nb_isa_supported(NB_ISA_NEON) ? NB_ISA_NEON
                                                      : NB_ISA_REF;
        assert_int_equal(nb_isa_active(), best);
    }
}

static void avx2_is_supported_only_where_the_cpu_runs_it(void **state) {
    (void)state;
    const uint32_t need = NB_CPU_AVX | NB_CPU_AVX2 | NB_CPU_FMA;
    if (nb_isa_supported(NB_ISA_AVX2)) assert_int_equal(nb_cpu_features() & need, need);
    if (nb_isa_supported(NB_ISA_NEON)) assert_true(nb_cpu_features() & NB_CPU_ASIMD);
    /* x86-64-v4: AVX512F, BW, DQ, VL with the OS saving their state. */
    const uint32_t v4 = need | NB_CPU_AVX512F | NB_CPU_AVX512BW | NB_CPU_AVX512DQ | NB_CPU_AVX512VL;
    if (nb_isa_supported(NB_ISA_AVX512)) assert_int_equal(nb_cpu_features() & v4, v4);
}

static void setting_an_unsupported_isa_fails_and_changes_nothing(void **state) {
    (void)state;
    const nb_isa before = nb_isa_active();
    for (int isa = NB_ISA_REF + 1; isa < NB_ISA_COUNT; isa++) {
        if (nb_isa_supported((nb_isa)isa)) continue;
        assert_int_equal(nb_isa_set((nb_isa)isa), NB_ERR_UNSUPPORTED);
        assert_non_null(strstr(nb_last_error(), "nb_isa_set"));
        assert_non_null(strstr(nb_last_error(), nb_isa_name((nb_isa)isa)));
        assert_int_equal(nb_isa_active(), before);
    }
    assert_int_equal(nb_isa_set((nb_isa)42), NB_ERR_ARG);
    assert_int_equal(nb_isa_active(), before);
}

static void setting_a_supported_isa_switches_the_table(void **state) {
    (void)state;
    const nb_isa before = nb_isa_active();
    for (int isa = NB_ISA_REF; isa < NB_ISA_COUNT; isa++) {
        if (!nb_isa_supported((nb_isa)isa)) continue;
        assert_int_equal(nb_isa_set((nb_isa)isa), NB_OK);
        assert_int_equal(nb_isa_active(), isa);
        assert_ptr_equal(nb_kernels_active(), nb_kernels_for((nb_isa)isa));
    }
    assert_int_equal(nb_isa_set(before), NB_OK);
}

static void isa_names_round_trip(void **state) {
    (void)state;
    assert_string_equal(nb_isa_name(NB_ISA_REF), "ref");
    assert_string_equal(nb_isa_name(NB_ISA_AVX2), "avx2");
    assert_string_equal(nb_isa_name(NB_ISA_NEON), "neon");
    assert_string_equal(nb_isa_name(NB_ISA_AVX512), "avx512");
}

static void thread_count_can_be_set_and_restored(void **state) {
    (void)state;
    const int dflt = nb_get_num_threads();
    assert_true(dflt >= 1);
    nb_set_num_threads(3);
    assert_int_equal(nb_get_num_threads(), 3);
    nb_set_num_threads(0);
    assert_int_equal(nb_get_num_threads(), dflt);
}

static void status_strings_are_distinct(void **state) {
    (void)state;
    for (int a = NB_OK; a <= NB_ERR_STATE; a++)
        for (int b = a + 1; b <= NB_ERR_STATE; b++)
            assert_string_not_equal(nb_status_str((nb_status)a), nb_status_str((nb_status)b));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_slot_of_every_usable_table_is_set),
        cmocka_unit_test(reference_is_always_supported),
        cmocka_unit_test(a_supported_simd_isa_overrides_at_least_one_slot),
        cmocka_unit_test(nabla_isa_environment_is_honoured),
        cmocka_unit_test(avx2_is_supported_only_where_the_cpu_runs_it),
        cmocka_unit_test(setting_an_unsupported_isa_fails_and_changes_nothing),
        cmocka_unit_test(setting_a_supported_isa_switches_the_table),
        cmocka_unit_test(isa_names_round_trip),
        cmocka_unit_test(thread_count_can_be_set_and_restored),
        cmocka_unit_test(status_strings_are_distinct),
    };
    return nbt_run(tests);
}
