/* The row and column reduction micro-kernels (src/ukernel.h, "reductions"),
 * every registry entry this CPU can run (NB_UK_RSUM / NB_UK_RPICK /
 * NB_UK_RCOL lines), called directly against twins written here from the
 * contract, bit for bit:
 * - rsum: acc[i % 32] += x[i] in i order;
 * - rmax / rmin: the first NaN wins (compared by class), otherwise the
 *   extreme value with -0 < +0 (sign of zero compared too);
 * - raddcol / rmaxcol / rmincol: one operation per column, acc NaN sticky;
 * - raddcol4 / rmaxcol4 / rmincol4: four rows, the same four operations per
 *   column in row order (the bits of four one-row calls), each row in its
 *   own guarded buffer at its own offset.
 * Lengths 0 (where allowed), 1, primes, 16 +- 1, 64 +- 1, the 128 / 256
 * unrolls +- 1, the 4096-element segments +- 1; x at offsets 0..3 floats
 * from a 64-byte boundary (unaligned) and ending at a guard page (no
 * over-read); the column accumulators with a canary past n. Fills that
 * decide the rules: plain values; all +-0 (a tie everywhere); a zero result
 * with every other value on the losing side; one winning zero among losing
 * zeros and values, anywhere; one NaN at the first, a
 * middle or the last position; sparse specials (NaN, +-Inf, denormals,
 * +-0); +-Inf and huge values without NaN. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ukernel.h"

enum { K_RSUM, K_RPICK, K_RCOL, K_RCOL4 };
typedef struct {
    const char *name;
    nb_isa isa;
    int kind, a;   /* a: rpick is_max; rcol 0 add, 1 max, 2 min */
    void (*fn)(void);
} entry;

static const entry registry[] = {
#define NB_UK_RSUM(fn) {#fn, NB_UK_ISA, K_RSUM, 0, (void (*)(void))fn},
#define NB_UK_RPICK(fn, is_max) {#fn, NB_UK_ISA, K_RPICK, is_max, (void (*)(void))fn},
#define NB_UK_RCOL(fn, op) {#fn, NB_UK_ISA, K_RCOL, op, (void (*)(void))fn},
#define NB_UK_RCOL4(fn, op) {#fn, NB_UK_ISA, K_RCOL4, op, (void (*)(void))fn},
#include "ukernel_registry.h"
};
#define N_ENTRIES (sizeof registry / sizeof registry[0])

static const int64_t lens[] = {0,  1,  2,   3,   5,   7,   13,  15,  16,  17,   31,   32,   33,   47,  63,
                               64, 65, 127, 128, 129, 191, 255, 256, 257, 1021, 4095, 4096, 4097, 8209};
#define N_LENS (sizeof lens / sizeof lens[0])

enum { FILL_PLAIN, FILL_ZEROS, FILL_ZERO_WINS, FILL_ONE_ZERO, FILL_ONE_NAN, FILL_SPECIAL, FILL_INF, N_FILLS };

/* Same value (NaN by class) and, for non-NaN, the same sign (+-0). */
static int same(float a, float b) {
    return nbt_same_value(a, b) && (a != a || signbit(a) == signbit(b));
}

static float special(void) {
    static const float sp[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f, -1e-40f, -3.5f};
    return sp[nbt_range(0, 7)];
}

/* n values for fill mode `mode`; is_max orients FILL_ZERO_WINS (the
   others lose to the zero result). */
static void fill(float *x, int64_t n, int mode, int is_max) {
    for (int64_t i = 0; i < n; i++) {
        const float z = nbt_range(0, 1) ? 0.0f : -0.0f;
        switch (mode) {
        case FILL_PLAIN: x[i] = nbt_uniform(-4, 4); break;
        case FILL_ZEROS: x[i] = z; break;
        case FILL_ZERO_WINS: x[i] = nbt_range(0, 2) ? z : (is_max ? -1.0f : 1.0f) * nbt_uniform(0.5f, 8); break;
        case FILL_SPECIAL: x[i] = nbt_range(0, 9) == 0 ? special() : nbt_uniform(-4, 4); break;
        case FILL_INF: x[i] = nbt_range(0, 3) == 0 ? (nbt_range(0, 1) ? INFINITY : -INFINITY)
                                                   : nbt_uniform(-3e38f, 3e38f); break;
        default: x[i] = nbt_uniform(-4, 4); break;
        }
    }
    if (mode == FILL_ONE_ZERO && n > 0) {
        /* One winning zero (+0 for max, -0 for min) among losing zeros and
           values, at the first, a middle, the last or any position (the
           tail past the unrolled loops included). */
        for (int64_t i = 0; i < n; i++)
            x[i] = nbt_range(0, 1) ? (is_max ? -0.0f : 0.0f) : (is_max ? -1.0f : 1.0f) * nbt_uniform(0.5f, 8);
        const int64_t where[4] = {0, n / 2, n - 1, nbt_range(0, n - 1)};
        x[where[nbt_range(0, 3)]] = is_max ? 0.0f : -0.0f;
    }
    if (mode == FILL_ONE_NAN && n > 0) {
        const int64_t where[3] = {0, n / 2, n - 1};
        x[where[nbt_range(0, 2)]] = NAN;
    }
}

