/* Run-time CPU feature detection (private). */
#ifndef NB_CPU_FEATURES_H
#define NB_CPU_FEATURES_H

#include <stdbool.h>
#include <stdint.h>
#include <nabla/kernels.h>

/* The CPU (and OS) can execute the instructions of this ISA's kernels.
   Whether the build has them is dispatch.c's business. */
bool nb_cpu_can_run(nb_isa isa);

/* "avx2" for NB_CPU_AVX2, ...; NULL for a bit nabla does not define. */
const char *nb_cpu_feature_name(uint32_t bit);

/* Data cache sizes in bytes (0: unknown), from CPUID: Intel's leaf 4,
   else AMD's leaves 0x80000005/6. Only blocking and loop order read them
   (never a bit of a result: tests/test_gemm_blocking.c). */
typedef struct { int64_t l1d, l2; } nb_cpu_caches_t;
nb_cpu_caches_t nb_cpu_caches(void);
/* Replaces what nb_cpu_caches() returns (tests: the other machine's
   choices on this one); negative values restore the detected sizes. */
void nb_cpu_caches_override(int64_t l1d, int64_t l2);

#endif
