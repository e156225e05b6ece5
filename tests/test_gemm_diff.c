/* Differential tests of every SIMD SGEMM table against the reference.
 *
 * For each usable SIMD table (nb_kernels_for(AVX2/NEON); skip() when none),
 * t->sgemm is compared with nb_kernels_ref.sgemm (which accumulates in double,
 * so it is within one rounding of exact) under DESIGN.md's bound
 *   |C - C_exact| <= gamma(K+2) (|alpha| |A||B| + |beta| |C|),
 * widened to gamma(K+3) for the reference's own final rounding. |A||B| etc.
 * is computed by the reference on the absolute values.
 *
 * Beyond the bound, the SIMD path promises an exact evaluation order
 * (src/gemm_driver.h): per KC block an FMA chain from +0 in k order, then
 * alpha*acc and fma(beta, C, .). A scalar emulation with fmaf() checks it bit
 * for bit, and with it the invariances DESIGN.md asks for: same bits for
 * any thread count and for a row computed alone or inside a batch.
 *
 * Buffers are guarded (a PROT_NONE page right after the end or right before
 * the start) and offset by 0..7 floats; C rows have canaries in the ldc
 * padding; with beta == 0, C is poisoned with NaN.
 */
#include "gemm_diff.h"

/* ---- tests ---- */

static void simd_sgemm_within_bound_on_micro_tile_edges(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        const nb_gemm_desc d = blocking(t->isa);
        const int64_t ks[] = {1, 2, 7, 8, 9, 17, 31, 300};   /* 300: A read in place */
        for (int64_t m = 1; m <= d.mr + 1; m++)
            for (int64_t n = 1; n <= 2 * d.nr + 1; n++)
                for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++) {
                    gcase c = make_case(m, n, ks[q]);
                    check_case(t, &c, DATA_UNIFORM);
                }
    }
}

static void simd_sgemm_within_bound_on_row_edges_with_wide_n(void **state) {
    (void)state;
    /* Wide enough N that A is packed (not read in place), both layouts. */
    FOR_EACH_SIMD_TABLE(t) {
        const nb_gemm_desc d = blocking(t->isa);
        for (int64_t m = 1; m <= d.mr + 1; m++)
            for (int r = 0; r < 4; r++) {
                gcase c = make_case(m, nbt_range(97, 2 * d.nr * 5), nbt_range(1, 40));
                c.ta = r & 1;
                check_case(t, &c, DATA_UNIFORM);
            }
    }
}

static void simd_sgemm_within_bound_around_kc(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        const int64_t kc = blocking(t->isa).kc;
        const int64_t ks[] = {kc - 1, kc, kc + 1, 2 * kc + 3, 3 * kc};
        for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++)
            for (int r = 0; r < 4; r++) {
                gcase c = make_case(nbt_range(1, 40), nbt_range(1, 40), ks[q]);
                check_case(t, &c, DATA_UNIFORM);
            }
    }
}

static void simd_sgemm_within_bound_around_mc_and_nc(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        const nb_gemm_desc d = blocking(t->isa);
        for (int64_t dm = -1; dm <= 1; dm++) {
            gcase c = make_case(d.mc + dm, nbt_range(1, 40), nbt_range(1, 30));
            check_case(t, &c, DATA_UNIFORM);
            c = make_case(2 * d.mc + dm, 17, 5);
            check_case(t, &c, DATA_UNIFORM);
        }
        /* Cheap even emulated (K <= 9): NC +- 1 stays under NABLA_QEMU. */
        for (int64_t dn = -1; dn <= 1; dn++) {
            gcase c = make_case(nbt_range(5, 13), d.nc + dn, nbt_range(1, 9));
            check_case(t, &c, DATA_UNIFORM);
        }
    }
}

static void simd_sgemm_empty_dimensions_and_k_zero(void **state) {
    (void)state;
    /* M or N == 0: nothing is written (N == 0 leaves every canary of the
       ldc padding); K == 0: C = beta C, and beta == 0 writes zeros over the
       NaN poison without reading it. */
    FOR_EACH_SIMD_TABLE(t) {
        for (int r = 0; r < 30; r++) {
            const int64_t M = r % 3 == 0 ? 0 : nbt_range(1, 20);
            const int64_t N = r % 3 == 1 ? 0 : nbt_range(1, 40);
            const int64_t K = r % 3 == 2 ? 0 : nbt_range(0, 50);
            gcase c = make_case(M, N, K);
            check_case(t, &c, DATA_UNIFORM);
        }
    }
}

static void simd_sgemm_all_transposes_alphas_and_betas(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int ia = 0; ia < 4; ia++)
                    for (int ib = 0; ib < 3; ib++) {
                        gcase c = make_case(nbt_range(1, 60), nbt_range(1, 60), nbt_range(1, 300));
                        c.ta = ta; c.tb = tb; c.alpha = alphas[ia]; c.beta = betas[ib];
                        c.lda = (ta ? c.M : c.K) + nbt_range(1, 7);
                        c.ldb = (tb ? c.K : c.N) + nbt_range(1, 7);
                        c.ldc = c.N + nbt_range(1, 7);
                        check_case(t, &c, DATA_UNIFORM);
                    }
    }
}