static float pick(float r, float v, int is_max) {
    if (isnan(r)) return r;
    if (isnan(v)) return v;
    if (v == r) return is_max ? (signbit(r) ? v : r) : (signbit(r) ? r : v);
    return (is_max ? v > r : v < r) ? v : r;
}

static void check_rsum(const entry *e, const float *x, int64_t n, const char *what) {
    float acc[NB_RSUM_LANES], want[NB_RSUM_LANES];
    for (int j = 0; j < NB_RSUM_LANES; j++) acc[j] = want[j] = nbt_uniform(-1, 1);
    for (int64_t i = 0; i < n; i++) want[i % NB_RSUM_LANES] += x[i];
    ((nb_f32_rsum_ft *)e->fn)(n, x, 1, acc);
    for (int j = 0; j < NB_RSUM_LANES; j++)
        if (!same(acc[j], want[j]))
            fail_msg("%s n=%lld %s: lane %d = %a, twin %a", e->name, (long long)n, what, j, (double)acc[j],
                     (double)want[j]);
}

static void check_rpick(const entry *e, const float *x, int64_t n, const char *what) {
    if (n == 0) return;   /* n >= 1 */
    float want = x[0];
    for (int64_t i = 1; i < n; i++) want = pick(want, x[i], e->a);
    const float got = ((nb_f32_rpick_ft *)e->fn)(n, x, 1);
    if (!same(got, want))
        fail_msg("%s n=%lld %s: %a, twin %a", e->name, (long long)n, what, (double)got, (double)want);
}

static void check_rcol(const entry *e, const float *x, int64_t n, int mode, const char *what) {
    float *acc = malloc((size_t)(n + 1) * sizeof(float)), *want = malloc((size_t)(n + 1) * sizeof(float));
    assert_non_null(acc);
    assert_non_null(want);
    fill(acc, n, mode == FILL_ONE_NAN ? FILL_SPECIAL : mode, e->a == 1);
    acc[n] = -7.0f;
    memcpy(want, acc, (size_t)(n + 1) * sizeof(float));
    for (int64_t j = 0; j < n; j++) want[j] = e->a == 0 ? want[j] + x[j] : pick(want[j], x[j], e->a == 1);
    ((nb_f32_rcol_ft *)e->fn)(n, x, acc);
    for (int64_t j = 0; j <= n; j++)
        if (!same(acc[j], want[j]))
            fail_msg("%s n=%lld %s: acc[%lld] = %a, twin %a%s", e->name, (long long)n, what, (long long)j,
                     (double)acc[j], (double)want[j], j == n ? " (past the end)" : "");
    free(acc);
    free(want);
}

/* Four rows (mode `mode` in row `hot`, plain values in the others, so a
   NaN or a winning zero may sit in any of the four) against four twin
   operations per column in row order. */
