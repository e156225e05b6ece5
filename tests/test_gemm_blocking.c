/* The SGEMM's cache-dependent choices never change a bit of C: the packed
 * path's loop order (row panels outer where the B micro-panel outgrows
 * L1d, nb_gemm_driver_streams_b, from the CPUID cache sizes) and the MC /
 * NC blocking (AVX-512 sizes NC by the same test). Each result is checked
 * against the scalar emulation of the documented FMA order
 * (tests/gemm_diff.h), which only KC fixes. */
#include "cpu_features.h"
#include "gemm_diff.h"
#include "gemm_driver.h"

static void expect_emulated(const gcase *c, const float *C, const float *E, const char *how) {
    for (int64_t i = 0; i < c->M; i++)
        for (int64_t j = 0; j < c->N; j++) {
            const size_t e = (size_t)(i * c->ldc + j);
            if (memcmp(&C[e], &E[e], sizeof(float)) != 0) {
                char what[256];
                describe(c, what, sizeof what);
                fail_msg("%s: C[%lld,%lld] = %a, emulation %a (%s)", how, (long long)i, (long long)j,
                         (double)C[e], (double)E[e], what);
            }
        }
}

/* C's starting values (to restore before each run) and the emulated
   result from them: both malloc'ed, the caller frees them. */
static void start_and_emulated(const gcase *c, const bufs *b, int64_t kc, float **C0, float **E) {
    *C0 = malloc((b->nc + 1) * sizeof(float));
    *E = malloc((b->nc + 1) * sizeof(float));
    assert_non_null(*C0); assert_non_null(*E);
    memcpy(*C0, b->C, b->nc * sizeof(float));
    memcpy(*E, b->C, b->nc * sizeof(float));
    emulate(c, kc, b->A, b->B, *E);
}

/* Packed-path shapes: M past the small-M rows, N past the A-in-place limit
   or A transposed (so A is packed and the loop order applies), K over one
   to three KC blocks. */
static gcase packed_case(const nb_gemm_desc *d, int r) {
    const int64_t m0 = (d->rows_max_m > d->rows_bt_max_m ? d->rows_max_m : d->rows_bt_max_m) + 1;
    const int64_t nmax = d->adirect_sgemm_max_n > d->adirect_max_n ? d->adirect_sgemm_max_n : d->adirect_max_n;
    gcase c = make_case(m0 + nbt_range(0, 3 * d->mr), r % 2 ? nmax + nbt_range(1, 3 * d->nr) : nbt_range(1, 160),
                        r % 3 == 0 ? nbt_range(1, 60) : nbt_range(d->kc - 3, 2 * d->kc + 7));
    if (r % 2 == 0) c.ta = 1, c.lda = c.M + nbt_range(0, 1) * nbt_range(1, 9);
    return c;
}

static void simd_sgemm_bits_do_not_depend_on_the_l1d_size(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        const nb_gemm_desc d = blocking(t->isa);
        for (int r = 0; r < 10; r++) {
            gcase c = packed_case(&d, r);
            bufs b = make_bufs(&c);
            float *C0, *E;
            start_and_emulated(&c, &b, d.kc, &C0, &E);
            /* a 1 KiB L1d: every B micro-panel streams (row panels outer);
               1 GiB: none does (column panels outer) */
            static const int64_t l1d[2] = {1024, (int64_t)1 << 30};
            for (int o = 0; o < 2; o++) {
                nb_cpu_caches_override(l1d[o], -1);
                assert_int_equal(nb_gemm_driver_streams_b(&d, d.kc), o == 0);
                memcpy(b.C, C0, b.nc * sizeof(float));
                assert_int_equal(t->sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, b.A, c.lda, b.B, c.ldb,
                                          c.beta, b.C, c.ldc), NB_OK);
                expect_emulated(&c, b.C, E, o == 0 ? "B panels streamed" : "B panel in L1");
            }
            nb_cpu_caches_override(-1, -1);
            free(C0); free(E);
            free_bufs(b);
        }
    }
}

/* The driver on other MC / NC than the configured ones (the other
   machine's NC, one panel, a few panels), either loop order, 1 and 3
   threads. */
