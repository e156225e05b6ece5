/* The SIMD SGEMM's documented evaluation order, bit for bit (a scalar
 * emulation with fmaf(), tests/gemm_diff.h), and the invariances it gives:
 * the same bits for any thread count, inside a user's parallel region, and
 * for a row computed alone or inside a batch. The error bound against the
 * reference: tests/test_gemm_diff.c. */
#include "gemm_diff.h"

/* t's SGEMM on c against the scalar emulation of the documented order. */
static void check_emulated(const struct nb_kernels *t, const gcase *c, int64_t kc) {
    bufs b = make_bufs(c);
    float *E = malloc((b.nc + 1) * sizeof(float));
    assert_non_null(E);
    memcpy(E, b.C, b.nc * sizeof(float));
    emulate(c, kc, b.A, b.B, E);
    assert_int_equal(t->sgemm(c->ta, c->tb, c->M, c->N, c->K, c->alpha, b.A, c->lda, b.B, c->ldb,
                              c->beta, b.C, c->ldc), NB_OK);
    for (size_t e = 0; e < b.nc; e++)
        if (memcmp(&b.C[e], &E[e], sizeof(float)) != 0) {
            char what[256];
            describe(c, what, sizeof what);
            fail_msg("C[%zu] = %a, emulation %a (%s)", e, (double)b.C[e], (double)E[e], what);
        }
    free(E);
    free_bufs(b);
}

static void simd_sgemm_follows_documented_fma_order_bit_for_bit(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        const int64_t kc = blocking(t->isa).kc;
        for (int r = 0; r < 40; r++) {
            gcase c = make_case(nbt_range(1, 30), nbt_range(1, 40),
                                r < 30 ? nbt_range(1, 100) : nbt_range(kc - 2, 2 * kc + 5));
            check_emulated(t, &c, kc);
        }
    }
}

static void simd_sgemm_tile_paths_follow_documented_fma_order_bit_for_bit(void **state) {
    (void)state;
    /* M past the small-M path, every edge height: the packed tile and the
       A-in-place tile (N up to its limit, either layout of A) must keep the
       same per-element chain. */
    FOR_EACH_SIMD_TABLE(t) {
        const nb_gemm_desc d = blocking(t->isa);
        const int64_t m0 = d.rows_max_m > d.rows_bt_max_m ? d.rows_max_m : d.rows_bt_max_m;
        for (int64_t m = m0 + 1; m <= m0 + d.mr; m++) {
            gcase c = make_case(m + nbt_range(0, 1) * d.mr * nbt_range(1, 3), nbt_range(1, 140),
                                m % 2 ? nbt_range(1, 80) : nbt_range(d.kc - 2, d.kc + 40));
            check_emulated(t, &c, d.kc);
        }
    }
}

/* The unpacked paths (A and B in place): the 14x32 tile and, where N is a
   multiple of 64 and B small (AVX-512's direct_wide_max_kn), the 6x64
   tile, on every edge height of either, on 1 and 3 threads. Neither
   operand transposed (the only layout they take); strides from make_case
   (odd ones too). A kernel with another chain fails the emulation. */
static void simd_sgemm_unpacked_tiles_follow_documented_fma_order_bit_for_bit(void **state) {
    (void)state;
    static const int64_t ns[] = {64, 128, 96, 63, 65}, ks[] = {1, 7, 64, 128, 129};
    FOR_EACH_SIMD_TABLE(t) {
        const nb_gemm_desc d = blocking(t->isa);
        const int64_t m0 = d.rows_max_m > d.rows_bt_max_m ? d.rows_max_m : d.rows_bt_max_m;
        for (int64_t m = m0 + 1; m <= m0 + 14; m++)
            for (int ni = 0; ni < 5; ni++) {
                gcase c = make_case(m, ns[ni], ks[(m + ni) % 5]);
                c.ta = c.tb = 0;
                c.lda = c.K + (m % 3 == 0 ? 3 : 0);
                c.ldb = c.N + (ni % 2 ? 5 : 0);
                nb_set_num_threads(m % 2 ? 3 : 1);
                check_emulated(t, &c, d.kc);
            }
        nb_set_num_threads(0);
    }
}

