/* The SIMD reduction tables (every one this CPU runs: AVX2, AVX-512,
 * NEON) against the reference: max/min bit for bit on every path, sums
 * within the blocked bound and in their documented order bit for bit, the
 * same bits for any thread count, and the float64 twin.
 * Cases and oracle: tests/reduce_case.h. */
#include <stdio.h>

#include "reduce_case.h"

/* ---- SIMD tables vs the reference table ---- */

/* The SIMD tables this CPU runs; one line says when an x86 CPU lacks
   AVX-512 (its cases are then skipped, not failed). */
static int simd_tables(const struct nb_kernels *out[NB_ISA_COUNT]) {
    int n = 0;
    for (int isa = NB_ISA_REF + 1; isa < NB_ISA_COUNT; isa++) {
        const struct nb_kernels *t = nb_kernels_for((nb_isa)isa);
        if (t) out[n++] = t;
    }
    if (nb_kernels_for(NB_ISA_AVX2) && !nb_kernels_for(NB_ISA_AVX512))
        printf("# avx512 reduction cases: skipped, this CPU lacks AVX-512\n");
    return n;
}

#define FOR_EACH_SIMD_TABLE(t)                                                  \
    const struct nb_kernels *tabs_[NB_ISA_COUNT];                               \
    const int ntabs_ = simd_tables(tabs_);                                      \
    if (ntabs_ == 0) skip();                                                    \
    for (int ti_ = 0; ti_ < ntabs_; ti_++)                                      \
        for (const struct nb_kernels *t = tabs_[ti_]; t; t = NULL)

static void simd_table_matches_reference_bit_for_bit_on_max_min(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (int r = 0; r < 300 / qemu_scale(); r++) {
            const int ndim = (int)nbt_range(1, NB_MAX_DIMS);
            int64_t shape[NB_MAX_DIMS];
            random_shape(ndim, shape, 30000);
            const uint64_t mask = nbt_next() & ((1ull << ndim) - 1);
            rcase c;
            case_make(&c, (nb_reduce_op)nbt_range(2, 3), ndim, shape, mask, ALL_X,
                      nbt_range(0, 1) ? FILL_SPECIAL : FILL_UNIFORM);
            if (c.m == 0 || c.ny == 0) { case_free(&c); continue; }
            assert_int_equal(case_run(&c, &nb_kernels_ref), NB_OK);
            char *ref = malloc(c.y.bytes);
            memcpy(ref, c.y.buf, c.y.bytes);
            memset(c.y.buf, 0x5a, c.y.bytes);
            assert_int_equal(case_run(&c, t), NB_OK);
            int64_t idx[NB_MAX_DIMS];
            for (int64_t o = 0; o < c.ny; o++) {
                nbt_unravel(ndim, c.yshape, o, idx);
                const int64_t off = y_off(&c, idx) * 4 + (c.y.base - c.y.buf);
                float a, b;
                memcpy(&a, ref + off, 4);
                memcpy(&b, c.y.buf + off, 4);
                if (!same_bits(a, b)) fail_msg("output %lld: simd %a ref %a", (long long)o, b, a);
            }
            free(ref);
            case_free(&c);
        }
    }
}

static void simd_table_sums_stay_within_the_bound(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        for (int r = 0; r < 200 / qemu_scale(); r++) {
            const int ndim = (int)nbt_range(1, NB_MAX_DIMS);
            int64_t shape[NB_MAX_DIMS];
            random_shape(ndim, shape, 30000);
            const uint64_t mask = nbt_next() & ((1ull << ndim) - 1);
            check_one((nb_reduce_op)nbt_range(0, 1), ndim, shape, mask, ALL_X, FILL_UNIFORM, t);
        }
        const int64_t big[1] = {3000017 / qemu_scale()};
        check_one(NB_REDUCE_SUM, 1, big, 1, 0, FILL_UNIFORM, t);
    }
}