static void simd_sgemm_bits_do_not_depend_on_mc_nc(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        const nb_gemm_desc d0 = blocking(t->isa);
        for (int r = 0; r < 8; r++) {
            gcase c = packed_case(&d0, r);
            bufs b = make_bufs(&c);
            float *C0, *E;
            start_and_emulated(&c, &b, d0.kc, &C0, &E);
            const int64_t mcs[3] = {d0.mr, 3 * d0.mr, d0.mc};
            const int64_t ncs[3] = {d0.nr, 3 * d0.nr, 4096 / d0.nr * d0.nr};
            for (int v = 0; v < 3; v++) {
                nb_gemm_desc d = d0;
                d.mc = mcs[v];
                d.nc = ncs[(v + r) % 3];
                d.nc_streamed = v == 2 ? 0 : ncs[(v + r + 1) % 3];   /* the streamed order's own NC */
                nb_cpu_caches_override(r % 2 ? 1024 : (int64_t)1 << 30, -1);
                nb_set_num_threads(v == 1 ? 3 : 1);
                memcpy(b.C, C0, b.nc * sizeof(float));
                assert_int_equal(nb_gemm_driver_run(&d, c.ta, c.tb, c.M, c.N, c.K, c.alpha, b.A, c.lda,
                                                    b.B, c.ldb, c.beta, b.C, c.ldc), NB_OK);
                char how[96];
                snprintf(how, sizeof how, "MC %lld NC %lld / %lld streamed", (long long)d.mc,
                         (long long)d.nc, (long long)d.nc_streamed);
                expect_emulated(&c, b.C, E, how);
            }
            nb_cpu_caches_override(-1, -1);
            nb_set_num_threads(0);
            free(C0); free(E);
            free_bufs(b);
        }
    }
}

/* Where B is not transposed, the tile that packs B as it goes
   (ukernel_packb) fills each B panel in its first tile, with A in place or
   packed, either loop order, on one thread and on 3 (each thread its own
   panels, or all of them), over several MC blocks, partial panels and KC
   blocks: the bits of the emulated FMA order, as without it. */
static void simd_sgemm_bits_with_b_packed_by_its_first_tile(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        const nb_gemm_desc d0 = blocking(t->isa);
        if (!d0.ukernel_packb) continue;
        const int64_t nmax = d0.adirect_sgemm_max_n > d0.adirect_max_n ? d0.adirect_sgemm_max_n
                                                                         : d0.adirect_max_n;
        for (int r = 0; r < 8; r++) {
            /* N past the direct path's limit (so B is packed), K over one
               to three KC blocks. */
            gcase c = make_case(d0.rows_max_m + 1 + nbt_range(0, 4 * d0.mr),
                                r % 4 < 2 ? nbt_range(d0.adirect_max_n + 1, nmax)
                                          : nmax + nbt_range(1, 3 * d0.nr),   /* A packed */
                                r % 2 ? nbt_range(1, d0.kc) : nbt_range(d0.kc + 1, 2 * d0.kc + 7));
            c.ta = c.tb = 0;
            c.lda = c.K + nbt_range(0, 1) * nbt_range(1, 9);
            c.ldb = c.N + nbt_range(0, 1) * nbt_range(1, 9);
            bufs b = make_bufs(&c);
            float *C0, *E;
            start_and_emulated(&c, &b, d0.kc, &C0, &E);
            for (int v = 0; v < 4; v++) {
                nb_gemm_desc d = d0;
                d.mc = v % 2 ? d0.mr : d0.mc;
                if (v == 3) d.ukernel_packb = NULL;
                nb_set_num_threads(v == 2 ? 3 : 1);
                /* both loop orders of the packed-A path */
                nb_cpu_caches_override((r + v) % 2 ? 1024 : (int64_t)1 << 30, -1);
                memcpy(b.C, C0, b.nc * sizeof(float));
                assert_int_equal(nb_gemm_driver_run(&d, c.ta, c.tb, c.M, c.N, c.K, c.alpha, b.A, c.lda,
                                                    b.B, c.ldb, c.beta, b.C, c.ldc), NB_OK);
                char how[96];
                snprintf(how, sizeof how, "MC %lld, %d threads, L1d %s, B packed %s", (long long)d.mc,
                         v == 2 ? 3 : 1, (r + v) % 2 ? "1 KiB" : "1 GiB",
                         d.ukernel_packb ? "by the tile" : "first");
                expect_emulated(&c, b.C, E, how);
            }
            nb_cpu_caches_override(-1, -1);
            nb_set_num_threads(0);
            free(C0); free(E);
            free_bufs(b);
        }
    }
}

