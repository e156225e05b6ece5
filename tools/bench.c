/* `nabla bench`: one call of the caller's problem timed on each ISA and
 * thread count; the median of enough runs to fill ~0.2 s per row, its rate,
 * its speed against the reference row of the same thread count, and its
 * fraction of the machine's limit measured in the same run on that ISA
 * (tools/machine.c): the FMA peak of the row's threads for flop rates, one
 * core's read bandwidth for byte rates (1-thread rows). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "machine.h"
#include "tools.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds of one call; -1 when a call fails. */
static double time_call(const nbt_buffers *b, float *out) {
    double t0 = now();
    if (nbt_call(b, out, 1) != NB_OK) return -1;   /* warm-up, and the scale */
    const double once = now() - t0;
    int reps = once > 0 ? (int)(0.2 / once) : 1000;
    reps = reps < 3 ? 3 : reps > 1000 ? 1000 : reps;
    double *t = malloc((size_t)reps * sizeof *t);
    if (!t) return -1;
    for (int i = 0; i < reps; i++) {
        t0 = now();
        nbt_call(b, out, 0);
        t[i] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    const double med = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
    free(t);
    return med;
}

static void print_rate(const nbt_problem *p, double sec) {
    const double fl = nbt_flops(p);
    if (fl > 0) printf("  %10.2f GFLOP/s", fl / sec * 1e-9);
    else printf("  %10.2f GB/s   ", nbt_bytes(p) / sec * 1e-9);
}

/* "  93% of peak" / "  88% of read bw" where the ISA has a probe. */
static void print_limit(const nbt_problem *p, double sec, nb_isa isa, int threads) {
    const double fl = nbt_flops(p);
    if (fl > 0) {
        const double peak = nbt_fma_peak(isa) * threads;
        if (peak > 0) printf("  %5.1f%% of peak", 100.0 * fl / sec / peak);
    } else if (threads == 1) {
        const double bw = nbt_read_bandwidth(isa);
        if (bw > 0) printf("  %5.1f%% of read bw", 100.0 * nbt_bytes(p) / sec / bw);
    }
}

int nbt_bench_problem(const nbt_problem *p, const nbt_cli *o) {
    char desc[256];
    nbt_format(p, desc, sizeof desc);
    nbt_buffers b;
    float *out = NULL;
    if (nbt_buffers_init(&b, p, o->seed, o->data) ||
        !(out = malloc((size_t)(b.nout > 0 ? b.nout : 1) * sizeof *out))) {
        nbt_buffers_free(&b);
        fprintf(stderr, "nabla: bench: out of memory for %s\n", desc);
        return 2;
    }
    printf("%s\n  %-8s %7s %12s %19s %8s  %s\n", desc, "isa", "threads", "median", "rate", "vs ref",
           "of the machine (same run)");
    const int nth = o->nthreads ? o->nthreads : 1;
    int rc = 0;
    for (int ti = 0; ti < nth; ti++) {
        const int threads = o->nthreads ? o->threads[ti] : nb_get_num_threads();
        double ref_sec = 0;
        nb_set_num_threads(threads);
        for (int i = 0; i < o->nisa; i++) {
            nb_isa_set(o->isas[i]);
            const double sec = time_call(&b, out);
            if (sec < 0) {
                fprintf(stderr, "nabla: bench: %s failed on %s: %s\n", desc, nb_isa_name(o->isas[i]), nb_last_error());
                rc = 2;
                continue;
            }
            if (o->isas[i] == NB_ISA_REF) ref_sec = sec;
            if (sec < 1e-3) printf("  %-8s %7d %9.3f us", nb_isa_name(o->isas[i]), threads, sec * 1e6);
            else printf("  %-8s %7d %9.3f ms", nb_isa_name(o->isas[i]), threads, sec * 1e3);
            print_rate(p, sec);
            if (ref_sec > 0) printf(" %7.2fx", ref_sec / sec);
            else printf(" %8s", "");
            print_limit(p, sec, o->isas[i], threads);
            printf("\n");
        }
    }
    free(out);
    nbt_buffers_free(&b);
    return rc;
}
