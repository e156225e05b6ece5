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

#endif
