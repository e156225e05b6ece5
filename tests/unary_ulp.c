/* The elementwise functions' error over every float (or every S-th bit
 * pattern): max error in ULP of the exact result (double oracle,
 * tests/unary_oracle.h) and the max ratio to the stated bound, per function
 * and backend table this CPU runs. Exit 1 if any result is outside its bound.
 *   unary_ulp [--stride S] [--isa NAME] [--op NAME]
 *   unary_ulp --compare ISA1 ISA2 [--stride S] [--op NAME]
 * --compare counts the inputs where two tables give different bits (no
 * oracle, seconds for all 2^32): where there are none, one table's
 * exhaustive maximum is the other's too.
 * S = 1 is exhaustive: 2^32 inputs per function and table, minutes each
 * (the double oracle dominates); not in CI. CI runs a sampled stride
 * (tests/meson.build: unary_ulp_sampled). The table of DESIGN.md quotes the
 * exhaustive maxima. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_table.h"
#include "nb_config.h"
#include "unary_oracle.h"

enum { CHUNK = 1 << 16 };

typedef struct {
    double max_ulp, max_ratio;
    float worst_x;
    uint64_t bad, count;
} stats;

static void run(const struct nb_kernels *t, nb_unary_op op, uint64_t stride, stats *st) {
    static float x[CHUNK], y[CHUNK];
    const fn_bounds *b = bounds_of(t->isa);
    memset(st, 0, sizeof *st);
    uint64_t bits = 0;
    while (bits <= UINT32_MAX) {
        int n = 0;
        for (; n < CHUNK && bits <= UINT32_MAX; n++, bits += stride) {
            const uint32_t u = (uint32_t)bits;
            memcpy(&x[n], &u, 4);
        }
        t->sunary(op, n, x, y);
        for (int i = 0; i < n; i++) {
            double ratio = 0;
            const int ok = within(op, b, x[i], y[i], &ratio);
            const double exact = oracle(op, x[i]);
            st->count++;
            if (!ok) {
                if (st->bad++ < 5)
                    fprintf(stderr, "%s/%s(%a): %a, exact %.17g, %.3g x bound\n",
                            nb_isa_name(t->isa), op_names[op], x[i], y[i], exact, ratio);
                continue;
            }
            /* gelu: ULP only where its bound is relative (x >= 0; for x < 0 1 + erf
               cancels, the bound is absolute: see the ratio column). */
            if (isnan(exact) || op == NB_UNARY_RELU || (op == NB_UNARY_GELU && x[i] < 0)) continue;
            const double e = error_of(y[i], exact);
            const double ulp = e / ulpf(exact > 0x1p128 ? 0x1p128 : exact < -0x1p128 ? -0x1p128 : exact);
            if (ulp > st->max_ulp) { st->max_ulp = ulp; st->worst_x = x[i]; }
            if (ratio > st->max_ratio) st->max_ratio = ratio;
        }
    }
}

static nb_isa isa_named(const char *name) {
    for (int isa = 0; isa < NB_ISA_COUNT; isa++)
        if (!strcmp(name, nb_isa_name((nb_isa)isa))) return (nb_isa)isa;
    return NB_ISA_REF;
}

/* Inputs (every stride-th pattern) where tables a and b differ bitwise. */
static int compare(const char *an, const char *bn, const char *only_op, uint64_t stride) {
    static float x[CHUNK], ya[CHUNK], yb[CHUNK];
    const struct nb_kernels *a = nb_kernels_for(isa_named(an)), *b = nb_kernels_for(isa_named(bn));
    if (!a || !b) {
        printf("compare: %s or %s not available on this CPU\n", an, bn);
        return 0;
    }
    for (int op = 0; op < NOPS; op++) {
        if (only_op && strcmp(only_op, op_names[op])) continue;
        uint64_t diff = 0, count = 0;
        float first = 0;
        for (uint64_t bits = 0; bits <= UINT32_MAX;) {
            int n = 0;
            for (; n < CHUNK && bits <= UINT32_MAX; n++, bits += stride) {
                const uint32_t u = (uint32_t)bits;
                memcpy(&x[n], &u, 4);
            }
            a->sunary((nb_unary_op)op, n, x, ya);
            b->sunary((nb_unary_op)op, n, x, yb);
            for (int i = 0; i < n; i++)
                if (memcmp(&ya[i], &yb[i], 4) && !(isnan(ya[i]) && isnan(yb[i])))
                    if (diff++ == 0) first = x[i];
            count += (uint64_t)n;
        }
        printf("%s vs %s %-8s %12llu inputs, %llu with different bits", an, bn, op_names[op],
               (unsigned long long)count, (unsigned long long)diff);
        if (diff) printf(", first at x = %a", first);
        printf("\n");
    }
    return 0;
}

int main(int argc, char **argv) {
    uint64_t stride = 1;
    const char *only_isa = NULL, *only_op = NULL;
    for (int i = 1; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "--stride")) stride = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--isa")) only_isa = argv[i + 1];
        else if (!strcmp(argv[i], "--op")) only_op = argv[i + 1];
    }
    if (stride == 0) stride = 1;
    for (int i = 1; i + 2 < argc; i++)
        if (!strcmp(argv[i], "--compare")) return compare(argv[i + 1], argv[i + 2], only_op, stride);
    int failed = 0;
    printf("%-8s %-8s %12s %10s %10s %s\n", "isa", "fn", "inputs", "max ULP", "x bound", "at x");
    for (int isa = 0; isa < NB_ISA_COUNT; isa++) {
        const struct nb_kernels *t = nb_kernels_for((nb_isa)isa);
        if (!t || (only_isa && strcmp(only_isa, nb_isa_name((nb_isa)isa)))) continue;
        for (int op = 0; op < NOPS; op++) {
            if (op == NB_UNARY_RELU || (only_op && strcmp(only_op, op_names[op]))) continue;
            stats st;
            run(t, (nb_unary_op)op, stride, &st);
            printf("%-8s %-8s %12llu %10.3f %10.3f %a%s\n", nb_isa_name((nb_isa)isa), op_names[op],
                   (unsigned long long)st.count, st.max_ulp, st.max_ratio, st.worst_x,
                   st.bad ? "  OUT OF BOUND" : "");
            fflush(stdout);
            failed |= st.bad != 0;
        }
    }
    return failed;
}