static void simd_sgemm_single_row_wide_n_follows_fma_order_on_any_thread_count(void **state) {
    (void)state;
    /* M = 1: the GEMV-like paths, whose calls cover up to a few thousand
       columns each (split between threads) and step through K several rows
       at a time (B) or 16 rows of B^T at a time, each block prefetching the
       next one's first lines (B^T: one call per thread). N around and past
       one call's width and 16-row steps, K with every remainder of the row
       step and across KC blocks. */
    FOR_EACH_SIMD_TABLE(t) {
        const int64_t kc = blocking(t->isa).kc;
        const int64_t ns[] = {1, 4095, 4097, nbt_range(4098, 9000), 16 * nbt_range(2, 40)};
        const int64_t ks[] = {nbt_range(1, 15), kc - 1, kc + nbt_range(1, 15)};
        for (int tb = 0; tb <= 1; tb++)
            for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
                for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
                    if (qemu() && ns[ni] * ks[ki] > 1000000) continue;
                    gcase c = make_case(1, ns[ni], ks[ki]);
                    c.tb = tb;
                    c.ldb = (tb ? c.K : c.N) + nbt_range(0, 3);
                    if (c.alpha == 0.0f) c.alpha = 0.5f;
                    check_case(t, &c, DATA_UNIFORM);   /* guard pages, unaligned */
                    bufs b = make_bufs(&c);
                    float *E = malloc(b.nc * sizeof(float)), *G = malloc(b.nc * sizeof(float));
                    assert_non_null(E); assert_non_null(G);
                    memcpy(E, b.C, b.nc * sizeof(float));
                    emulate(&c, kc, b.A, b.B, E);
                    for (int nt = 1; nt <= 3; nt++) {
                        memcpy(G, b.C, b.nc * sizeof(float));
                        nb_set_num_threads(nt);
                        assert_int_equal(t->sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, b.A, c.lda, b.B,
                                                  c.ldb, c.beta, G, c.ldc), NB_OK);
                        for (size_t e = 0; e < b.nc; e++)
                            if (memcmp(&G[e], &E[e], sizeof(float)) != 0) {
                                char what[256];
                                describe(&c, what, sizeof what);
                                fail_msg("%d threads: C[%zu] = %a, emulation %a (%s)", nt, e,
                                         (double)G[e], (double)E[e], what);
                            }
                    }
                    nb_set_num_threads(0);
                    free(E); free(G);
                    free_bufs(b);
                }
    }
}

/* AVX-512's tile keeps AVX2's KC and per-element chains: the same bits
   (README, numerics) on every path (packed, A in place on AVX2, small M). */
static void avx512_sgemm_gives_the_avx2_bits(void **state) {
    (void)state;
    const struct nb_kernels *a2 = nb_kernels_for(NB_ISA_AVX2), *a5 = nb_kernels_for(NB_ISA_AVX512);
    if (!a2 || !a5) {
        printf("# avx512 vs avx2: skipped, this CPU lacks %s\n", a2 ? "AVX-512" : "AVX2");
        skip();
        return;
    }
    const int64_t shapes[][3] = {{300, 200, 600}, {1000, 20, 300}, {3, 3000, 600}, {97, 97, 97},
                                 {1, 500, 900}, {30, 128, 1000}, {15, 17, 400}, {64, 64, 64},
                                 {47, 61, 70}, {200, 128, 576}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        gcase c = make_case(shapes[s][0], shapes[s][1], shapes[s][2]);
        bufs b = make_bufs(&c);
        float *C2 = malloc(b.nc * sizeof(float)), *C5 = malloc(b.nc * sizeof(float));
        assert_non_null(C2); assert_non_null(C5);
        memcpy(C2, b.C, b.nc * sizeof(float));
        memcpy(C5, b.C, b.nc * sizeof(float));
        assert_int_equal(a2->sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, b.A, c.lda, b.B, c.ldb, c.beta,
                                   C2, c.ldc), NB_OK);
        assert_int_equal(a5->sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, b.A, c.lda, b.B, c.ldb, c.beta,
                                   C5, c.ldc), NB_OK);
        if (memcmp(C2, C5, b.nc * sizeof(float)) != 0) {
            char what[256];
            describe(&c, what, sizeof what);
            fail_msg("avx512 and avx2 differ (%s)", what);
        }
        free(C2); free(C5);
        free_bufs(b);
    }
}