/* Gives x explicit strides (a fixed path, not a random layout). */
static void case_restride_x(rcase *c, const int64_t *xs) {
    nbt_view_free(&c->x);
    c->x.lo = c->x.hi = 0;
    for (int i = 0; i < c->ndim; i++) {
        c->x.strides[i] = xs[i];
        const int64_t s = (c->shape[i] - 1) * xs[i];
        if (s < 0) c->x.lo += s; else c->x.hi += s;
    }
    nbt_view_alloc(&c->x);
}

/* Every path of the SIMD table (contiguous rows of every tail length,
   strided rows, column strips, short rows, grouped rows) on inputs where
   the max/min rules decide: all elements +-0 (a tie everywhere, random
   signs), +-0 with one NaN somewhere, values mixed with +-0 and NaN, and
   +-0 among values that lose to zero.
   FMAX/FMIN (NEON) and the fixed-up vmaxps (AVX2) must give the oracle's
   bits: NaN wins, -0 < +0. */
static void simd_max_min_zero_ties_and_nans_on_every_path(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        static const int64_t big[] = {100, 1000, 4097};
        for (int64_t k = 1; k <= 73; k++) {
            const int64_t n = k <= 70 ? k : big[k - 71];
            const struct { int ndim; int64_t shape[2], xs[2]; uint64_t mask; } paths[] = {
                {1, {n, 0}, {1, 0}, 1},               /* one contiguous row */
                {1, {n, 0}, {3, 0}, 1},               /* one strided row */
                {2, {5, n}, {n, 1}, 1},               /* columns (row path when n < 8) */
                {2, {9, n}, {n + 1, 1}, 2},           /* short rows, grouped rows when n > 64 */
                {2, {n, 2}, {1, n}, 1},               /* strided rows, several outputs */
            };
            for (size_t pi = 0; pi < sizeof paths / sizeof *paths; pi++)
                for (int mode = 0; mode < 4; mode++)
                    for (int op = NB_REDUCE_MAX; op <= NB_REDUCE_MIN; op++) {
                        rcase c;
                        case_make(&c, (nb_reduce_op)op, paths[pi].ndim, paths[pi].shape, paths[pi].mask, 0,
                                  FILL_UNIFORM);
                        case_restride_x(&c, paths[pi].xs);
                        float *xb = (float *)c.x.buf;
                        const int64_t nxb = (int64_t)(c.x.bytes / sizeof(float));
                        for (int64_t i = 0; i < nxb; i++) {
                            const float z = nbt_range(0, 1) ? 0.0f : -0.0f;
                            xb[i] = mode == 2 && nbt_range(0, 2) == 0 ? nbt_uniform(-1, 1) : z;
                            /* mode 3: the result is a zero, every other value on
                               the losing side of it (AVX2's fast pass must defer). */
                            if (mode == 3 && nbt_range(0, 2) == 0)
                                xb[i] = op == NB_REDUCE_MAX ? -nbt_uniform(0.5, 1) : nbt_uniform(0.5, 1);
                            if (mode == 2 && nbt_range(0, 40) == 0) xb[i] = NAN;
                        }
                        if (mode == 1) xb[nbt_range(0, nxb - 1)] = NAN;
                        case_check(&c, t);
                        case_free(&c);
                    }
        }
    }
}

/* The summation order documented in src/reduce_driver.c for one contiguous
   row of n elements, emulated here in float: n <= NB_RROWS_MAX_N through
   the short-row kernels (tile-column tiles, pairwise inside a tile, tiles
   left to right); longer rows in segments of NB_RSUM_BLOCK elements, each summed
   into NB_RSUM_LANES lanes (element i -> lane i mod 32), lanes combined by
   halving, segments by a binary-counter cascade. */