static void simd_sgemm_beta_zero_never_reads_c(void **state) {
    (void)state;
    /* check_case poisons C with NaN for beta == 0: any read would leak. */
    FOR_EACH_SIMD_TABLE(t) {
        for (int r = 0; r < 60; r++) {
            gcase c = make_case(nbt_range(1, 20), nbt_range(1, 40), nbt_range(1, 600));
            c.beta = 0.0f;
            c.alpha = alphas[r % 4];
            check_case(t, &c, DATA_UNIFORM);
        }
    }
}

static void simd_sgemm_small_m_within_bound(void **state) {
    (void)state;
    /* The no-pack small-M path: few rows, B not transposed, wide N. */
    FOR_EACH_SIMD_TABLE(t) {
        for (int r = 0; r < 30; r++) {
            gcase c = make_case(nbt_range(1, 40), nbt_range(1, 1100), nbt_range(1, 600));
            c.tb = 0;
            c.ldb = c.N + nbt_range(0, 3);
            check_case(t, &c, DATA_UNIFORM);
        }
    }
}

static void simd_sgemm_small_m_with_transposed_b_within_bound(void **state) {
    (void)state;
    /* The no-pack path for x W^T: few rows, B stored N x K. */
    FOR_EACH_SIMD_TABLE(t) {
        for (int r = 0; r < 30; r++) {
            gcase c = make_case(nbt_range(1, 20), nbt_range(1, 300), nbt_range(1, 700));
            c.tb = 1;
            c.ldb = c.K + nbt_range(0, 3);
            check_case(t, &c, r % 3 == 0 ? DATA_SPECIAL : DATA_UNIFORM);
        }
    }
}

static void simd_sgemm_nan_and_inf_propagate_like_reference(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (int r = 0; r < 80; r++) {
            gcase c = make_case(nbt_range(1, 20), nbt_range(1, 40), nbt_range(1, 300));
            if (c.alpha == 0.0f) c.alpha = 1.0f;   /* alpha == 0 reads neither A nor B */
            check_case(t, &c, DATA_SPECIAL);
        }
    }
}

static void simd_sgemm_alpha_zero_reads_neither_a_nor_b(void **state) {
    (void)state;
    /* BLAS (and the reference): alpha == 0 gives beta C even when A or B
       hold NaN/Inf; check_case's special values exercise it. */
    FOR_EACH_SIMD_TABLE(t) {
        for (int r = 0; r < 20; r++) {
            gcase c = make_case(nbt_range(1, 40), nbt_range(1, 40), nbt_range(1, 500));
            c.alpha = 0.0f;
            check_case(t, &c, DATA_SPECIAL);
        }
    }
}

static void simd_sgemm_integer_data_is_bit_exact(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (int r = 0; r < 40; r++) {
            gcase c = make_case(nbt_range(1, 50), nbt_range(1, 50), nbt_range(1, 700));
            c.alpha = r & 1 ? 1.0f : -2.0f;
            c.beta = betas[r % 3];
            check_case(t, &c, DATA_INT);
        }
    }
}

static void simd_sgemm_tile_paths_within_bound_on_every_row_edge(void **state) {
    (void)state;
    /* Past the small-M path: every row count modulo MR (each edge tile
       height of the packed tile and of the A-in-place tile), N around the
       tile width and up to the A-in-place limit, K short, odd and past KC;
       odd leading dimensions, unaligned buffers (check_case), NaN/Inf in
       every third case. */
    FOR_EACH_SIMD_TABLE(t) {
        const nb_gemm_desc d = blocking(t->isa);
        const int64_t m0 = d.rows_max_m > d.rows_bt_max_m ? d.rows_max_m : d.rows_bt_max_m;
        const int64_t ns[] = {1, 2, d.nr - 1, d.nr, d.nr + 1, 2 * d.nr + 1, 61, 97, 128, 129};
        const int64_t ks[] = {1, 2, 7, 64, 67, d.kc + 5};
        for (int64_t m = m0 + 1; m <= m0 + d.mr; m++)
            for (int r = 0; r < 3; r++) {
                gcase c = make_case(m, ns[nbt_range(0, 9)], ks[nbt_range(0, 5)]);
                c.lda += c.lda % 2 == 0;
                if (c.alpha == 0.0f) c.alpha = 1.0f;
                check_case(t, &c, r == 0 ? DATA_SPECIAL : DATA_UNIFORM);
            }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simd_sgemm_within_bound_on_micro_tile_edges),
        cmocka_unit_test(simd_sgemm_within_bound_on_row_edges_with_wide_n),
        cmocka_unit_test(simd_sgemm_within_bound_around_kc),
        cmocka_unit_test(simd_sgemm_within_bound_around_mc_and_nc),
        cmocka_unit_test(simd_sgemm_empty_dimensions_and_k_zero),
        cmocka_unit_test(simd_sgemm_all_transposes_alphas_and_betas),
        cmocka_unit_test(simd_sgemm_beta_zero_never_reads_c),
        cmocka_unit_test(simd_sgemm_small_m_within_bound),
        cmocka_unit_test(simd_sgemm_small_m_with_transposed_b_within_bound),
        cmocka_unit_test(simd_sgemm_nan_and_inf_propagate_like_reference),
        cmocka_unit_test(simd_sgemm_alpha_zero_reads_neither_a_nor_b),
        cmocka_unit_test(simd_sgemm_integer_data_is_bit_exact),
        cmocka_unit_test(simd_sgemm_tile_paths_within_bound_on_every_row_edge),
    };
    return nbt_run(tests);
}