static void simd_sgemm_same_bits_for_1_2_and_3_threads(void **state) {
    (void)state;
    const int64_t shapes[][3] = {
        {300, 200, 600}, {1000, 20, 300}, {20, 1000, 300}, {3, 3000, 600}, {7, 700, 520}, {97, 97, 97},
        {30, 300, 600}, {33, 2000, 70},
        /* row splits over 1-2 B panels (each thread packs all of B) across
           several KC blocks: 1x1 backward-filter c24 k144's GEMM, N 30 */
        {144, 24, 3136}, {150, 30, 1000},
    };
    FOR_EACH_SIMD_TABLE(t) {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            gcase c = make_case(shapes[s][0], shapes[s][1], shapes[s][2]);
            if (c.alpha == 0.0f) c.alpha = 0.5f;
            bufs b = make_bufs(&c);
            float *C1 = malloc(b.nc * sizeof(float)), *Cn = malloc(b.nc * sizeof(float));
            assert_non_null(C1); assert_non_null(Cn);
            memcpy(C1, b.C, b.nc * sizeof(float));
            nb_set_num_threads(1);
            assert_int_equal(t->sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, b.A, c.lda, b.B, c.ldb,
                                      c.beta, C1, c.ldc), NB_OK);
            for (int nt = 2; nt <= 3; nt++) {
                memcpy(Cn, b.C, b.nc * sizeof(float));
                nb_set_num_threads(nt);
                assert_int_equal(t->sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, b.A, c.lda, b.B,
                                          c.ldb, c.beta, Cn, c.ldc), NB_OK);
                if (memcmp(C1, Cn, b.nc * sizeof(float)) != 0) {
                    char what[256];
                    describe(&c, what, sizeof what);
                    fail_msg("%d threads differ from 1 thread (%s)", nt, what);
                }
            }
            nb_set_num_threads(0);
            free(C1); free(Cn);
            free_bufs(b);
        }
    }
}

/* Threads that split the columns pack their own B panels and meet at no
   barrier, so one may run into the next NC block while another still reads
   the previous one. The last NC block is narrower (fewer panels, so other
   panel shares): each thread's packing slot must not move with it. A race
   shows as bits that change from call to call, so the call repeats.
   Shapes: M past the small-M paths with both parities of row panels (the
   driver splits columns on a tie), N three NC blocks on 2 threads (a
   column split's blocks are 2 nc wide there), the last one narrower, with
   both parities of column panels (N steps by 3 NR: one panel more a
   block). */
static void simd_sgemm_column_split_repeats_the_1_thread_bits(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        const nb_gemm_desc d = blocking(t->isa);
        for (int tb = 0; tb <= 1; tb++)
            for (int mi = 0; mi < 2; mi++)
                for (int ni = 0; ni < 2; ni++) {
                    const int64_t m0 = tb ? d.rows_bt_max_m : d.rows_max_m;
                    gcase c = make_case((m0 / d.mr + 1 + mi) * d.mr + 1,
                                        4 * d.nc + d.nc / 2 + d.nr + ni * 3 * d.nr, 120);
                    c.ta = 0;
                    c.tb = tb;
                    c.lda = c.K;
                    c.ldb = tb ? c.K : c.N;
                    c.ldc = c.N;
                    c.alpha = 1.0f;
                    c.beta = 0.0f;
                    bufs b = make_bufs(&c);
                    float *C1 = malloc(b.nc * sizeof(float)), *Cn = malloc(b.nc * sizeof(float));
                    assert_non_null(C1); assert_non_null(Cn);
                    nb_set_num_threads(1);
                    assert_int_equal(t->sgemm(0, tb, c.M, c.N, c.K, 1.0f, b.A, c.lda, b.B, c.ldb,
                                              0.0f, C1, c.ldc), NB_OK);
                    nb_set_num_threads(2);
                    for (int rep = 0; rep < (qemu() ? 2 : 20); rep++) {
                        assert_int_equal(t->sgemm(0, tb, c.M, c.N, c.K, 1.0f, b.A, c.lda, b.B,
                                                  c.ldb, 0.0f, Cn, c.ldc), NB_OK);
                        if (memcmp(C1, Cn, b.nc * sizeof(float)) != 0) {
                            char what[256];
                            describe(&c, what, sizeof what);
                            fail_msg("2 threads, call %d, differ from 1 thread (%s)", rep, what);
                        }
                    }
                    nb_set_num_threads(0);
                    free(C1); free(Cn);
                    free_bufs(b);
                }
    }
}

static void simd_sgemm_inside_a_user_parallel_region_runs_per_thread(void **state) {
    (void)state;
#ifdef _OPENMP
    /* Each user thread calls sgemm with its own shape (so a barrier that
       leaked into the user's team would deadlock or corrupt); each result
       must equal the same call made outside any parallel region. */
    FOR_EACH_SIMD_TABLE(t) {
        enum { NT = 3 };
        gcase cs[NT];
        bufs bs[NT];
        float *want[NT];
        for (int i = 0; i < NT; i++) {
            cs[i] = make_case(nbt_range(100, 300), nbt_range(20, 300), nbt_range(300, 900));
            if (cs[i].alpha == 0.0f) cs[i].alpha = 1.0f;
            bs[i] = make_bufs(&cs[i]);
            want[i] = malloc(bs[i].nc * sizeof(float));
            assert_non_null(want[i]);
            memcpy(want[i], bs[i].C, bs[i].nc * sizeof(float));
            nb_set_num_threads(2);
            assert_int_equal(t->sgemm(cs[i].ta, cs[i].tb, cs[i].M, cs[i].N, cs[i].K, cs[i].alpha,
                                      bs[i].A, cs[i].lda, bs[i].B, cs[i].ldb, cs[i].beta, want[i],
                                      cs[i].ldc), NB_OK);
        }
        nb_status st[NT];
#pragma omp parallel num_threads(NT)
        {
#pragma omp for schedule(static, 1)
            for (int i = 0; i < NT; i++)
                st[i] = t->sgemm(cs[i].ta, cs[i].tb, cs[i].M, cs[i].N, cs[i].K, cs[i].alpha,
                                 bs[i].A, cs[i].lda, bs[i].B, cs[i].ldb, cs[i].beta, bs[i].C,
                                 cs[i].ldc);
        }
        nb_set_num_threads(0);
        for (int i = 0; i < NT; i++) {
            assert_int_equal(st[i], NB_OK);
            assert_memory_equal(bs[i].C, want[i], bs[i].nc * sizeof(float));
            free(want[i]);
            free_bufs(bs[i]);
        }
    }
#else
    skip();
#endif
}

