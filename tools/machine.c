/* The machine's limits for `nabla bench`, measured in the same run: one
 * core's FMA peak on an ISA (its registry's peak probe) and one core's read
 * bandwidth (the row-sum micro-kernel of its configuration over 64 MiB, far
 * beyond the caches).
 * Both are measured once per ISA, on the calling thread. */
#include <stdlib.h>
#include <time.h>

#include "kernels_table.h"
#include "machine.h"
#include "ukernel.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct { nb_isa isa; nb_fma_peak_ft *peak; int64_t flops_per_iter; } isa_probe;

static const isa_probe probes[] = {
#define NB_UK_PEAK(fn, fpi) {NB_UK_ISA, fn, fpi},
#include "ukernel_registry.h"
    {NB_ISA_REF, NULL, 0}
};

/* Best of five: the limit is the fastest the machine went. */
double nbt_fma_peak(nb_isa isa) {
    if (!nb_isa_supported(isa)) return 0;
    for (const isa_probe *p = probes; p->peak; p++) {
        if (p->isa != isa) continue;
        const int64_t iters = 1 << 20;
        volatile float sink = 0;
        double best = 0;
        for (int r = 0; r < 5; r++) {
            const double t0 = now();
            sink = sink + p->peak(iters);
            const double rate = (double)iters * (double)p->flops_per_iter / (now() - t0);
            if (rate > best) best = rate;
        }
        return best;
    }
    return 0;
}

/* The row-sum micro-kernel the ISA's reductions run (its configuration's,
   which an ISA may take from another: AVX-512 keeps AVX2's). */
double nbt_read_bandwidth(nb_isa isa) {
    const nb_ukernel_config *cfg = isa == NB_ISA_REF ? NULL : nb_ukernels_for(isa);
    if (!cfg || !cfg->reduce.rsum) return 0;
    const int64_t n = (int64_t)16 << 20;   /* 64 MiB of floats */
    float *x = malloc((size_t)n * sizeof *x);
    if (!x) return 0;
    for (int64_t i = 0; i < n; i++) x[i] = 1.0f;
    float acc[NB_RSUM_LANES] = {0};
    double best = 0;
    for (int r = 0; r < 5; r++) {
        const double t0 = now();
        cfg->reduce.rsum(n, x, 1, acc);
        const double rate = (double)n * sizeof *x / (now() - t0);
        if (rate > best) best = rate;
    }
    free(x);
    return best;
}