static float documented_row_sum(const float *x, int64_t n, int tile) {
    if (n <= NB_RROWS_MAX_N) {
        float acc = 0.0f;
        for (int64_t c0 = 0; c0 < n; c0 += tile) {
            const int64_t k = n - c0 < tile ? n - c0 : tile;
            float v[16];
            for (int64_t c = 0; c < k; c++) v[c] = x[c0 + c];
            for (int64_t m = k; m > 1; m = (m + 1) / 2) {
                for (int64_t i = 0; i < m / 2; i++) v[i] = v[2 * i] + v[2 * i + 1];
                if (m & 1) v[m / 2] = v[m - 1];
            }
            acc = c0 == 0 ? v[0] : acc + v[0];
        }
        return acc;
    }
    float stack[64];
    int64_t cnt[64];
    int sp = 0;
    for (int64_t c0 = 0; c0 < n; c0 += NB_RSUM_BLOCK) {
        const int64_t len = n - c0 < NB_RSUM_BLOCK ? n - c0 : NB_RSUM_BLOCK;
        float lane[NB_RSUM_LANES] = {0};
        for (int64_t i = 0; i < len; i++) lane[i % NB_RSUM_LANES] += x[c0 + i];
        for (int w = NB_RSUM_LANES / 2; w >= 1; w /= 2)
            for (int i = 0; i < w; i++) lane[i] += lane[i + w];
        stack[sp] = lane[0];
        cnt[sp++] = 1;
        while (sp >= 2 && cnt[sp - 1] == cnt[sp - 2]) {
            stack[sp - 2] += stack[sp - 1];
            cnt[sp - 2] *= 2;
            sp--;
        }
    }
    while (sp >= 2) { stack[sp - 2] += stack[sp - 1]; sp--; }
    return stack[0];
}

/* Every SIMD table sums a contiguous row in exactly the documented order
   (so AVX2 and NEON give the same bits, AVX-512 too beyond 64 elements, and the driver's bound is the one
   derived for that order): 1-D sums and 3 rows at once (row path split
   over outputs), at every tail length around the lanes and the segments. */
static void simd_table_row_sums_follow_the_documented_order_bit_for_bit(void **state) {
    (void)state;
    FOR_EACH_SIMD_TABLE(t) {
        /* Short rows: 16-column tiles on AVX-512 (f32-rrows-avx512.c), 8 on
           AVX2 and NEON. */
        const int tile = t == nb_kernels_for(NB_ISA_AVX512) ? 16 : 8;
        static const int64_t lens[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 66, 95,
                                       96, 97, 127, 128, 129, 1000, 4095, 4096, 4097, 8193, 12289, 100003};
        for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
            const int64_t n = lens[li];
            const int64_t off = nbt_range(0, 7);
            float *x = nbt_alloc_guarded((size_t)(3 * n + off) * sizeof(float), (int)nbt_range(0, 1));
            assert_non_null(x);
            /* Spread exponents: uniform(-1, 1) values alone are multiples of
               2^-23, whose short sums are exact in any order. */
            for (int64_t i = 0; i < 3 * n + off; i++) x[i] = ldexpf(nbt_uniform(-1, 1), (int)nbt_range(-12, 12));
            float y[3];
            const int64_t sh1[1] = {n}, st1[1] = {1}, ys1[1] = {1};
            assert_int_equal(t->sreduce(NB_REDUCE_SUM, 1, sh1, x + off, st1, 1, y, ys1), NB_OK);
            const float want = documented_row_sum(x + off, n, tile);
            if (memcmp(&y[0], &want, 4) != 0) fail_msg("n=%lld: got %a want %a", (long long)n, y[0], want);
            const int64_t sh2[2] = {3, n}, st2[2] = {n, 1}, ys2[2] = {1, 0};
            assert_int_equal(t->sreduce(NB_REDUCE_SUM, 2, sh2, x + off, st2, 2, y, ys2), NB_OK);
            for (int r = 0; r < 3; r++) {
                const float w = documented_row_sum(x + off + r * n, n, tile);
                if (memcmp(&y[r], &w, 4) != 0) fail_msg("n=%lld row %d: got %a want %a", (long long)n, r, y[r], w);
            }
            nbt_free_guarded(x);
        }
    }
}