static void simd_sgemm_row_alone_equals_row_in_batch(void **state) {
    (void)state;
    const int64_t batch[] = {7, 100, 300};
    /* 200: A read in place by the AVX-512 SGEMM only above N = 128 */
    const int64_t ns[] = {1, 17, 100, 200, 1030};
    FOR_EACH_SIMD_TABLE(t) {
        const int64_t kc = blocking(t->isa).kc;
        const int64_t ks[] = {5, kc - 1, kc + 44, 2 * kc + 3};
        for (size_t bi = 0; bi < sizeof batch / sizeof batch[0]; bi++)
            for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
                for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
                    if (qemu() && batch[bi] * ns[ni] * ks[ki] > 2000000) continue;
                    gcase c = make_case(batch[bi], ns[ni], ks[ki]);
                    if (c.alpha == 0.0f) c.alpha = -2.0f;
                    bufs b = make_bufs(&c);
                    float *Cb = malloc(b.nc * sizeof(float));
                    assert_non_null(Cb);
                    memcpy(Cb, b.C, b.nc * sizeof(float));
                    assert_int_equal(t->sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, b.A, c.lda, b.B,
                                              c.ldb, c.beta, Cb, c.ldc), NB_OK);
                    /* Rows 0, the last, and a few in between, each alone (M = 1)
                       and as a 2-row and 3-row batch starting there. */
                    const int64_t rows[] = {0, c.M - 1, nbt_range(0, c.M - 1), nbt_range(0, c.M - 1)};
                    for (size_t ri = 0; ri < 4; ri++)
                        for (int64_t mm = 1; mm <= 3; mm++) {
                            const int64_t i = rows[ri];
                            if (i + mm > c.M) continue;
                            float *row = malloc((size_t)(mm * c.ldc) * sizeof(float));
                            assert_non_null(row);
                            memcpy(row, b.C + i * c.ldc, (size_t)(mm * c.ldc) * sizeof(float));
                            const float *Ai = c.ta ? b.A + i : b.A + i * c.lda;
                            assert_int_equal(t->sgemm(c.ta, c.tb, mm, c.N, c.K, c.alpha, Ai, c.lda,
                                                      b.B, c.ldb, c.beta, row, c.ldc), NB_OK);
                            for (int64_t r = 0; r < mm; r++)
                                if (memcmp(row + r * c.ldc, Cb + (i + r) * c.ldc,
                                           (size_t)c.N * sizeof(float)) != 0) {
                                    char what[256];
                                    describe(&c, what, sizeof what);
                                    fail_msg("row %lld computed with M=%lld differs from the batch (%s)",
                                             (long long)(i + r), (long long)mm, what);
                                }
                            free(row);
                        }
                    free(Cb);
                    free_bufs(b);
                }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simd_sgemm_follows_documented_fma_order_bit_for_bit),
        cmocka_unit_test(simd_sgemm_tile_paths_follow_documented_fma_order_bit_for_bit),
        cmocka_unit_test(simd_sgemm_unpacked_tiles_follow_documented_fma_order_bit_for_bit),
        cmocka_unit_test(simd_sgemm_same_bits_for_1_2_and_3_threads),
        cmocka_unit_test(simd_sgemm_column_split_repeats_the_1_thread_bits),
        cmocka_unit_test(avx512_sgemm_gives_the_avx2_bits),
        cmocka_unit_test(simd_sgemm_single_row_wide_n_follows_fma_order_on_any_thread_count),
        cmocka_unit_test(simd_sgemm_inside_a_user_parallel_region_runs_per_thread),
        cmocka_unit_test(simd_sgemm_row_alone_equals_row_in_batch),
    };
    return nbt_run(tests);
}