/* A read in place (ukernel_adirect: N up to the A-in-place limit, A not
   transposed): either loop order (row panels outer with a 1 KiB L1d),
   B transposed (packed first) or not (packed by its first tile), one and
   3 threads, several MC blocks and KC blocks: the emulated FMA order. */
static void simd_sgemm_bits_with_a_in_place_do_not_depend_on_the_l1d_size(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        const nb_gemm_desc d0 = blocking(t->isa);
        if (!d0.ukernel_adirect) continue;
        const int64_t nmax = d0.adirect_sgemm_max_n > d0.adirect_max_n ? d0.adirect_sgemm_max_n
                                                                         : d0.adirect_max_n;
        for (int r = 0; r < 8; r++) {
            gcase c = make_case(d0.rows_max_m + 1 + nbt_range(0, 4 * d0.mr), nbt_range(d0.nr + 1, nmax),
                                r % 2 ? nbt_range(1, d0.kc) : nbt_range(d0.kc + 1, 2 * d0.kc + 7));
            c.ta = 0;
            c.tb = r % 4 < 2;
            c.lda = c.K + nbt_range(0, 1) * nbt_range(1, 9);
            c.ldb = (c.tb ? c.K : c.N) + nbt_range(0, 1) * nbt_range(1, 9);
            bufs b = make_bufs(&c);
            float *C0, *E;
            start_and_emulated(&c, &b, d0.kc, &C0, &E);
            for (int v = 0; v < 4; v++) {
                nb_gemm_desc d = d0;
                d.mc = v % 2 ? d0.mr : d0.mc;
                d.direct_max_kn = 0;   /* never the nothing-packed path */
                nb_set_num_threads(v == 2 ? 3 : 1);
                nb_cpu_caches_override(v < 2 ? 1024 : (int64_t)1 << 30, -1);
                memcpy(b.C, C0, b.nc * sizeof(float));
                assert_int_equal(nb_gemm_driver_run(&d, c.ta, c.tb, c.M, c.N, c.K, c.alpha, b.A, c.lda,
                                                    b.B, c.ldb, c.beta, b.C, c.ldc), NB_OK);
                char how[96];
                snprintf(how, sizeof how, "A in place, MC %lld, %d threads, L1d %s", (long long)d.mc,
                         v == 2 ? 3 : 1, v < 2 ? "1 KiB" : "1 GiB");
                expect_emulated(&c, b.C, E, how);
            }
            nb_cpu_caches_override(-1, -1);
            nb_set_num_threads(0);
            free(C0); free(E);
            free_bufs(b);
        }
    }
}

static void detected_cache_sizes_are_plausible(void **state) {
    (void)state;
    nb_cpu_caches_override(-1, -1);
    const nb_cpu_caches_t cc = nb_cpu_caches();
    if (cc.l1d) assert_in_range(cc.l1d, 4096, (int64_t)4 << 20);
    if (cc.l2) assert_in_range(cc.l2, 16384, (int64_t)1 << 30);
    nb_cpu_caches_override(5000, 6000);
    assert_int_equal(nb_cpu_caches().l1d, 5000);
    assert_int_equal(nb_cpu_caches().l2, 6000);
    nb_cpu_caches_override(-1, -1);
    assert_int_equal(nb_cpu_caches().l1d, cc.l1d);
    assert_int_equal(nb_cpu_caches().l2, cc.l2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simd_sgemm_bits_do_not_depend_on_the_l1d_size),
        cmocka_unit_test(simd_sgemm_bits_do_not_depend_on_mc_nc),
        cmocka_unit_test(simd_sgemm_bits_with_b_packed_by_its_first_tile),
        cmocka_unit_test(simd_sgemm_bits_with_a_in_place_do_not_depend_on_the_l1d_size),
        cmocka_unit_test(detected_cache_sizes_are_plausible),
    };
    return nbt_run(tests);
}