/* ---- threads ---- */

static void thread_count_does_not_change_the_bits(void **state) {
    (void)state;
    const int64_t s = qemu_scale();
    const struct { int ndim; int64_t shape[3]; uint64_t mask; } cases[] = {
        {1, {2000003 / s}, 1},          /* one output, split over segments */
        {2, {700 / s, 1500}, 2},         /* row sums, split over outputs */
        {2, {1500 / s, 700}, 1},         /* column sums, split over strips */
        {3, {3, 400000 / s, 2}, 2},      /* few outputs, strided rows */
        {3, {40, 300 / s, 50}, 5},       /* outer and inner reduced */
        {2, {300000 / s, 10}, 2},        /* short rows, many outputs */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
        for (int op = 0; op < 4; op++) {
            rcase c;
            case_make(&c, (nb_reduce_op)op, cases[k].ndim, cases[k].shape, cases[k].mask,
                      NBT_ALLOW_PAD | NBT_ALLOW_NEG, FILL_UNIFORM);
            char *first = NULL;
            for (int nt = 1; nt <= 3; nt++) {
                nb_set_num_threads(nt);
                memset(c.y.buf, 0, c.y.bytes);
                assert_int_equal(case_run(&c, NULL), NB_OK);
                if (!first) {
                    first = malloc(c.y.bytes);
                    memcpy(first, c.y.buf, c.y.bytes);
                } else if (memcmp(first, c.y.buf, c.y.bytes) != 0) {
                    fail_msg("case %zu op %d: %d threads differ from 1 thread", k, op, nt);
                }
            }
            nb_set_num_threads(0);
            free(first);
            case_free(&c);
        }
}

/* ---- float64 twin ---- */

static void dreduce_matches_double_loop_within_pairwise_bound(void **state) {
    (void)state;
    for (int r = 0; r < 100; r++) {
        const int64_t rows = nbt_range(1, 40), cols = nbt_range(1, 300);
        double *x = malloc((size_t)(rows * cols) * sizeof(double)), y[300];
        nbt_fill_uniform_d(x, rows * cols, -1, 1);
        const int64_t sh[2] = {rows, cols}, st[2] = {cols, 1}, ys[2] = {0, 1};
        for (int op = 0; op < 4; op++) {
            assert_int_equal(nb_dreduce((nb_reduce_op)op, 2, sh, x, st, 1, y, ys), NB_OK);
            for (int64_t j = 0; j < cols; j++) {
                double s = 0, mag = 0, e = x[j];
                for (int64_t i = 0; i < rows; i++) {
                    const double v = x[i * cols + j];
                    s += v;
                    mag += fabs(v);
                    e = op == NB_REDUCE_MAX ? (v > e ? v : e) : (v < e ? v : e);
                }
                if (op >= NB_REDUCE_MAX) { assert_true(y[j] == e); continue; }
                if (op == NB_REDUCE_MEAN) { s /= (double)rows; mag /= (double)rows; }
                assert_true(fabs(y[j] - s) <= 1e-15 * (double)(rows + 8) * (mag + 1e-300));
            }
        }
        free(x);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simd_table_matches_reference_bit_for_bit_on_max_min),
        cmocka_unit_test(simd_table_sums_stay_within_the_bound),
        cmocka_unit_test(simd_max_min_zero_ties_and_nans_on_every_path),
        cmocka_unit_test(simd_table_row_sums_follow_the_documented_order_bit_for_bit),
        cmocka_unit_test(thread_count_does_not_change_the_bits),
        cmocka_unit_test(dreduce_matches_double_loop_within_pairwise_bound),
    };
    return nbt_run(tests);
}