static void check_rcol4(const entry *e, int64_t n, int mode, const char *what) {
    float *buf[4], *x[4];
    const int hot = (int)nbt_range(0, 3);
    for (int q = 0; q < 4; q++) {
        const int64_t off = nbt_range(0, 3);
        buf[q] = nbt_alloc_guarded((size_t)(n + 3) * sizeof(float), 0);
        assert_non_null(buf[q]);
        x[q] = buf[q] + off;
        fill(x[q], n, q == hot ? mode : FILL_PLAIN, e->a == 1);
    }
    float *acc = malloc((size_t)(n + 1) * sizeof(float)), *want = malloc((size_t)(n + 1) * sizeof(float));
    assert_non_null(acc);
    assert_non_null(want);
    fill(acc, n, mode == FILL_ONE_NAN ? FILL_SPECIAL : mode, e->a == 1);
    acc[n] = -7.0f;
    memcpy(want, acc, (size_t)(n + 1) * sizeof(float));
    for (int q = 0; q < 4; q++)
        for (int64_t j = 0; j < n; j++)
            want[j] = e->a == 0 ? want[j] + x[q][j] : pick(want[j], x[q][j], e->a == 1);
    ((nb_f32_rcol4_ft *)e->fn)(n, (const float *const *)x, acc);
    for (int64_t j = 0; j <= n; j++)
        if (!same(acc[j], want[j]))
            fail_msg("%s n=%lld %s (row %d): acc[%lld] = %a, twin %a%s", e->name, (long long)n, what, hot,
                     (long long)j, (double)acc[j], (double)want[j], j == n ? " (past the end)" : "");
    free(acc);
    free(want);
    for (int q = 0; q < 4; q++) nbt_free_guarded(buf[q]);
}

static const char *const fill_names[N_FILLS] = {"plain",   "zeros",    "zero wins", "one winning zero",
                                                "one NaN", "specials", "inf"};

static void reduction_kernels_match_their_twins_bit_for_bit(void **state) {
    (void)state;
    int ran = 0, skipped = 0;
    for (size_t k = 0; k < N_ENTRIES; k++) {
        const entry *e = &registry[k];
        if (!nb_isa_supported(e->isa)) { skipped++; continue; }
        ran++;
        const int is_max = e->kind == K_RPICK ? e->a : e->a == 1;
        for (size_t li = 0; li < N_LENS; li++)
            for (int mode = 0; mode < N_FILLS; mode++) {
                const int64_t n = lens[li], off = nbt_range(0, 3);
                if (e->kind == K_RCOL4) {
                    check_rcol4(e, n, mode, fill_names[mode]);
                    continue;
                }
                /* The buffer ends at a guard page: x starts off floats in
                   (its alignment moves with off and n) and ends 3 - off
                   floats before the guard, right at it when off = 3. */
                float *buf = nbt_alloc_guarded((size_t)(n + 3) * sizeof(float), 0);
                assert_non_null(buf);
                float *x = buf + off;
                fill(x, n, mode, is_max);
                char what[64];
                snprintf(what, sizeof what, "fill %s offset %lld", fill_names[mode], (long long)off);
                if (e->kind == K_RSUM) check_rsum(e, x, n, what);
                else if (e->kind == K_RPICK) check_rpick(e, x, n, what);
                else check_rcol(e, x, n, mode, what);
                nbt_free_guarded(buf);
            }
    }
    if (skipped) printf("# %d reduction micro-kernel(s) skipped: their ISA does not run here\n", skipped);
    if (!ran) skip();
}

/* Any NaN gives a NaN: one or two NaNs (quiet, either sign, different
   payloads) at random places of rows up to 700 long (every position
   relative to the unrolls and the tail). */
static void rpick_gives_nan_wherever_the_nans_are(void **state) {
    (void)state;
    int ran = 0;
    for (size_t k = 0; k < N_ENTRIES; k++) {
        const entry *e = &registry[k];
        if (e->kind != K_RPICK || !nb_isa_supported(e->isa)) continue;
        ran++;
        for (int r = 0; r < 200; r++) {
            const int64_t n = nbt_range(1, 700);
            float *x = malloc((size_t)n * sizeof(float));
            assert_non_null(x);
            nbt_fill_uniform(x, n, -2, 2);
            const int64_t i = nbt_range(0, n - 1), j = nbt_range(i, n - 1);
            const uint32_t p1 = 0x7fc00001u + (uint32_t)nbt_range(0, 1000), p2 = 0xffc12345u;
            memcpy(&x[j], &p2, 4);
            memcpy(&x[i], &p1, 4);   /* i == j: one NaN */
            const float got = ((nb_f32_rpick_ft *)e->fn)(n, x, 1);
            if (!isnan(got)) fail_msg("%s n=%lld: %a, want NaN", e->name, (long long)n, (double)got);
            free(x);
        }
    }
    if (!ran) skip();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reduction_kernels_match_their_twins_bit_for_bit),
        cmocka_unit_test(rpick_gives_nan_wherever_the_nans_are),
    };
    return nbt_run(tests);
}
